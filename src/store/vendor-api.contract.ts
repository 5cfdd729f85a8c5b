import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { Change } from './store.js';
import { config } from '../../test/support/config.js';
import { blob, contractTest, type OpenedStore } from './contract-support.js';

const change: Change = { actor: 'tester', now: '2024-01-01T00:00:00.000Z' };

/** What the vendors' APIs need of the store (signature nonces, versions newest first): the same from every store. */
export function vendorApiContract(label: string, open: () => Promise<OpenedStore>): void {
  const test = contractTest(open);

  void describe(`${label}: vendor APIs`, () => {
    test('a nonce is claimed once per access key until it expires', async (store) => {
      assert.equal(await store.claimNonce('AK1', 'n1', 2_000, 1_000), true);
      assert.equal(await store.claimNonce('AK1', 'n1', 2_500, 1_500), false);
      // Another key's nonces are its own.
      assert.equal(await store.claimNonce('AK2', 'n1', 2_500, 1_500), true);
      // Once expired, the nonce is forgotten (its request is refused by its date by then).
      assert.equal(await store.claimNonce('AK1', 'n1', 3_000, 2_000), true);
      assert.equal(await store.claimNonce('AK1', 'n1', 3_000, 2_999), false);
    });

    test('of concurrent claims of one nonce, one wins', async (store) => {
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => store.claimNonce('AK1', 'race', 10_000, 1_000)),
      );
      assert.equal(claims.filter(Boolean).length, 1);
    });

    test('versions page newest first when asked, each token going on the same way', async (store) => {
      await store.createFunction('f', config(), blob('v0'), change);
      for (let i = 1; i <= 5; i++) {
        await store.updateFunction('f', { code: blob(`v${i}`) }, change);
        await store.publishVersion('f', '', change);
      }
      const walk = async (direction: 'forward' | 'backward') => {
        const seen: number[][] = [];
        let nextToken: string | undefined;
        do {
          const page = await store.listVersions('f', {
            limit: 2,
            direction,
            ...(nextToken !== undefined && { nextToken }),
          });
          seen.push(page.items.map((v) => v.version));
          nextToken = page.nextToken;
        } while (nextToken !== undefined);
        return seen;
      };
      assert.deepEqual(await walk('backward'), [[5, 4], [3, 2], [1]]);
      assert.deepEqual(await walk('forward'), [[1, 2], [3, 4], [5]]);
    });
  });
}
