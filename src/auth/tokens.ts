import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/store.js';

export const ADMIN_TOKEN_FILE = 'admin-token';

/** Every token Sluice makes starts so, which lets it tell its own credentials from a function's. */
export const TOKEN_PREFIX = 'sluice_';
const SLUICE_BEARER = new RegExp(`^\\s*Bearer\\s+${TOKEN_PREFIX}`, 'i');

/**
 * Whether an Authorization header carries a Sluice token, valid or not: such a header never reaches a
 * function, while other schemes (a function's own Basic or bearer auth) pass on anonymous triggers.
 */
export function carriesSluiceToken(authorization: string): boolean {
  return SLUICE_BEARER.test(authorization);
}

/** A new bearer token: 32 random bytes behind the prefix. */
export function newToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * On a store with no token, creates the admin token: the store keeps only its hash, the token itself goes
 * to `<dataDir>/admin-token` readable by the owner alone. Of nodes starting together on one empty store, only
 * the one whose token the store took writes the file. Returns the file's path when it wrote one.
 */
export async function ensureAdminToken(
  store: Store,
  dataDir: string,
  now: Date,
): Promise<string | undefined> {
  if ((await store.countTokens()) > 0) return undefined;
  const token = newToken();
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  // Written before the store takes the token, so that a token the store keeps is never one nobody holds.
  const pending = `${file}.${randomUUID()}`;
  await writeFile(pending, `${token}\n`, { mode: 0o600 });
  let created = false;
  try {
    created = await store.createFirstToken({
      id: randomUUID(),
      name: 'admin',
      sha256: hashToken(token),
      createdAt: now.toISOString(),
    });
  } finally {
    if (!created) await rm(pending, { force: true });
  }
  if (!created) return undefined;
  await rename(pending, file);
  return file;
}
