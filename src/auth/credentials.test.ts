import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { CredentialVerifier } from './credentials.js';
import { issueAccessKey, issueToken, resealAccessKeys } from './issue.js';
import { Sealer } from './seal.js';
import { hashToken } from './tokens.js';

const NOW = new Date(0);
const sealer = new Sealer([randomBytes(32)]);
const request = (authorization: string) => ({ headers: { authorization } }) as unknown as IncomingMessage;

/** A real store whose token and access-key reads are counted: each is something the cache did not hold. */
function countedStore() {
  const store = SqliteStore.open(':memory:');
  const reads = { tokens: 0, keys: 0 };
  const counted = Object.create(store) as SqliteStore;
  counted.findTokenByHash = (sha256) => {
    reads.tokens++;
    return store.findTokenByHash(sha256);
  };
  counted.getAccessKey = (id) => {
    reads.keys++;
    return store.getAccessKey(id);
  };
  return { store, counted, reads };
}

test('the token cache keeps the most recently used headers, up to its bound', async () => {
  const { store, counted, reads } = countedStore();
  await store.createFirstToken({
    id: 't',
    name: 'admin',
    sha256: hashToken('sluice_secret'),
    createdAt: NOW.toISOString(),
  });
  const verifier = new CredentialVerifier(counted, sealer, 2);
  // Three spellings of one valid token: each is its own cache entry.
  const a = 'Bearer sluice_secret';
  const b = 'bearer sluice_secret';
  const c = 'Bearer  sluice_secret';
  const steps: [string, number][] = [
    [a, 1],
    [b, 2],
    [a, 2], // held; now the most recent
    [c, 3], // over the bound: b, the least recent, goes
    [a, 3],
    [c, 3],
    [b, 4],
    [a, 5], // b and c were used after a
    [a, 5], // used last already: it stays the most recent
    [c, 6], // b goes
    [a, 6],
    [b, 7], // c goes, a was used after it
    [a, 7],
  ];
  for (const [header, expected] of steps) {
    assert.deepEqual(await verifier.authenticate(request(header)), {
      credentialId: 't',
      actor: 'admin (t)',
      scope: 'admin',
    });
    assert.equal(reads.tokens, expected, JSON.stringify(header));
  }
  await assert.rejects(verifier.authenticate(request('Bearer sluice_wrong')), /not valid/);
  await store.close();
});

test('a token carries its scope and prefix; once revoked and forgotten, it is refused', async () => {
  const { store, counted, reads } = countedStore();
  const { record, token } = await issueToken(
    store,
    { name: 'ci', scope: 'deploy', functionPrefix: 'shop-' },
    NOW,
  );
  const verifier = new CredentialVerifier(counted, sealer);
  const header = `Bearer ${token}`;
  assert.deepEqual(await verifier.authenticate(request(header)), {
    credentialId: record.id,
    actor: `ci (${record.id})`,
    scope: 'deploy',
    functionPrefix: 'shop-',
  });
  await store.deleteToken(record.id);
  // Until the revocation is heard of, the header is served from memory; after, it is read again and refused.
  await verifier.authenticate(request(header));
  assert.equal(reads.tokens, 1);
  verifier.forget(record.id);
  await assert.rejects(verifier.authenticate(request(header)), { code: 'Unauthorized' });
  await store.close();
});

test('a read of the store that a revocation overtook is not remembered', async () => {
  const { store, counted } = countedStore();
  const { record, token } = await issueToken(store, { name: 'ci', scope: 'invoke' }, NOW);
  const verifier = new CredentialVerifier(counted, sealer);
  const read = verifier.authenticate(request(`Bearer ${token}`));
  // The revocation lands while the read is on its way: the read's answer stands, but is not kept.
  await store.deleteToken(record.id);
  verifier.forget(record.id);
  await read;
  await assert.rejects(verifier.authenticate(request(`Bearer ${token}`)), { code: 'Unauthorized' });
  await store.close();
});

test('an access key is found by id with its secret unsealed, remembered, and forgotten on revocation', async () => {
  const { store, counted, reads } = countedStore();
  const { record, secret } = await issueAccessKey(store, sealer, { name: 'app', scope: 'invoke' }, NOW);
  assert.notEqual(record.sealedSecret.includes(secret), true, 'the store holds no clear secret');
  const verifier = new CredentialVerifier(counted, sealer);
  const found = await verifier.accessKey(record.id);
  assert.deepEqual(found, {
    secret,
    principal: { credentialId: record.id, actor: `app (${record.id})`, scope: 'invoke' },
  });
  await verifier.accessKey(record.id);
  assert.equal(reads.keys, 1, 'the second lookup is served from memory');
  assert.equal(await verifier.accessKey('AKNOSUCHKEY'), undefined);
  assert.equal(await verifier.accessKey('x'.repeat(129)), undefined);
  assert.equal(reads.keys, 2, 'an id longer than any key is not looked up');
  await store.deleteAccessKey(record.id);
  verifier.forgetAll();
  assert.equal(await verifier.accessKey(record.id), undefined);
  await store.close();
});

test('a rotation of the credential key: secrets sealed with the old key are resealed with the new one', async () => {
  const store = SqliteStore.open(':memory:');
  const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
  const { record, secret } = await issueAccessKey(
    store,
    new Sealer([oldKey]),
    { name: 'sdk', scope: 'deploy' },
    NOW,
  );
  const during = new Sealer([newKey, oldKey]);
  assert.equal(await resealAccessKeys(store, during), 1);
  assert.equal(await resealAccessKeys(store, during), 0, 'nothing is stale any more');
  const after = new CredentialVerifier(store, new Sealer([newKey]));
  assert.equal((await after.accessKey(record.id))?.secret, secret, 'the old key is no longer needed');
  await store.close();
});
