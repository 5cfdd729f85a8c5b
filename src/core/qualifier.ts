import type { AliasSpec } from './alias.js';
import { SluiceError } from './errors.js';
import { LATEST, type Qualifier, type VersionRef } from './names.js';

/** How the qualifier appears to the function and its logs: `LATEST` for `$LATEST`, as the seeds show. */
export function qualifierLabel(qualifier: Qualifier): string {
  switch (qualifier.kind) {
    case 'latest':
      return 'LATEST';
    case 'version':
      return String(qualifier.version);
    case 'alias':
      return qualifier.alias;
  }
}

/** The version a qualifier names directly: itself, or an alias's primary version. */
export function primaryVersion(
  functionName: string,
  qualifier: Qualifier,
  aliases: ReadonlyMap<string, AliasSpec>,
): VersionRef {
  switch (qualifier.kind) {
    case 'latest':
      return LATEST;
    case 'version':
      return qualifier.version;
    case 'alias': {
      const spec = aliases.get(qualifier.alias);
      if (!spec)
        throw new SluiceError('AliasNotFound', `function ${functionName} has no alias ${qualifier.alias}`);
      return spec.version;
    }
  }
}
