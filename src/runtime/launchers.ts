import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FunctionConfig, NetworkMode, Runtime } from '../core/function-config.js';
import {
  CSHARP_BOOTSTRAP,
  CSHARP_LIBRARIES,
  CSHARP_RUNTIME_DIR,
  csharpRuntimeBuilt,
  mcsOf,
} from './csharp.js';
import type { RunnableVersion } from './instance.js';
import { BOOTSTRAP_MOUNT } from './sandbox/bwrap.js';

const NODE_BOOTSTRAP = fileURLToPath(new URL('./bootstraps/node.js', import.meta.url));
const CUSTOM_RELAY = fileURLToPath(new URL('./bootstraps/custom.js', import.meta.url));
const PROTOCOL = fileURLToPath(new URL('./bootstraps/protocol.js', import.meta.url));
// Node.js reads the nearest package.json to know that the bootstrap is an ES module.
const PACKAGE_JSON = fileURLToPath(new URL('../../../package.json', import.meta.url));
// The Python and PHP bootstraps are not compiled: they live in runtime/ at the package root.
const PYTHON_BOOTSTRAP = fileURLToPath(new URL('../../../runtime/python/bootstrap.py', import.meta.url));
const PHP_BOOTSTRAP = fileURLToPath(new URL('../../../runtime/php/bootstrap.php', import.meta.url));

const csharpFile = (name: string) => ({
  source: `${CSHARP_RUNTIME_DIR}${name}`,
  target: `${BOOTSTRAP_MOUNT}/runtime/csharp/${name}`,
});

const nodeFile = (source: string, name: string) => ({
  source,
  target: `${BOOTSTRAP_MOUNT}/runtime/bootstraps/${name}`,
});
const NODE_SUPPORT = [
  nodeFile(PROTOCOL, 'protocol.js'),
  { source: PACKAGE_JSON, target: `${BOOTSTRAP_MOUNT}/package.json` },
];

/** Each runtime's bootstrap files, and where a sandboxed instance sees them; the first is the one started. */
const BOOTSTRAP_FILES: Record<Runtime, { source: string; target: string }[]> = {
  nodejs20: [nodeFile(NODE_BOOTSTRAP, 'node.js'), ...NODE_SUPPORT],
  python3: [{ source: PYTHON_BOOTSTRAP, target: `${BOOTSTRAP_MOUNT}/runtime/python/bootstrap.py` }],
  'php8.2': [{ source: PHP_BOOTSTRAP, target: `${BOOTSTRAP_MOUNT}/runtime/php/bootstrap.php` }],
  // Mono finds the libraries handlers reference beside the bootstrap.
  csharp: [csharpFile(CSHARP_BOOTSTRAP), ...CSHARP_LIBRARIES.map(csharpFile)],
  // The function's own server speaks HTTP; a relay in Node.js speaks the protocol for it.
  custom: [nodeFile(CUSTOM_RELAY, 'custom.js'), ...NODE_SUPPORT],
};

/**
 * Whether a runtime's process is spawned with an IPC channel: the custom runtime's relay hands Sluice its
 * connections to the function's server on it (src/runtime/function-server.ts).
 */
export function hasIpc(runtime: Runtime): boolean {
  return runtime === 'custom';
}

export function bootstrapFiles(runtime: Runtime): { source: string; target: string }[] {
  return BOOTSTRAP_FILES[runtime];
}

/** The interpreters this node runs functions with; undefined where the machine lacks one. */
export interface Interpreters {
  node: string;
  python: string | undefined;
  php: string | undefined;
  /** Mono, with its C# compiler and Sluice's C# runtime built. */
  mono: string | undefined;
}

/** Interpreters named by the operator (`--python`, `--php`, `--mono`); the others are looked for. */
export interface InterpreterPaths {
  python?: string | undefined;
  php?: string | undefined;
  mono?: string | undefined;
}

type Interpreter = 'python' | 'php' | 'mono';

/** What to install, or which flag to give, for a runtime the machine lacks. */
const INSTALL_HINTS: Record<Interpreter, string> = {
  python: "install Debian's python3 (apt-get install python3) or give sluice server --python PATH",
  php: "install Debian's php-cli, PHP 8.1 or later (apt-get install php-cli) or give sluice server --php PATH",
  mono: "install Debian's mono-runtime and mono-mcs (apt-get install mono-runtime mono-mcs) and build Sluice again (npm run build), or give sluice server --mono PATH",
};

