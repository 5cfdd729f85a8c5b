import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Runtime } from '../core/function-config.js';
import type { RunnableVersion } from './instance.js';
import { BOOTSTRAP_MOUNT } from './sandbox/bwrap.js';

const NODE_BOOTSTRAP = fileURLToPath(new URL('./bootstraps/node.js', import.meta.url));
const PROTOCOL = fileURLToPath(new URL('./bootstraps/protocol.js', import.meta.url));
// Node.js reads the nearest package.json to know that the bootstrap is an ES module.
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));
// The Python bootstrap is not compiled: it lives in runtime/python at the package root.
const PYTHON_BOOTSTRAP = fileURLToPath(new URL('../../../runtime/python/bootstrap.py', import.meta.url));

/** Each runtime's bootstrap files, and where a sandboxed instance sees them. */
const BOOTSTRAP_FILES: Record<Runtime, { source: string; target: string }[]> = {
  nodejs20: [
    { source: NODE_BOOTSTRAP, target: `${BOOTSTRAP_MOUNT}/runtime/bootstraps/node.js` },
    { source: PROTOCOL, target: `${BOOTSTRAP_MOUNT}/runtime/bootstraps/protocol.js` },
    { source: PACKAGE_JSON, target: `${BOOTSTRAP_MOUNT}/package.json` },
  ],
  python3: [{ source: PYTHON_BOOTSTRAP, target: `${BOOTSTRAP_MOUNT}/runtime/python/bootstrap.py` }],
};

export function bootstrapFiles(runtime: Runtime): { source: string; target: string }[] {
  return BOOTSTRAP_FILES[runtime];
}

export interface Interpreters {
  node: string;
  python: string;
}

/**
 * The real interpreter paths, resolved once: a version-manager shim on PATH (pyenv) costs hundreds of
 * milliseconds at every start, and its directory is often unreadable to the user instances run as.
 */
export function findInterpreters(env: NodeJS.ProcessEnv = process.env): Interpreters {
  return { node: process.execPath, python: env.SLUICE_PYTHON ?? findPython() };
}

function findPython(): string {
  for (const candidate of ['/usr/bin/python3', '/usr/local/bin/python3'])
    if (existsSync(candidate)) return candidate;
  try {
    return execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch {
    return 'python3';
  }
}

const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The environment of an instance: the function's variables and the runtime's own, nothing of the server's. */
export function instanceEnv(version: RunnableVersion, tmpDir: string): Record<string, string> {
  const { config } = version;
  return {
    PATH: BASE_PATH,
    HOME: tmpDir,
    TMPDIR: tmpDir,
    LANG: 'C.UTF-8',
    ...config.environmentVariables,
    FC_FUNCTION_NAME: version.functionName,
    FC_FUNCTION_HANDLER: config.handler,
    FC_FUNCTION_MEMORY_SIZE: String(config.memorySize),
    FC_FUNCTION_TIMEOUT: String(config.timeout),
    FC_RUNTIME: config.runtime,
    ...(config.runtime === 'python3' && { PYTHONDONTWRITEBYTECODE: '1' }),
  };
}

/** The command that starts the bootstrap of a runtime, on the host or as a sandboxed instance sees it. */
export function bootstrapCommand(
  runtime: Runtime,
  memorySize: number,
  interpreters: Interpreters,
  where: 'host' | 'sandbox',
): { command: string; args: string[] } {
  const [bootstrap] = BOOTSTRAP_FILES[runtime] as [{ source: string; target: string }];
  const path = where === 'host' ? bootstrap.source : bootstrap.target;
  switch (runtime) {
    case 'nodejs20':
      return { command: interpreters.node, args: [`--max-old-space-size=${memorySize}`, path] };
    case 'python3':
      return { command: interpreters.python, args: ['-s', '-u', path] };
  }
}
