import type { IncomingMessage } from 'node:http';
import { actorOf, type Principal } from '../core/credentials.js';
import { SluiceError } from '../core/errors.js';
import type { CredentialRecord, Store } from '../store/store.js';
import type { Sealer } from './seal.js';
import { hashToken } from './tokens.js';

export { authorize, authorizeScope, type Principal, type Scope } from '../core/credentials.js';

/** Distinct valid Authorization headers (and access keys) remembered; beyond, the least recently used goes. */
export const DEFAULT_CREDENTIAL_CACHE_ENTRIES = 10_000;

/** The longest access key id looked up: anything longer is no key of ours, and needs no read of the store. */
const MAX_ACCESS_KEY_ID = 128;

export function principalOf(credential: CredentialRecord): Principal {
  return {
    credentialId: credential.id,
    actor: actorOf(credential.name, credential.id),
    scope: credential.scope,
    ...(credential.functionPrefix !== undefined && { functionPrefix: credential.functionPrefix }),
  };
}

/** A map that forgets its least recently used entry beyond `max` (a Map iterates in insertion order). */
class Lru<V> {
  private readonly map = new Map<string, V>();
  /**
   * The key used last, already at the end of the order: used again, it stays there without a move, which
   * cost a deletion and an insertion per request, and the map's table rebuilt every few.
   */
  private newest: string | undefined;

  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    const value = this.map.get(key);
    if (value === undefined || key === this.newest) return value;
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    return value;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    this.newest = key;
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as string);
  }

  deleteWhere(drop: (value: V) => boolean): void {
    for (const [key, value] of this.map) if (drop(value)) this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }
}

/**
 * Resolves credentials to principals: bearer tokens from an Authorization header, and access keys by id with
 * their secret unsealed (for the vendor APIs' signatures). What was found valid is remembered, so that the
 * invocation path neither hashes, unseals nor reads the store per request; at most `maxEntries` of each, so
 * that callers cycling through spellings of valid tokens cannot grow the server's memory. A revocation reaches
 * every node through the change feed (`forget`), and every full reload of the routing table forgets all
 * (`forgetAll`), so that a revocation whose notice was lost lasts no longer than a routing change would.
 */
export class CredentialVerifier {
  private readonly headers: Lru<Principal>;
  private readonly keys: Lru<{ secret: string; principal: Principal }>;
  /** Counts forgets: what was read from the store before one is not remembered after it. */
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    maxEntries = DEFAULT_CREDENTIAL_CACHE_ENTRIES,
  ) {
    this.headers = new Lru(maxEntries);
    this.keys = new Lru(maxEntries);
  }

  /** The principal of a bearer token, or Unauthorized. */
  async authenticate(req: IncomingMessage): Promise<Principal> {
    const header = req.headers.authorization;
    if (!header)
      throw new SluiceError('Unauthorized', 'this endpoint needs a bearer token (Authorization: Bearer …)');
    const known = this.headers.get(header);
    if (known !== undefined) return known;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new SluiceError('Unauthorized', 'the Authorization header must be "Bearer <token>"');
    const generation = this.generation;
    const token = await this.store.findTokenByHash(hashToken(match[1] as string));
    if (!token) throw new SluiceError('Unauthorized', 'the bearer token is not valid');
    const principal = principalOf(token);
    if (generation === this.generation) this.headers.set(header, principal);
    return principal;
  }

  /** An access key's secret, unsealed, with its principal; undefined for a key that does not exist. */
  async accessKey(id: string): Promise<{ secret: string; principal: Principal } | undefined> {
    const known = this.keys.get(id);
    if (known !== undefined) return known;
    if (id.length === 0 || id.length > MAX_ACCESS_KEY_ID) return undefined;
    const generation = this.generation;
    const key = await this.store.getAccessKey(id);
    if (!key) return undefined;
    const found = { secret: this.sealer.unseal(key.sealedSecret, key.id), principal: principalOf(key) };
    if (generation === this.generation) this.keys.set(id, found);
    return found;
  }

  /** A credential was revoked: nothing of it is remembered. */
  forget(credentialId: string): void {
    this.generation++;
    this.headers.deleteWhere((principal) => principal.credentialId === credentialId);
    this.keys.deleteWhere(({ principal }) => principal.credentialId === credentialId);
  }

  forgetAll(): void {
    this.generation++;
    this.headers.clear();
    this.keys.clear();
  }
}