const INTERPRETER_OF: Record<Runtime, 'node' | Interpreter> = {
  nodejs20: 'node',
  python3: 'python',
  'php8.2': 'php',
  csharp: 'mono',
  custom: 'node',
};

/** Why this node cannot run a runtime's functions, or undefined when it can. */
export function runtimeProblem(runtime: Runtime, interpreters: Interpreters): string | undefined {
  const kind = INTERPRETER_OF[runtime];
  if (kind === 'node' || interpreters[kind] !== undefined) return undefined;
  return `the runtime ${runtime} is not installed on this server: ${INSTALL_HINTS[kind]}`;
}

/**
 * The real interpreter paths, resolved once: a version-manager shim on PATH (pyenv) costs hundreds of
 * milliseconds at every start, and its directory is often unreadable to the user instances run as. A path
 * the operator names must be an executable file, or that runtime is missing: never silently another one.
 */
export function findInterpreters(given: InterpreterPaths = {}): Interpreters {
  const python = given.python ?? process.env.SLUICE_PYTHON;
  const php = given.php ?? process.env.SLUICE_PHP;
  const mono = given.mono ?? process.env.SLUICE_MONO;
  return {
    node: process.execPath,
    python: python !== undefined ? executable(python) : findPython(),
    php: php !== undefined ? phpOf(php) : (phpOf('/usr/bin/php') ?? phpOf('/usr/local/bin/php')),
    mono: mono !== undefined ? monoOf(mono) : (monoOf('/usr/bin/mono') ?? monoOf('/usr/local/bin/mono')),
  };
}

