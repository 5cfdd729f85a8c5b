import { type AliasSpec, type AliasSpecInput, type CanaryInput, isWeightCanary } from '../core/alias.js';
import type { Condition } from '../core/conditions.js';
import { SluiceError } from '../core/errors.js';
import type { FunctionConfig, NewFunctionInput, Runtime } from '../core/function-config.js';
import type { AliasRecord, FunctionRecord, VersionRecord } from '../core/model.js';
import { LATEST, type VersionRef } from '../core/names.js';
import {
  SCF_RUNTIMES,
  type ScfCreateAlias,
  type ScfCreateFunction,
  type ScfRoutingConfig,
  type ScfRuntime,
  type ScfUpdateAlias,
  type ScfUpdateFunctionConfiguration,
} from '../contract/schemas/scf.js';

/**
 * Tencent SCF's wire format, both ways: its parameters as the core's inputs, and stored records as its
 * answers. Only names and shapes change here; every rule stays the core's and the store's.
 */

/** The runtime a function reads back with: the first SCF name of each of Sluice's runtimes. */
const SCF_RUNTIME_OF: Partial<Record<Runtime, ScfRuntime>> = {};
for (const [scf, sluice] of Object.entries(SCF_RUNTIMES) as [ScfRuntime, Runtime][])
  SCF_RUNTIME_OF[sluice] ??= scf;

/** SCF's defaults where they differ from `/v1`'s: its console's handler and runtime. */
const SCF_DEFAULTS = { Handler: 'index.main_handler', Runtime: 'Python3.9' } as const;

/** `{"Variables": [{"Key", "Value"}]}` as a map; a name given twice is refused. */
function environmentOf(environment: { Variables: { Key: string; Value: string }[] }): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [i, { Key, Value }] of environment.Variables.entries()) {
    if (Object.hasOwn(env, Key))
      throw new SluiceError('InvalidArgument', `Environment: the variable ${Key} is given twice`, [
        { path: `Environment.Variables[${i}].Key`, message: `names ${Key} again` },
      ]);
    env[Key] = Value;
  }
  return env;
}

type ConfigParams = Omit<ScfUpdateFunctionConfiguration, 'FunctionName' | 'Namespace'>;

function configOf(params: ConfigParams): Partial<FunctionConfig> {
  const config: Partial<FunctionConfig> = {};
  if (params.Runtime !== undefined) config.runtime = SCF_RUNTIMES[params.Runtime];
  if (params.MemorySize !== undefined) config.memorySize = params.MemorySize;
  if (params.Timeout !== undefined) config.timeout = params.Timeout;
  if (params.Description !== undefined) config.description = params.Description;
  if (params.Environment !== undefined) config.environmentVariables = environmentOf(params.Environment);
  return config;
}

/** A function created through SCF's API is called as SCF calls its handlers, where its runtime can be. */
export function newFunctionInput(params: ScfCreateFunction): NewFunctionInput {
  const runtime = SCF_RUNTIMES[params.Runtime ?? SCF_DEFAULTS.Runtime];
  return {
    name: params.FunctionName,
    ...configOf(params),
    runtime,
    handler: params.Handler ?? SCF_DEFAULTS.Handler,
    convention: runtime === 'nodejs20' || runtime === 'python3' ? 'scf' : 'fc',
  };
}

export function configPatch(params: ScfUpdateFunctionConfiguration): Partial<FunctionConfig> {
  return configOf(params);
}

/** SCF writes times as `2024-05-01 12:00:00` (UTC here). */
export function scfTime(iso: string): string {
  return iso.slice(0, 19).replace('T', ' ');
}

export function scfVersionId(ref: VersionRef): string {
  return ref === LATEST ? '$LATEST' : String(ref);
}

function environmentView(env: Record<string, string>) {
  return { Variables: Object.entries(env).map(([Key, Value]) => ({ Key, Value })) };
}

export function scfFunction(fn: FunctionRecord | VersionRecord, qualifier: string) {
  const { config } = fn;
  const [name, modified] = 'name' in fn ? [fn.name, fn.updatedAt] : [fn.functionName, fn.createdAt];
  return {
    FunctionName: name,
    Namespace: 'default',
    Runtime: SCF_RUNTIME_OF[config.runtime] ?? config.runtime,
    Handler: config.handler,
    MemorySize: config.memorySize,
    Timeout: config.timeout,
    Description: config.description,
    Environment: environmentView(config.environmentVariables),
    CodeSize: fn.code.size,
    CodeInfo: fn.code.sha256,
    FunctionVersion: qualifier,
    Qualifier: qualifier,
    Status: 'Active',
    Type: 'Event',
    AddTime: scfTime(fn.createdAt),
    ModTime: scfTime(modified),
  };
}

