import type { Condition } from '../core/conditions.js';

/** The JSON forms the control-plane API answers with (src/api/views.ts), as the CLI reads them. */
export interface FunctionConfigView {
  runtime: string;
  handler: string;
  memorySize: number;
  timeout: number;
  instanceConcurrency: number;
  environmentVariables: Record<string, string>;
  description: string;
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

export type CanaryView =
  | { version: string; weight: number; sticky?: { source: string; name: string } }
  | { version: string; match: 'all' | 'any'; rules: Condition[] };

export interface AliasSpecView {
  version: string;
  description: string;
  canary?: CanaryView;
}

export interface AliasView extends AliasSpecView {
  functionName: string;
  name: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface HistoryView {
  revision: number;
  action: string;
  actor: string;
  at: string;
  before: AliasSpecView | null;
  after: AliasSpecView | null;
}

export interface ExplainView {
  alias: string;
  revision: number;
  version: string;
  target: 'primary' | 'canary';
  reason: 'no canary' | 'weight' | 'rules';
  weight?: number;
  sticky?: { source: string; name: string; value: string; bucket: number };
  draw?: number;
  match?: 'all' | 'any';
  conditions?: { condition: Condition; value?: string; holds: boolean }[];
}

export const isWeight = (
  canary: CanaryView,
): canary is { version: string; weight: number; sticky?: { source: string; name: string } } =>
  'weight' in canary;
