import { SluiceError } from './errors.js';

/**
 * What a credential may do. Each scope includes the ones below it: `admin` everything, credentials included;
 * `deploy` the control plane (functions, code, versions, aliases, APIs and stages, rollouts, metrics and logs)
 * and invoking, but no credentials; `invoke` the data plane only (the invoke API, triggers and stages). A
 * deployer may invoke what it deploys: it could make the code do anything anyway, so refusing would protect
 * nothing and would break the smoke test after a deploy.
 */
export type Scope = 'admin' | 'deploy' | 'invoke';

export const SCOPES: readonly Scope[] = ['admin', 'deploy', 'invoke'];

const RANK: Record<Scope, number> = { invoke: 0, deploy: 1, admin: 2 };

/** Who made a request: the credential that authenticated it, what it may do, and on which functions. */
export interface Principal {
  /** The credential's id: idempotency keys are kept per credential. */
  credentialId: string;
  /** Its name and id, as histories record who made a change. */
  actor: string;
  scope: Scope;
  /** When set, only functions whose names start with it. */
  functionPrefix?: string;
}

/** Credential names: what lists show and histories record, with the id beside them. */
export const CREDENTIAL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const CREDENTIAL_NAME_HINT =
  'must start with a letter or digit and hold only letters, digits, ".", "_" and "-" (at most 64)';
/** A prefix of function names: the characters a function name may hold. */
export const FUNCTION_PREFIX = /^[A-Za-z0-9_-]{1,64}$/;
export const FUNCTION_PREFIX_HINT = 'must be 1 to 64 letters, digits, underscores or hyphens';

/** How histories name a credential: its name, and its id, which stays unique after the name is reused. */
export function actorOf(name: string, id: string): string {
  return `${name} (${id})`;
}

export function scopeCovers(have: Scope, need: Scope): boolean {
  return RANK[have] >= RANK[need];
}

/** Whether the principal may touch this function at all, whatever the scope. */
export function mayTouchFunction(principal: Principal, functionName: string): boolean {
  return principal.functionPrefix === undefined || functionName.startsWith(principal.functionPrefix);
}

/**
 * Refuses with Forbidden what the principal may not do: a scope below `need`, or, for a credential limited to
 * a prefix, a function outside it. Without `functionName` the request concerns no single function (APIs and
 * stages, the server, every function's metrics): a prefix-limited credential may not make it, since it could
 * reach functions outside its prefix that way. Lists that a prefix can filter check the scope alone
 * (`authorizeScope`) and filter.
 */
export function authorize(principal: Principal, need: Scope, functionName?: string): void {
  authorizeScope(principal, need);
  const prefix = principal.functionPrefix;
  if (prefix === undefined) return;
  if (functionName === undefined)
    throw new SluiceError(
      'Forbidden',
      `credential ${principal.actor} is limited to functions named ${prefix}…, and this request is not about one function`,
    );
  if (!functionName.startsWith(prefix))
    throw new SluiceError(
      'Forbidden',
      `credential ${principal.actor} is limited to functions named ${prefix}…, not ${functionName}`,
    );
}

export function authorizeScope(principal: Principal, need: Scope): void {
  if (scopeCovers(principal.scope, need)) return;
  throw new SluiceError(
    'Forbidden',
    `credential ${principal.actor} has scope ${principal.scope}; this needs ${need}${need === 'admin' ? '' : ' or more'}`,
  );
}
