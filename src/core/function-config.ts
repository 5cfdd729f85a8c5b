import {
  Issues,
  checkInteger,
  checkString,
  describeType,
  fieldPath,
  isPlainObject,
  readObject,
  requireField,
} from './validate.js';
import { FUNCTION_NAME, FUNCTION_NAME_HINT } from './names.js';

/** `csharp`: C# on Mono; `custom`: the package's own HTTP server, in any language (Function Compute's custom runtime). */
export const RUNTIMES = ['nodejs20', 'python3', 'php8.2', 'csharp', 'custom'] as const;
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
} as const;

// Path segments are non-empty and separated by single slashes: the older form let `a//b.handler`,
// `a/.handler` (file "a/") and `a/.x.handler` through, none of which names a file inside the package.
const HANDLER = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*(?:\.[A-Za-z0-9_-]+)*\.[A-Za-z_$][A-Za-z0-9_$]*$/;
const HANDLER_HINT = 'must be FILE.FUNCTION, for example index.handler (a path inside the package, no "..")';
/** Function Compute's C# form: `Assembly::Namespace.Class::Method`, a nested class after a `+`. */
const CSHARP_HANDLER =
  /^[A-Za-z_][A-Za-z0-9_.-]*::[A-Za-z_][A-Za-z0-9_]*(?:[.+][A-Za-z_][A-Za-z0-9_]*)*::[A-Za-z_][A-Za-z0-9_]*$/;
const CSHARP_HANDLER_HINT =
  'must be Assembly::Namespace.Class::Method for csharp, for example Desktop::Desktop.App::Handler';
const ANY_HANDLER = new RegExp(`${HANDLER.source}|${CSHARP_HANDLER.source}`);
/** Runtimes whose bootstrap runs one invocation at a time (a PHP or Mono loop): one slot per instance. */
const ONE_AT_A_TIME: readonly Runtime[] = ['php8.2', 'csharp'];
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names the platform sets itself; a function may not shadow them. */
const RESERVED_ENV = /^(SLUICE_|FC_)/;

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
  'command',
] as const;

function checkConfigField(
  key: (typeof CONFIG_FIELDS)[number],
  value: unknown,
  path: string,
  issues: Issues,
): void {
  switch (key) {
    case 'runtime':
      if (typeof value !== 'string' || !(RUNTIMES as readonly string[]).includes(value)) {
        issues.add(path, `must be one of ${RUNTIMES.join(', ')}`);
      }
      return;
    case 'handler':
      // Either form here; which one the runtime takes once both are known (checkRuntimeFit).
      checkString(value, path, issues, {
        nonEmpty: true,
        maxLength: CONFIG_LIMITS.handlerLength,
        pattern: ANY_HANDLER,
        patternHint: `${HANDLER_HINT}, or ${CSHARP_HANDLER_HINT}`,
      });
      return;
    case 'memorySize':
      checkInteger(value, path, issues, CONFIG_LIMITS.memorySize);
      return;
    case 'timeout':
      checkInteger(value, path, issues, CONFIG_LIMITS.timeout);
      return;
    case 'instanceConcurrency':
      checkInteger(value, path, issues, CONFIG_LIMITS.instanceConcurrency);
      return;
    case 'description':
      checkString(value, path, issues, { maxLength: CONFIG_LIMITS.descriptionLength });
      return;
    case 'environmentVariables':
      checkEnvironment(value, path, issues);
      return;
    case 'network':
      if (typeof value !== 'string' || !(NETWORK_MODES as readonly string[]).includes(value))
        issues.add(path, `must be one of ${NETWORK_MODES.join(', ')}`);
      return;
    case 'command':
      checkCommand(value, path, issues);
      return;
  }
}

