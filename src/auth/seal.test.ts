import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { keyFingerprint, Sealer } from './seal.js';

const oldKey = randomBytes(32);
const newKey = randomBytes(32);

test('a sealed secret opens with its key and id, and holds neither the secret nor the key', () => {
  const sealer = new Sealer([oldKey]);
  const sealed = sealer.seal('s3cret-value', 'AK1');
  assert.equal(sealer.unseal(sealed, 'AK1'), 's3cret-value');
  assert.ok(!sealed.includes('s3cret'));
  assert.ok(!sealed.includes(oldKey.toString('base64url')));
  assert.notEqual(sealer.seal('s3cret-value', 'AK1'), sealed, 'a fresh IV each time');
});

test('what is moved to another id, altered, or sealed with an unknown key does not open', () => {
  const sealer = new Sealer([oldKey]);
  const sealed = sealer.seal('s3cret-value', 'AK1');
  assert.throws(() => sealer.unseal(sealed, 'AK2'), /altered/);
  const parts = sealed.split('.');
  const data = Buffer.from(parts[3] as string, 'base64url');
  data[0] = (data[0] as number) ^ 1;
  parts[3] = data.toString('base64url');
  assert.throws(() => sealer.unseal(parts.join('.'), 'AK1'), /altered/);
  const truncated = sealed.split('.');
  truncated[4] = Buffer.from(truncated[4] as string, 'base64url')
    .subarray(0, 4)
    .toString('base64url');
  assert.throws(() => sealer.unseal(truncated.join('.'), 'AK1'), /altered/, 'the whole tag is required');
  assert.throws(() => new Sealer([newKey]).unseal(sealed, 'AK1'), /does not have/);
  assert.throws(() => sealer.unseal('plain', 'AK1'), /not in a form/);
});

test('during a rotation the first key seals, every key opens, and what the old key sealed is stale', () => {
  const before = new Sealer([oldKey]).seal('s3cret-value', 'AK1');
  const during = new Sealer([newKey, oldKey]);
  assert.equal(during.unseal(before, 'AK1'), 's3cret-value');
  assert.equal(during.isStale(before), true);
  const resealed = during.seal('s3cret-value', 'AK1');
  assert.equal(during.isStale(resealed), false);
  assert.equal(resealed.split('.')[1], keyFingerprint(newKey));
  assert.equal(new Sealer([newKey]).unseal(resealed, 'AK1'), 's3cret-value');
});