export function scfFunctionSummary(fn: FunctionRecord) {
  return {
    FunctionName: fn.name,
    Namespace: 'default',
    Runtime: SCF_RUNTIME_OF[fn.config.runtime] ?? fn.config.runtime,
    Description: fn.config.description,
    Status: 'Active',
    Type: 'Event',
    AddTime: scfTime(fn.createdAt),
    ModTime: scfTime(fn.updatedAt),
  };
}

export function scfVersion(version: VersionRecord) {
  return {
    Version: String(version.version),
    Description: version.description,
    AddTime: scfTime(version.createdAt),
    ModTime: scfTime(version.createdAt),
    Status: 'Active',
  };
}

/** `invoke.headers.User` names the header `User`. */
const HEADER_KEY = 'invoke.headers.';

/**
 * The canary of a `RoutingConfig`: one additional version, by weight or by rules (any rule that matches sends
 * the request to it, as in SCF). Both kinds at once, or rules naming different versions, are refused.
 */
function canaryOf(routing: ScfRoutingConfig | undefined): CanaryInput | null {
  const weights = routing?.AdditionalVersionWeights ?? [];
  const matches = routing?.AddtionVersionMatchs ?? [];
  if (weights.length > 0 && matches.length > 0)
    throw new SluiceError(
      'InvalidArgument',
      'RoutingConfig: give AdditionalVersionWeights or AddtionVersionMatchs, not both: an alias has one canary',
      [{ path: 'RoutingConfig', message: 'must route by weight or by rule, not both' }],
    );
  const [weight] = weights;
  if (weight) return { version: weight.Version, weight: weight.Weight };
  const [first] = matches;
  if (!first) return null;
  const other = matches.findIndex((m) => m.Version !== first.Version);
  if (other >= 0)
    throw new SluiceError(
      'InvalidArgument',
      `RoutingConfig: every rule must route to the same version (${first.Version}): an alias has one canary`,
      [{ path: `RoutingConfig.AddtionVersionMatchs[${other}].Version`, message: `must be ${first.Version}` }],
    );
  return {
    version: first.Version,
    match: 'any',
    rules: matches.map((m): Condition =>
      m.Method === 'exact'
        ? { source: 'header', name: m.Key.slice(HEADER_KEY.length), op: '=', value: m.Expression }
        : { source: 'header', name: m.Key.slice(HEADER_KEY.length), op: 'range', value: m.Expression },
    ),
  };
}

export function newAliasInput(params: ScfCreateAlias | ScfUpdateAlias, current?: AliasSpec): AliasSpecInput {
  return {
    version: params.FunctionVersion,
    description: params.Description ?? current?.description ?? '',
    canary: canaryOf(params.RoutingConfig),
  };
}

/** The alias's canary as SCF's `RoutingConfig`; a canary SCF cannot express shows as none of either kind. */
function routingConfigOf(spec: AliasSpec) {
  const canary = spec.canary;
  if (canary && isWeightCanary(canary))
    return {
      AdditionalVersionWeights: [{ Version: scfVersionId(canary.version), Weight: canary.weight }],
      AddtionVersionMatchs: [],
    };
  const expressible =
    canary !== undefined &&
    (canary.match === 'any' || canary.rules.length === 1) &&
    canary.rules.every((r) => r.source === 'header' && (r.op === '=' || r.op === 'range'));
  if (!expressible) return { AdditionalVersionWeights: [], AddtionVersionMatchs: [] };
  return {
    AdditionalVersionWeights: [],
    AddtionVersionMatchs: canary.rules.map((r) => ({
      Version: scfVersionId(canary.version),
      Key: `${HEADER_KEY}${r.name}`,
      Method: r.op === '=' ? 'exact' : 'range',
      Expression: String(r.value),
    })),
  };
}

export function scfAlias(alias: AliasRecord) {
  return {
    Name: alias.name,
    FunctionVersion: scfVersionId(alias.spec.version),
    Description: alias.spec.description,
    RoutingConfig: routingConfigOf(alias.spec),
    AddTime: scfTime(alias.createdAt),
    ModTime: scfTime(alias.updatedAt),
  };
}
