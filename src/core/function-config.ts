import { Issues } from './validate.js';

/** `csharp`: C# on Mono; `custom`: the package's own HTTP server, in any language (Function Compute's custom runtime). */
export const RUNTIMES = ['nodejs20', 'python3', 'php8.2', 'csharp', 'custom'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** `host`: the host's network, loopback services included; `none`: a loopback of the instance's own only. */
export const NETWORK_MODES = ['host', 'none'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/**
 * How a handler is called. `fc`: Function Compute's (the event as bytes, FC's context); `scf`: Tencent SCF's
 * (the event parsed from JSON, SCF's context fields beside FC's), which functions created through SCF's API get.
 */
export const CONVENTIONS = ['fc', 'scf'] as const;
export type Convention = (typeof CONVENTIONS)[number];

/** Everything about a function that a version snapshots, apart from its code. */
export interface FunctionConfig {
  runtime: Runtime;
  handler: string;
  memorySize: number;
  timeout: number;
  instanceConcurrency: number;
  environmentVariables: Record<string, string>;
  description: string;
  network: NetworkMode;
  convention: Convention;
  /**
   * A custom runtime's server started by this command, program then arguments, instead of the package's
   * executable `bootstrap` (Function Compute's `customRuntimeConfig.command`). Absent when there is none.
   */
  command?: string[];
}

export const CONFIG_LIMITS = {
  memorySize: { min: 64, max: 16384, multipleOf: 64 },
  timeout: { min: 1, max: 900 },
  instanceConcurrency: { min: 1, max: 200 },
  descriptionLength: 256,
  handlerLength: 128,
  environmentBytes: 4096,
  commandParts: 32,
  commandPartLength: 1024,
} as const;

export const CONFIG_DEFAULTS = {
  memorySize: 128,
  timeout: 3,
  instanceConcurrency: 1,
  environmentVariables: {},
  description: '',
  network: 'host',
  convention: 'fc',
} as const;

// Path segments are non-empty and separated by single slashes: the older form let `a//b.handler`,
// `a/.handler` (file "a/") and `a/.x.handler` through, none of which names a file inside the package.
export const HANDLER = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z_$][A-Za-z0-9_$]*$/;
export const HANDLER_HINT =
  'must be FILE.FUNCTION, for example index.handler (a path inside the package, no "..")';
/** Function Compute's C# form: `Assembly::Namespace.Class::Method`, a nested class after a `+`. */
export const CSHARP_HANDLER =
  /^[A-Za-z_][A-Za-z0-9_.-]*::[A-Za-z_][A-Za-z0-9_]*(?:[.+][A-Za-z_][A-Za-z0-9_]*)*::[A-Za-z_][A-Za-z0-9_]*$/;
export const CSHARP_HANDLER_HINT =
  'must be Assembly::Namespace.Class::Method for csharp, for example Desktop::Desktop.App::Handler';
/** Either form: which one the runtime takes is checked once both are known (`checkRuntimeFit`). */
export const ANY_HANDLER = new RegExp(`${HANDLER.source}|${CSHARP_HANDLER.source}`);
/** Runtimes whose bootstrap runs one invocation at a time (a PHP or Mono loop): one slot per instance. */
const ONE_AT_A_TIME: readonly Runtime[] = ['php8.2', 'csharp'];
/** Runtimes whose bootstraps call handlers in SCF's way too. */
const SCF_RUNTIMES: readonly Runtime[] = ['nodejs20', 'python3'];
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names the platform sets itself; a function may not shadow them. */
export const RESERVED_ENV = /^(SLUICE_|FC_)/;

/** The fields of a function's configuration, which a version snapshots. */
export const CONFIG_FIELDS = [
  'runtime',
  'handler',
  'memorySize',
  'timeout',
  'instanceConcurrency',
  'environmentVariables',
  'description',
  'network',
  'convention',
  'command',
] as const;

/** The total size of an environment, names and values in UTF-8 bytes, which a schema cannot add up. */
function checkEnvironmentSize(env: Record<string, string>, path: string, issues: Issues): void {
  let bytes = 0;
  for (const [name, value] of Object.entries(env))
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  if (bytes > CONFIG_LIMITS.environmentBytes) {
    issues.add(
      path,
      `must total at most ${CONFIG_LIMITS.environmentBytes} bytes (names and values), not ${bytes}`,
    );
  }
}

/**
 * What a whole configuration must hold beyond its fields one by one: the handler's form, the runtime's
 * concurrency, a command only for a custom runtime, and naming a program.
 */
function checkRuntimeFit(config: FunctionConfig, issues: Issues): void {
  const csharp = config.runtime === 'csharp';
  if (!(csharp ? CSHARP_HANDLER : HANDLER).test(config.handler))
    issues.add('handler', csharp ? CSHARP_HANDLER_HINT : HANDLER_HINT);
  if (ONE_AT_A_TIME.includes(config.runtime) && config.instanceConcurrency > 1) {
    issues.add(
      'instanceConcurrency',
      `must be 1 for ${config.runtime}, whose instances run one invocation at a time (more instances serve more at once)`,
    );
  }
  if (config.convention === 'scf' && !SCF_RUNTIMES.includes(config.runtime))
    issues.add(
      'convention',
      `scf is for ${SCF_RUNTIMES.join(' and ')} handlers; ${config.runtime} takes fc only`,
    );
  if (config.command !== undefined && config.runtime !== 'custom')
    issues.add('command', `only a custom runtime starts a command, not ${config.runtime}`);
  if (config.command?.[0] === '') issues.add('command[0]', 'must name a program');
}

/** A request to create a function, its fields' types and ranges checked already (the API's schema). */
export type NewFunctionInput = { name: string; runtime: Runtime; handler: string } & Partial<FunctionConfig>;

export interface NewFunction {
  name: string;
  config: FunctionConfig;
}

/** A function to create: its configuration with the defaults filled in, the environment's size checked. */
export function parseNewFunction(input: NewFunctionInput): NewFunction {
  const issues = new Issues();
  if (input.environmentVariables)
    checkEnvironmentSize(input.environmentVariables, 'environmentVariables', issues);
  issues.throwIfAny('function');
  const config = normalizeConfig({ ...CONFIG_DEFAULTS, ...pickConfig(input) } as FunctionConfig);
  checkRuntimeFit(config, issues);
  issues.throwIfAny('function');
  return { name: input.name, config };
}

/** A change to a function's configuration, its fields checked already: only the fields it changes. */
export function parseConfigPatch(input: Partial<FunctionConfig>): Partial<FunctionConfig> {
  const issues = new Issues();
  if (input.environmentVariables)
    checkEnvironmentSize(input.environmentVariables, 'environmentVariables', issues);
  issues.throwIfAny('configuration update');
  return pickConfig(input);
}

function pickConfig(body: Partial<FunctionConfig>): Partial<FunctionConfig> {
  const picked: Record<string, unknown> = {};
  for (const key of CONFIG_FIELDS) if (body[key] !== undefined) picked[key] = body[key];
  return picked;
}

/** A canonical form, so that two equal configurations compare and hash equal whatever their key order. */
export function normalizeConfig(config: FunctionConfig): FunctionConfig {
  // fromEntries defines own properties, where `env[key] = …` would silently drop a variable named __proto__.
  // Keys compare as the default sort() does, by UTF-16 code units.
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(config.environmentVariables).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return {
    runtime: config.runtime,
    handler: config.handler,
    memorySize: config.memorySize,
    timeout: config.timeout,
    instanceConcurrency: config.instanceConcurrency,
    environmentVariables: env,
    description: config.description,
    network: config.network,
    convention: config.convention,
    ...(config.command !== undefined && config.command.length > 0 && { command: [...config.command] }),
  };
}

/** A configuration as the store keeps it: those written before a field existed get its default. */
export function storedConfig(
  stored: Omit<FunctionConfig, 'network' | 'convention'> & Partial<FunctionConfig>,
): FunctionConfig {
  return normalizeConfig({
    ...stored,
    network: stored.network ?? CONFIG_DEFAULTS.network,
    convention: stored.convention ?? CONFIG_DEFAULTS.convention,
  });
}

/** The configuration a validated patch makes, refused when the whole no longer fits its runtime. */
export function applyConfigPatch(config: FunctionConfig, patch: Partial<FunctionConfig>): FunctionConfig {
  const patched = normalizeConfig({ ...config, ...patch });
  const issues = new Issues();
  checkRuntimeFit(patched, issues);
  issues.throwIfAny('configuration update');
  return patched;
}

export function sameConfig(a: FunctionConfig, b: FunctionConfig): boolean {
  return JSON.stringify(normalizeConfig(a)) === JSON.stringify(normalizeConfig(b));
}
