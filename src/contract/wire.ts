/**
 * The JSON the control plane answers with for functions and versions (src/api/views.ts writes it), as its
 * clients — the CLI and the console — read it.
 */
export interface FunctionConfigView {
  runtime: string;
  handler: string;
  memorySize: number;
  timeout: number;
  instanceConcurrency: number;
  environmentVariables: Record<string, string>;
  description: string;
  network: string;
  /** A custom runtime's command, when it has one instead of the package's bootstrap. */
  command?: string[];
}

export interface FunctionView extends FunctionConfigView {
  name: string;
  trigger: { authType: string };
  codeSha256: string;
  codeSize: number;
  createdAt: string;
  updatedAt: string;
}

export interface VersionView {
  functionName: string;
  versionId: string;
  description: string;
  config: FunctionConfigView;
  codeSha256: string;
  codeSize: number;
  createdAt: string;
}
