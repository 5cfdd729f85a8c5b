import type { Qualifier } from './names.js';

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
