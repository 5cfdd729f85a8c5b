import { randomBytes } from 'node:crypto';
import type { Scope } from '../core/credentials.js';
import type { AccessKeyRecord, Store, TokenRecord } from '../store/store.js';
import type { Sealer } from './seal.js';
import { hashToken, newToken } from './tokens.js';

/** What an admin asks for: names and prefixes are checked at the edge (src/contract/schemas/credentials.ts). */
export interface CredentialRequest {
  name: string;
  scope: Scope;
  functionPrefix?: string;
}

/** Upper-case letters and digits without the look-alikes 0, O, 1, I: ids are read and typed by people. */
const ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function randomId(length: number): string {
  return Array.from(randomBytes(length), (byte) => ID_ALPHABET[byte % ID_ALPHABET.length]).join('');
}

function credentialFields(request: CredentialRequest, id: string, now: Date) {
  return {
    id,
    name: request.name,
    scope: request.scope,
    ...(request.functionPrefix !== undefined && { functionPrefix: request.functionPrefix }),
    createdAt: now.toISOString(),
  };
}

/** Creates a bearer token; the store keeps its hash, the caller gets the token once. */
export async function issueToken(
  store: Store,
  request: CredentialRequest,
  now: Date,
): Promise<{ record: TokenRecord; token: string }> {
  const token = newToken();
  const record = { ...credentialFields(request, `tk_${randomId(16)}`, now), sha256: hashToken(token) };
  await store.createToken(record);
  return { record, token };
}

/** Creates an access-key pair; the store keeps the secret sealed, the caller gets it once. */
export async function issueAccessKey(
  store: Store,
  sealer: Sealer,
  request: CredentialRequest,
  now: Date,
): Promise<{ record: AccessKeyRecord; secret: string }> {
  // A 256-bit secret, though not every vendor's SDK checks its length.
  const secret = randomBytes(32).toString('base64url');
  const id = `AK${randomId(20)}`;
  const record = { ...credentialFields(request, id, now), sealedSecret: sealer.seal(secret, id) };
  await store.createAccessKey(record);
  return { record, secret };
}

/**
 * Seals again, with the key that seals now, every secret sealed with an older one: the second step of a
 * rotation of the credential key. Returns how many it resealed; one changed meanwhile is left to the next start.
 */
export async function resealAccessKeys(store: Store, sealer: Sealer): Promise<number> {
  let resealed = 0;
  for (const key of await store.listAccessKeys()) {
    if (!sealer.isStale(key.sealedSecret)) continue;
    const secret = sealer.unseal(key.sealedSecret, key.id);
    if (await store.resealAccessKey(key.id, key.sealedSecret, sealer.seal(secret, key.id))) resealed++;
  }
  return resealed;
}
