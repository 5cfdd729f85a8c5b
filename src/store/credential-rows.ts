import type { Scope } from '../core/credentials.js';
import type { AccessKeyRecord, CredentialRecord, TokenRecord } from './store.js';

/** An `api_tokens` or `access_keys` row as both databases return it. */
export interface CredentialRow {
  id: string;
  name: string;
  scope: string;
  function_prefix: string | null;
  created_at: string;
}

export interface TokenRow extends CredentialRow {
  sha256: string;
}

export interface AccessKeyRow extends CredentialRow {
  sealed_secret: string;
}

function toCredential(row: CredentialRow): CredentialRecord {
  return {
    id: row.id,
    name: row.name,
    // The column's CHECK admits only the three scopes.
    scope: row.scope as Scope,
    ...(row.function_prefix !== null && { functionPrefix: row.function_prefix }),
    createdAt: row.created_at,
  };
}

export function toToken(row: TokenRow): TokenRecord {
  return { ...toCredential(row), sha256: row.sha256 };
}

export function toAccessKey(row: AccessKeyRow): AccessKeyRecord {
  return { ...toCredential(row), sealedSecret: row.sealed_secret };
}

/** The columns every credential has, in the order the stores' INSERTs name them. */
export function credentialColumns(record: CredentialRecord): [string, string, string, string | null, string] {
  return [record.id, record.name, record.scope, record.functionPrefix ?? null, record.createdAt];
}
