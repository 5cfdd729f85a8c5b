import { Issues } from './validate.js';

/** `custom`: the package's own HTTP server, in any language (Function Compute's custom runtime). */
export const RUNTIMES = ['nodejs20', 'python3', 'php8.2', 'custom'] as const;
export type Runtime = (typeof RUNTIMES)[number];

/** `host`: the host's network, loopback services included; `none`: a loopback of the instance's own only. */
export const NETWORK_MODES = ['host', 'none'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

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
}

export const CONFIG_LIMITS = {
  memorySize: { min: 64, max: 16384, multipleOf: 64 },
  timeout: { min: 1, max: 900 },
  instanceConcurrency: { min: 1, max: 200 },
  descriptionLength: 256,
  handlerLength: 128,
  environmentBytes: 4096,
} as const;

export const CONFIG_DEFAULTS = {
  memorySize: 128,
  timeout: 3,
  instanceConcurrency: 1,
  environmentVariables: {},
  description: '',
  network: 'host',
} as const;

// Path segments are non-empty and separated by single slashes: the older form let `a//b.handler`,
// `a/.handler` (file "a/") and `a/.x.handler` through, none of which names a file inside the package.
export const HANDLER = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z_$][A-Za-z0-9_$]*$/;
export const HANDLER_HINT =
  'must be FILE.FUNCTION, for example index.handler (a path inside the package, no "..")';
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
  const config = { ...CONFIG_DEFAULTS, ...pickConfig(input) } as FunctionConfig;
  return { name: input.name, config: normalizeConfig(config) };
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
  };
}

/** A configuration as the store keeps it: those written before a field existed get its default. */
export function storedConfig(
  stored: Omit<FunctionConfig, 'network'> & Partial<FunctionConfig>,
): FunctionConfig {
  return normalizeConfig({ ...stored, network: stored.network ?? CONFIG_DEFAULTS.network });
}

export function applyConfigPatch(config: FunctionConfig, patch: Partial<FunctionConfig>): FunctionConfig {
  return normalizeConfig({ ...config, ...patch });
}

export function sameConfig(a: FunctionConfig, b: FunctionConfig): boolean {
  return JSON.stringify(normalizeConfig(a)) === JSON.stringify(normalizeConfig(b));
}
