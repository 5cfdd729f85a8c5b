import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { SluiceError } from '../core/errors.js';
import type { Store } from '../store/store.js';

export const ADMIN_TOKEN_FILE = 'admin-token';

/** Every token Sluice makes starts so, which lets it tell its own credentials from a function's. */
const TOKEN_PREFIX = 'sluice_';
const SLUICE_BEARER = new RegExp(`^\\s*Bearer\\s+${TOKEN_PREFIX}`, 'i');

/**
 * Whether an Authorization header carries a Sluice token, valid or not: such a header never reaches a
 * function, while other schemes (a function's own Basic or bearer auth) pass on anonymous triggers.
 */
export function carriesSluiceToken(authorization: string): boolean {
  return SLUICE_BEARER.test(authorization);
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
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
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

/** Distinct valid Authorization headers remembered; beyond, the least recently used is forgotten. */
export const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000;

/**
 * Resolves bearer tokens to the names of their owners, or refuses them with 401. Authorization headers found
 * valid are remembered as they came, so that the invocation path neither hashes nor reads the store per request;
 * at most `maxEntries` of them, so that callers cycling through spellings of valid tokens cannot grow the
 * server's memory.
 */
export class TokenVerifier {
  /** In order of use, the least recent first (a Map iterates in insertion order). */
  private readonly known = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly maxEntries = DEFAULT_TOKEN_CACHE_ENTRIES,
  ) {}

  async authenticate(req: IncomingMessage): Promise<string> {
    const header = req.headers.authorization;
    if (!header)
      throw new SluiceError('Unauthorized', 'this endpoint needs a bearer token (Authorization: Bearer …)');
    const known = this.known.get(header);
    if (known !== undefined) {
      this.known.delete(header);
      this.known.set(header, known);
      return known;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new SluiceError('Unauthorized', 'the Authorization header must be "Bearer <token>"');
    const token = await this.store.findTokenByHash(hashToken(match[1] as string));
    if (!token) throw new SluiceError('Unauthorized', 'the bearer token is not valid');
    this.known.set(header, token.name);
    if (this.known.size > this.maxEntries) this.known.delete(this.known.keys().next().value as string);
    return token.name;
  }
}
