import { SluiceError } from '../core/errors.js';
import { LATEST, formatVersionRef, parseVersionRef, type Qualifier, type VersionRef } from '../core/names.js';
import { route, type CompiledRoute, type ParameterLookup } from '../core/routing.js';
import type { RunnableVersion } from '../runtime/instance.js';
import type { FunctionSnapshot } from './catalog.js';

/** The version a request runs: `$LATEST`, the version it names, or its alias's choice for this request. */
export function selectVersion(
  snapshot: FunctionSnapshot,
  qualifier: Qualifier,
  lookup: ParameterLookup,
): RunnableVersion {
  let ref: VersionRef;
  switch (qualifier.kind) {
    case 'latest':
      return snapshot.latest;
    case 'version':
      ref = qualifier.version;
      break;
    case 'alias': {
      ref = route(aliasRoute(snapshot, qualifier.alias), lookup, Math.random);
    }
  }
  return runnable(snapshot, ref);
}

function aliasRoute(snapshot: FunctionSnapshot, alias: string): CompiledRoute {
  const compiled = snapshot.routes.get(alias);
  if (!compiled) throw new SluiceError('AliasNotFound', `function ${snapshot.name} has no alias ${alias}`);
  return compiled;
}

function runnable(snapshot: FunctionSnapshot, ref: VersionRef): RunnableVersion {
  const version = ref === LATEST ? snapshot.latest : snapshot.versions.get(ref);
  if (!version) throw new SluiceError('VersionNotFound', `function ${snapshot.name} has no version ${ref}`);
  return version;
}

export const PIN_HEADER = 'x-sluice-version';

/**
 * `x-sluice-version: N` serves a request by one of its alias's versions, the primary or the canary,
 * whatever the weights and rules say: to try a canary that takes no traffic yet. Token holders only.
 */
export function pinnedVersion(
  snapshot: FunctionSnapshot,
  qualifier: Qualifier,
  pin: string,
): RunnableVersion {
  if (qualifier.kind !== 'alias') {
    throw new SluiceError(
      'InvalidArgument',
      `${PIN_HEADER} applies to an alias, not to a version or $LATEST`,
      [{ path: PIN_HEADER, message: 'needs an alias as qualifier' }],
    );
  }
  const compiled = aliasRoute(snapshot, qualifier.alias);
  const ref = parseVersionRef(pin);
  const allowed = compiled.canary ? [compiled.primary, compiled.canary.version] : [compiled.primary];
  if (ref === undefined || !allowed.includes(ref)) {
    throw new SluiceError(
      'InvalidArgument',
      `${PIN_HEADER}: alias ${qualifier.alias} serves ${allowed.map(formatVersionRef).join(' and ')}, not "${pin}"`,
      [{ path: PIN_HEADER, message: `must be one of ${allowed.map(formatVersionRef).join(', ')}` }],
    );
  }
  return runnable(snapshot, ref);
}
