import { SluiceError } from '../core/errors.js';
import {
  applyConfigPatch,
  type FunctionConfig,
  type NewFunctionInput,
  parseConfigPatch,
  parseNewFunction,
  type Runtime,
} from '../core/function-config.js';
import type { AliasRecord, FunctionRecord, VersionRecord } from '../core/model.js';
import { LATEST, parseQualifier, type VersionRef } from '../core/names.js';
import { Issues } from '../core/validate.js';
import type { CodeJson } from '../contract/schemas/functions.js';
import type { Change, Store } from '../store/store.js';
import { codeBlob, emptyCode } from './code-input.js';
import type { ApiDeps } from './context.js';

/**
 * The control plane's operations apart from any wire format: `/v1` and the vendors' APIs (src/fc) take their
 * bodies apart in their own ways and call these, so that the rules run once, the same for all.
 */

export async function requireFunction(store: Store, name: string): Promise<FunctionRecord> {
  const fn = await store.getFunction(name);
  if (!fn) throw new SluiceError('FunctionNotFound', `function ${name} does not exist`);
  return fn;
}

/** An alias, or the error that says whether the function or the alias is missing. */
export async function requireAlias(store: Store, name: string, aliasName: string): Promise<AliasRecord> {
  const alias = await store.getAlias(name, aliasName);
  if (alias) return alias;
  await requireFunction(store, name);
  throw new SluiceError('AliasNotFound', `function ${name} has no alias ${aliasName}`);
}

/** A function this node could not run is refused before anything is stored, saying what to install. */
export function requireRuntime(deps: Pick<ApiDeps, 'runtimeProblem'>, runtime: Runtime): void {
  const problem = deps.runtimeProblem(runtime);
  if (problem === undefined) return;
  const issues = new Issues();
  issues.add('runtime', problem);
  issues.throwIfAny('function');
}

type FunctionDeps = Pick<ApiDeps, 'store' | 'codeLimits' | 'zipWorkers' | 'runtimeProblem'>;

/** Creates a function from its checked fields and optional code (an empty package without). */
export async function createFunction(
  deps: FunctionDeps,
  input: NewFunctionInput,
  code: CodeJson | undefined,
  change: Change,
): Promise<FunctionRecord> {
  const { name, config } = parseNewFunction(input);
  requireRuntime(deps, config.runtime);
  const blob = code ? await codeBlob(code, deps.codeLimits, deps.zipWorkers) : await emptyCode();
  return deps.store.createFunction(name, config, blob, change);
}

/** Changes `$LATEST`: the configuration fields given, the code if given, or both at once. */
export async function updateFunction(
  deps: FunctionDeps,
  name: string,
  update: { patch?: Partial<FunctionConfig>; code?: CodeJson },
  change: Change,
): Promise<FunctionRecord> {
  const patch = update.patch && parseConfigPatch(update.patch);
  if (patch?.runtime !== undefined) requireRuntime(deps, patch.runtime);
  const current = await requireFunction(deps.store, name);
  const code = update.code && (await codeBlob(update.code, deps.codeLimits, deps.zipWorkers));
  return deps.store.updateFunction(
    name,
    {
      ...(patch && { config: applyConfigPatch(current.config, patch) }),
      ...(code && { code }),
    },
    change,
  );
}

/**
 * What a qualifier runs: `$LATEST` (the function itself), a version, or an alias's primary version, which
 * must exist.
 */
export async function qualifiedCode(
  store: Store,
  name: string,
  qualifierText: string,
): Promise<{ fn: FunctionRecord; version?: VersionRecord }> {
  const fn = await requireFunction(store, name);
  const qualifier = parseQualifier(qualifierText);
  let ref: VersionRef = LATEST;
  if (qualifier.kind === 'version') ref = qualifier.version;
  if (qualifier.kind === 'alias') ref = (await requireAlias(store, name, qualifier.alias)).spec.version;
  if (ref === LATEST) return { fn };
  const version = await store.getVersion(name, ref);
  if (!version) throw new SluiceError('VersionNotFound', `function ${name} has no version ${ref}`);
  return { fn, version };
}