function executable(path: string): string | undefined {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

function findPython(): string | undefined {
  for (const candidate of ['/usr/bin/python3', '/usr/local/bin/python3'])
    if (executable(candidate)) return candidate;
  try {
    const found = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    return executable(found.trim());
  } catch {
    return undefined;
  }
}

/** A PHP that the bootstrap runs on: 8.1 or later (readonly properties). */
function phpOf(path: string): string | undefined {
  if (!executable(path)) return undefined;
  try {
    const version = execFileSync(path, ['-n', '-r', 'echo PHP_VERSION_ID;'], { encoding: 'utf8' });
    return Number(version) >= 80100 ? path : undefined;
  } catch {
    return undefined;
  }
}

/** A Mono that runs C# functions: its compiler beside it (mono-mcs), and the C# runtime built. */
function monoOf(path: string): string | undefined {
  if (!executable(path) || !csharpRuntimeBuilt()) return undefined;
  return existsSync(mcsOf(path)) ? path : undefined;
}

/** One line for the server's start: which runtimes this node runs, and what it lacks. */
export function describeRuntimes(interpreters: Interpreters, runtimes: readonly Runtime[]): string {
  const available = runtimes.filter((r) => runtimeProblem(r, interpreters) === undefined);
  const missing = runtimes.filter((r) => runtimeProblem(r, interpreters) !== undefined);
  const where = (r: Runtime) => interpreters[INTERPRETER_OF[r]] ?? '';
  const line = `runtimes: ${available.map((r) => `${r} (${where(r)})`).join(', ')}`;
  return missing.length === 0
    ? line
    : `${line}; missing: ${missing.map((r) => `${r} (${INSTALL_HINTS[INTERPRETER_OF[r] as Interpreter]})`).join(', ')}`;
}

const BASE_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The environment a runtime starts with, before it knows its function: a standby's. */
export function runtimeEnv(runtime: Runtime, tmpDir: string): Record<string, string> {
  return {
    PATH: BASE_PATH,
    HOME: tmpDir,
    TMPDIR: tmpDir,
    LANG: 'C.UTF-8',
    ...(runtime === 'python3' && { PYTHONDONTWRITEBYTECODE: '1' }),
  };
}

/** The environment of an instance: the function's variables and the runtime's own, nothing of the server's. */
export function instanceEnv(version: RunnableVersion, tmpDir: string): Record<string, string> {
  const { config } = version;
  return {
    ...runtimeEnv(config.runtime, tmpDir),
    ...config.environmentVariables,
    FC_FUNCTION_NAME: version.functionName,
    FC_FUNCTION_HANDLER: config.handler,
    FC_FUNCTION_MEMORY_SIZE: String(config.memorySize),
    FC_FUNCTION_TIMEOUT: String(config.timeout),
    FC_RUNTIME: config.runtime,
    ...(config.runtime === 'python3' && { PYTHONDONTWRITEBYTECODE: '1' }),
  };
}

/**
 * The port a custom runtime's server listens on. With a network namespace of its own (`none`), Function
 * Compute's 9000; on the host's network, where instances and Sluice itself share the loopback, one the kernel
 * gives the relay (0).
 */
export const CUSTOM_PORT = { own: 9000, shared: 0 } as const;

/**
 * What a runtime's process depends on before it knows its function, and so what a standby is kept for: its
 * runtime, and its network namespace, made with the sandbox.
 */
export interface RuntimeProfile {
  runtime: Runtime;
  network: NetworkMode;
}

/**
 * The runtimes that keep standbys. Not Node.js: its cold start is already within its bare spawn, V8 fixes its
 * heap's bound (memorySize) when it starts, and a Node.js process that changes users cannot make itself
 * dumpable again (it has no prctl), as a standby started as root must.
 */
export const STANDBY_RUNTIMES: readonly Runtime[] = ['python3', 'php8.2', 'csharp', 'custom'];

/**
 * Environment variables that an interpreter reads as it starts: a standby started without them would run the
 * function otherwise. The custom runtime's relay passes every variable to the function's own server, which it
 * starts only then.
 */
const READ_AT_START: Record<Runtime, RegExp | undefined> = {
  nodejs20: undefined,
  python3: /^(PYTHON|LANG$|LANGUAGE$|LC_|LD_|GLIBC_TUNABLES$|MALLOC_)/,
  'php8.2': /^(PHPRC$|PHP_INI_SCAN_DIR$|LANG$|LANGUAGE$|LC_|LD_|GLIBC_TUNABLES$|MALLOC_)/,
  csharp: /^(MONO_|LANG$|LANGUAGE$|LC_|LD_|GLIBC_TUNABLES$|MALLOC_)/,
  custom: undefined,
};

/** The standbys a function's instance may start from, or undefined when it must start as its own process. */
export function standbyProfile(config: FunctionConfig): RuntimeProfile | undefined {
  if (!STANDBY_RUNTIMES.includes(config.runtime)) return undefined;
  const readAtStart = READ_AT_START[config.runtime];
  if (readAtStart && Object.keys(config.environmentVariables).some((name) => readAtStart.test(name)))
    return undefined;
  return { runtime: config.runtime, network: config.network };
}

/** The command that starts the bootstrap of a runtime, on the host or as a sandboxed instance sees it. */
export function bootstrapCommand(
  config: RuntimeProfile & Pick<FunctionConfig, 'memorySize'>,
  interpreters: Interpreters,
  where: 'host' | 'sandbox',
): { command: string; args: string[] } {
  const [bootstrap] = BOOTSTRAP_FILES[config.runtime] as [{ source: string; target: string }];
  const path = where === 'host' ? bootstrap.source : bootstrap.target;
  const missing = () => new Error(runtimeProblem(config.runtime, interpreters));
  switch (config.runtime) {
    case 'nodejs20':
      return { command: interpreters.node, args: [`--max-old-space-size=${config.memorySize}`, path] };
    case 'python3':
      return { command: interpreters.python ?? throwError(missing()), args: ['-s', '-u', path] };
    case 'php8.2':
      // Errors go to the bootstrap's log file (not to the output), and memory is bounded by memorySize's cgroup.
      return {
        command: interpreters.php ?? throwError(missing()),
        args: ['-d', 'display_errors=0', '-d', 'log_errors=1', '-d', 'memory_limit=-1', path],
      };
    case 'csharp':
      // --debug: the line numbers of the function's frames in its stack traces (mcs -debug writes them).
      return { command: interpreters.mono ?? throwError(missing()), args: ['--debug', path] };
    case 'custom': {
      const port = config.network === 'none' ? CUSTOM_PORT.own : CUSTOM_PORT.shared;
      return { command: interpreters.node, args: [path, String(port)] };
    }
  }
}

function throwError(error: Error): never {
  throw error;
}