/** A list of strings: the program, then its arguments; an empty list is none (the package's bootstrap). */
function checkCommand(value: unknown, path: string, issues: Issues): void {
  const { commandParts, commandPartLength } = CONFIG_LIMITS;
  if (!Array.isArray(value)) {
    issues.add(path, `must be a list of strings, the program then its arguments, not ${describeType(value)}`);
    return;
  }
  if (value.length > commandParts) issues.add(path, `must have at most ${commandParts} parts`);
  value.forEach((part: unknown, i) => {
    const at = fieldPath(path, i);
    if (typeof part !== 'string') issues.add(at, `must be a string, not ${describeType(part)}`);
    else if (i === 0 && part === '') issues.add(at, 'must name a program');
    else if (part.length > commandPartLength)
      issues.add(at, `must be at most ${commandPartLength} characters long`);
    else if (part.includes('\0')) issues.add(at, 'must not hold a NUL character');
  });
}

function checkEnvironment(value: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(value)) {
    issues.add(path, `must be an object of string values, not ${describeType(value)}`);
    return;
  }
  let bytes = 0;
  for (const [name, v] of Object.entries(value)) {
    const at = fieldPath(path, name);
    if (!ENV_NAME.test(name)) issues.add(at, 'is not a valid variable name (letters, digits, underscores)');
    else if (RESERVED_ENV.test(name)) issues.add(at, 'is reserved for the platform (SLUICE_*, FC_*)');
    if (typeof v !== 'string') issues.add(at, `must be a string, not ${describeType(v)}`);
    else bytes += Buffer.byteLength(name) + Buffer.byteLength(v);
  }
  if (bytes > CONFIG_LIMITS.environmentBytes) {
    issues.add(
      path,
      `must total at most ${CONFIG_LIMITS.environmentBytes} bytes (names and values), not ${bytes}`,
    );
  }
}

/** What a whole configuration must hold beyond its fields one by one: the handler's form, the runtime's concurrency. */
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
  if (config.command !== undefined && config.runtime !== 'custom')
    issues.add('command', `only a custom runtime starts a command, not ${config.runtime}`);
}

export interface NewFunction {
  name: string;
  config: FunctionConfig;
}

/** Validates a request to create a function: a name, the required runtime and handler, and optional settings. */
export function parseNewFunction(input: unknown, extraFields: readonly string[] = []): NewFunction {
  const issues = new Issues();
  const obj = readObject(input, '', issues, ['name', ...CONFIG_FIELDS, ...extraFields]);
  if (!obj) issues.throwIfAny('function');
  const body = obj as Record<string, unknown>;
  const name = requireField(body, 'name', '', issues);
  if (name !== undefined)
    checkString(name, 'name', issues, { pattern: FUNCTION_NAME, patternHint: FUNCTION_NAME_HINT });
  requireField(body, 'runtime', '', issues);
  requireField(body, 'handler', '', issues);
  for (const key of CONFIG_FIELDS) {
    if (body[key] !== undefined) checkConfigField(key, body[key], key, issues);
  }
  issues.throwIfAny('function');
  const config = normalizeConfig({ ...CONFIG_DEFAULTS, ...pickConfig(body) } as FunctionConfig);
  checkRuntimeFit(config, issues);
  issues.throwIfAny('function');
  return { name: name as string, config };
}

/** Validates a partial update of a function's configuration; returns only the fields it changes. */
export function parseConfigPatch(input: unknown): Partial<FunctionConfig> {
  const issues = new Issues();
  const obj = readObject(input, '', issues, CONFIG_FIELDS);
  if (!obj) issues.throwIfAny('configuration update');
  const body = obj as Record<string, unknown>;
  for (const key of CONFIG_FIELDS) {
    if (body[key] !== undefined) checkConfigField(key, body[key], key, issues);
  }
  if (!issues.empty) issues.throwIfAny('configuration update');
  if (Object.keys(body).length === 0) {
    issues.add('', 'names no field to change');
    issues.throwIfAny('configuration update');
  }
  return pickConfig(body);
}

function pickConfig(body: Record<string, unknown>): Partial<FunctionConfig> {
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
    ...(config.command !== undefined && config.command.length > 0 && { command: [...config.command] }),
  };
}

/** A configuration as the store keeps it: those written before a field existed get its default. */
export function storedConfig(
  stored: Omit<FunctionConfig, 'network'> & Partial<FunctionConfig>,
): FunctionConfig {
  return normalizeConfig({ ...stored, network: stored.network ?? CONFIG_DEFAULTS.network });
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
