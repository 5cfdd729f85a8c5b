import { SluiceError } from '../core/errors.js';
import { LATEST, formatVersionRef, parseVersionRef, type Qualifier, type VersionRef } from '../core/names.js';
import { route, type ParameterLookup } from '../core/routing.js';
import type { RunnableVersion } from '../runtime/instance.js';
import type { AliasRoute, FunctionSnapshot } from './catalog.js';

/** The version a request runs: `$LATEST`, the version it names, or its alias's choice for this request. */
export function selectVersion(
  snapshot: FunctionSnapshot,
  qualifier: Qualifier,
  lookup: ParameterLookup,
): RunnableVersion {
  switch (qualifier.kind) {
    case 'latest':
      return snapshot.latest;
    case 'version':
      return runnable(snapshot, qualifier.version);
    case 'alias': {
      const chosen = route(aliasRoute(snapshot, qualifier.alias), lookup, Math.random);
      return chosen ?? missing(snapshot, qualifier.alias);
    }
  }
}

function aliasRoute(snapshot: FunctionSnapshot, alias: string): AliasRoute {
  const compiled = snapshot.aliases.get(alias);
  if (!compiled) throw new SluiceError('AliasNotFound', `function ${snapshot.name} has no alias ${alias}`);
  return compiled;
}

function runnable(snapshot: FunctionSnapshot, ref: VersionRef): RunnableVersion {
  const version = ref === LATEST ? snapshot.latest : snapshot.versions.get(ref);
  if (!version) throw new SluiceError('VersionNotFound', `function ${snapshot.name} has no version ${ref}`);
  return version;
}

function missing(snapshot: FunctionSnapshot, alias: string): never {
  throw new SluiceError(
    'VersionNotFound',
    `alias ${alias} of function ${snapshot.name} names a version that the function does not have`,
  );
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
  const { spec } = aliasRoute(snapshot, qualifier.alias);
  const ref = parseVersionRef(pin);
  const allowed = spec.canary ? [spec.version, spec.canary.version] : [spec.version];
  if (ref === undefined || !allowed.includes(ref)) {
    throw new SluiceError(
      'InvalidArgument',
      `${PIN_HEADER}: alias ${qualifier.alias} serves ${allowed.map(formatVersionRef).join(' and ')}, not "${pin}"`,
      [{ path: PIN_HEADER, message: `must be one of ${allowed.map(formatVersionRef).join(', ')}` }],
    );
  }
  return runnable(snapshot, ref);
}
