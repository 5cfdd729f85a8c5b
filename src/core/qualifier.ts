import { FC_LATEST, type Qualifier } from './names.js';

/** How invocations, logs and metrics name the latest code: as Function Compute does. */
export const LATEST_VERSION_ID = FC_LATEST;

/** How the qualifier appears to the function and its logs: `LATEST` for `$LATEST`, as the seeds show. */
export function qualifierLabel(qualifier: Qualifier): string {
  switch (qualifier.kind) {
    case 'latest':
      return LATEST_VERSION_ID;
    case 'version':
      return String(qualifier.version);
    case 'alias':
      return qualifier.alias;
  }
}
