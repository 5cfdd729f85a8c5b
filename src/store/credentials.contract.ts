import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { AccessKeyRecord, TokenRecord } from './store.js';
import { contractTest, type OpenedStore, rejectsWith } from './contract-support.js';

const AT = '2024-01-01T00:00:00.000Z';

const token = (name: string, over: Partial<TokenRecord> = {}): TokenRecord => ({
  id: `tk_${name}`,
  name,
  scope: 'deploy',
  sha256: Buffer.from(name).toString('hex').padEnd(64, '0'),
  createdAt: AT,
  ...over,
});

const accessKey = (name: string, over: Partial<AccessKeyRecord> = {}): AccessKeyRecord => ({
  id: `AK${name.toUpperCase()}`,
  name,
  scope: 'invoke',
  sealedSecret: `sealed:${name}`,
  createdAt: AT,
  ...over,
});

/** Tokens and access keys with scopes: the same behaviour from every store. */
export function credentialsContract(label: string, open: () => Promise<OpenedStore>): void {
  const test = contractTest(open);

  void describe(`${label}: credentials`, () => {
    test('tokens are created with their scope and prefix, listed by name, found by hash', async (store) => {
      await store.createFirstToken({ id: 'tk_admin', name: 'admin', sha256: 'a'.repeat(64), createdAt: AT });
      const ci = token('ci', { functionPrefix: 'shop-' });
      const app = token('app', { scope: 'invoke' });
      await store.createToken(ci);
      await store.createToken(app);
      assert.deepEqual(
        (await store.listTokens()).map((t) => [t.name, t.scope, t.functionPrefix]),
        [
          ['admin', 'admin', undefined],
          ['app', 'invoke', undefined],
          ['ci', 'deploy', 'shop-'],
        ],
      );
      assert.deepEqual(await store.findTokenByHash(ci.sha256), ci);
      assert.equal(await store.countTokens(), 3);
    });

    test('a token name is taken once; the refused token is not stored', async (store) => {
      await store.createToken(token('ci'));
      await rejectsWith(
        store.createToken(token('ci', { id: 'tk_other', sha256: 'f'.repeat(64) })),
        'CredentialAlreadyExists',
      );
      assert.deepEqual(
        (await store.listTokens()).map((t) => t.id),
        ['tk_ci'],
      );
      assert.equal(await store.findTokenByHash('f'.repeat(64)), undefined);
    });

    test('of many tokens created at once under one name, exactly one is stored', async (store) => {
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.createToken(token('race', { id: `tk_${i}`, sha256: String(i).repeat(64) })),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results)
        if (r.status === 'rejected')
          assert.equal((r.reason as { code?: string }).code, 'CredentialAlreadyExists');
      assert.equal((await store.listTokens()).length, 1);
    });

    test('revoking a token forgets it; the last admin token cannot be revoked', async (store) => {
      await store.createFirstToken({ id: 'tk_admin', name: 'admin', sha256: 'a'.repeat(64), createdAt: AT });
      const ci = token('ci');
      await store.createToken(ci);
      await store.deleteToken(ci.id);
      assert.equal(await store.findTokenByHash(ci.sha256), undefined);
      await rejectsWith(store.deleteToken(ci.id), 'CredentialNotFound');
      await rejectsWith(store.deleteToken('tk_admin'), 'LastAdminToken');
      assert.equal(await store.countTokens(), 1);
      const second = token('second-admin', { scope: 'admin' });
      await store.createToken(second);
      await store.deleteToken('tk_admin');
      await rejectsWith(store.deleteToken(second.id), 'LastAdminToken');
      assert.deepEqual(
        (await store.listTokens()).map((t) => t.name),
        ['second-admin'],
      );
    });

    test('of two admin tokens revoked at once, one stays', async (store) => {
      await store.createToken(token('a', { scope: 'admin' }));
      await store.createToken(token('b', { scope: 'admin' }));
      const results = await Promise.allSettled([store.deleteToken('tk_a'), store.deleteToken('tk_b')]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      assert.equal((await store.listTokens()).length, 1);
    });

    test('access keys are created, read by id, listed by name, resealed only from what they hold, deleted', async (store) => {
      const deployer = accessKey('deployer', { scope: 'deploy', functionPrefix: 'app' });
      const caller = accessKey('caller');
      await store.createAccessKey(deployer);
      await store.createAccessKey(caller);
      await rejectsWith(
        store.createAccessKey(accessKey('caller', { id: 'AKOTHER' })),
        'CredentialAlreadyExists',
      );
      assert.equal(await store.getAccessKey('AKOTHER'), undefined);
      assert.deepEqual(await store.getAccessKey(deployer.id), deployer);
      assert.deepEqual(
        (await store.listAccessKeys()).map((k) => k.name),
        ['caller', 'deployer'],
      );

      assert.equal(await store.resealAccessKey(caller.id, 'not what it holds', 'x'), false);
      assert.equal(await store.resealAccessKey(caller.id, caller.sealedSecret, 'resealed'), true);
      assert.equal((await store.getAccessKey(caller.id))?.sealedSecret, 'resealed');

      await store.deleteAccessKey(caller.id);
      assert.equal(await store.getAccessKey(caller.id), undefined);
      await rejectsWith(store.deleteAccessKey(caller.id), 'CredentialNotFound');
      assert.equal(await store.resealAccessKey(caller.id, 'resealed', 'y'), false);
    });
  });
}
