import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { hashToken, TokenVerifier } from './tokens.js';

test('the token cache keeps the most recently used headers, up to its bound', async () => {
  const store = SqliteStore.open(':memory:');
  await store.createFirstToken({
    id: 't',
    name: 'admin',
    sha256: hashToken('sluice_secret'),
    createdAt: new Date(0).toISOString(),
  });
  // Reads of the store, counted on the real one: each is a header the cache did not hold.
  let reads = 0;
  const counted = Object.create(store) as SqliteStore;
  counted.findTokenByHash = (sha256) => {
    reads++;
    return store.findTokenByHash(sha256);
  };
  const verifier = new TokenVerifier(counted, 2);
  // Three spellings of one valid token: each is its own cache entry.
  const a = 'Bearer sluice_secret';
  const b = 'bearer sluice_secret';
  const c = 'Bearer  sluice_secret';
  const use = (authorization: string) =>
    verifier.authenticate({ headers: { authorization } } as unknown as IncomingMessage);
  const steps: [string, number][] = [
    [a, 1],
    [b, 2],
    [a, 2], // held; now the most recent
    [c, 3], // over the bound: b, the least recent, goes
    [a, 3],
    [c, 3],
    [b, 4],
    [a, 5], // b and c were used after a
  ];
  for (const [header, expected] of steps) {
    assert.equal(await use(header), 'admin');
    assert.equal(reads, expected, JSON.stringify(header));
  }
  await assert.rejects(use('Bearer sluice_wrong'), /not valid/);
  store.close();
});
