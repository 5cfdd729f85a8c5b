import { type AliasSpec, type AliasSpecInput, isWeightCanary } from '../core/alias.js';
import { withFieldNames } from '../core/errors.js';
import type { FunctionConfig, NewFunctionInput, Runtime } from '../core/function-config.js';
import type { AliasRecord, FunctionRecord, VersionRecord } from '../core/model.js';
import { FC_LATEST, LATEST, type VersionRef } from '../core/names.js';
import {
  FC_RUNTIMES,
  type FcCreateAlias,
  type FcCreateFunction,
  type FcRuntime,
  type FcUpdateAlias,
  type FcUpdateFunction,
} from '../contract/schemas/fc.js';

/**
 * Function Compute 3.0's wire format, both ways: its request bodies as the core's inputs, and stored records
 * as its answers. Only names and shapes change here; every rule stays the core's and the store's.
 */

const FC_RUNTIME_OF = Object.fromEntries(
  Object.entries(FC_RUNTIMES).map(([fc, sluice]) => [sluice, fc]),
) as Record<Runtime, FcRuntime>;

/** FC writes `LATEST` for the mutable head where Sluice writes `$LATEST`. */
function fcVersionId(ref: VersionRef): string {
  return ref === LATEST ? FC_LATEST : String(ref);
}

type ConfigFields = Omit<FcUpdateFunction, 'code'>;

/** The configuration fields of an FC body, as `/v1` names them (only those given). */
function configOf(body: ConfigFields): Partial<FunctionConfig> {
  const config: Partial<FunctionConfig> = {};
  if (body.runtime !== undefined) config.runtime = FC_RUNTIMES[body.runtime];
  if (body.handler !== undefined) config.handler = body.handler;
  if (body.memorySize !== undefined) config.memorySize = body.memorySize;
  if (body.timeout !== undefined) config.timeout = body.timeout;
  if (body.instanceConcurrency !== undefined) config.instanceConcurrency = body.instanceConcurrency;
  if (body.environmentVariables !== undefined) config.environmentVariables = body.environmentVariables;
  if (body.description !== undefined) config.description = body.description;
  const custom = body.customRuntimeConfig;
  if (custom !== undefined) config.command = [...(custom.command ?? []), ...(custom.args ?? [])];
  return config;
}

export function newFunctionInput(body: FcCreateFunction): NewFunctionInput {
  return {
    name: body.functionName,
    ...configOf(body),
    runtime: FC_RUNTIMES[body.runtime],
    handler: body.handler,
  };
}

export function configPatch(body: FcUpdateFunction): Partial<FunctionConfig> {
  return configOf(body);
}

/** The core names `/v1`'s fields in its errors; on this wire they are FC's. */
const FIELD_NAMES: [RegExp, string][] = [
  [/^command/, 'customRuntimeConfig.command'],
  [/^name$/, 'functionName'],
  [/^version$/, 'versionId'],
  [/^canary(\..*)?$/, 'additionalVersionWeight'],
];

/** Runs `fn`, naming the fields of its InvalidArgument errors as FC does. */
export function withFcFieldNames<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw withFieldNames(error, FIELD_NAMES);
  }
}

/** The one canary of `additionalVersionWeight`, `{"2": 0.1}`; `{}` is none. */
function canaryOf(weights: Record<string, number>): NonNullable<AliasSpecInput['canary']> | null {
  const [entry] = Object.entries(weights);
  return entry === undefined ? null : { version: entry[0], weight: entry[1] };
}

export function newAliasInput(body: FcCreateAlias): AliasSpecInput {
  return {
    version: body.versionId,
    description: body.description ?? '',
    canary: canaryOf(body.additionalVersionWeight ?? {}),
  };
}

/**
 * An update changes the fields it gives and keeps the others: a rule canary (which FC's wire cannot show)
 * stays unless `additionalVersionWeight` replaces it.
 */
export function updatedAliasInput(current: AliasSpec, body: FcUpdateAlias): AliasSpecInput {
  const canary = current.canary;
  const kept: NonNullable<AliasSpecInput['canary']> | null =
    canary === undefined
      ? null
      : isWeightCanary(canary)
        ? {
            version: String(canary.version),
            weight: canary.weight,
            ...(canary.sticky && { sticky: canary.sticky }),
          }
        : { version: String(canary.version), match: canary.match, rules: canary.rules };
  return {
    version: body.versionId ?? String(current.version),
    description: body.description ?? current.description,
    canary: body.additionalVersionWeight === undefined ? kept : canaryOf(body.additionalVersionWeight),
  };
}

export function fcFunction(fn: FunctionRecord) {
  const { config } = fn;
  return {
    functionName: fn.name,
    functionArn: `acs:fc:sluice:local:functions/${fn.name}`,
    runtime: FC_RUNTIME_OF[config.runtime],
    handler: config.handler,
    memorySize: config.memorySize,
    timeout: config.timeout,
    instanceConcurrency: config.instanceConcurrency,
    environmentVariables: config.environmentVariables,
    description: config.description,
    ...(config.command !== undefined && { customRuntimeConfig: { command: config.command } }),
    codeChecksum: fn.code.sha256,
    codeSize: fn.code.size,
    createdTime: fn.createdAt,
    lastModifiedTime: fn.updatedAt,
    state: 'Active',
    lastUpdateStatus: 'Successful',
  };
}

export function fcVersion(version: VersionRecord) {
  return {
    versionId: String(version.version),
    description: version.description,
    createdTime: version.createdAt,
    lastModifiedTime: version.createdAt,
  };
}

export function fcAlias(alias: AliasRecord) {
  const canary = alias.spec.canary;
  return {
    aliasName: alias.name,
    versionId: fcVersionId(alias.spec.version),
    description: alias.spec.description,
    additionalVersionWeight:
      canary && isWeightCanary(canary) ? { [fcVersionId(canary.version)]: canary.weight } : {},
    createdTime: alias.createdAt,
    lastModifiedTime: alias.updatedAt,
  };
}
