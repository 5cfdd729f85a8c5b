import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { NodeBeat } from '../core/model.js';
import { LATEST } from '../core/names.js';
import type { Store } from './store.js';
import { config } from '../../test/support/config.js';
import { blob, clock, contractTest, type OpenedStore, rejectsWith } from './contract-support.js';

const change = clock();

/** A function `f` with versions 1 and 2 and an alias `live` on 1 with 2 as its canary. */
async function withAlias(store: Store): Promise<void> {
  await store.createFunction('f', config(), blob('f-v1'), change());
  await store.publishVersion('f', 'v1', change());
  await store.updateFunction('f', { code: blob('f-v2') }, change());
  await store.publishVersion('f', 'v2', change());
  await store.putAlias(
    'f',
    'live',
    { version: 1, description: '', canary: { version: 2, weight: 0.2 } },
    change(),
  );
}

/** Provisioned instances and node heartbeats: the same behaviour from every store. */
export function provisionedContract(label: string, open: () => Promise<OpenedStore>): void {
  const test = contractTest(open);

  void describe(`${label}: provisioned instances`, () => {
    test('put creates, then replaces; get and list read it back', async (store) => {
      await withAlias(store);
      const first = change();
      const created = await store.putProvisioned('f', 'live', { target: 10, canaryRatio: 0.2 }, first);
      assert.deepEqual(created, {
        created: true,
        record: {
          functionName: 'f',
          qualifier: 'live',
          spec: { target: 10, canaryRatio: 0.2 },
          createdAt: first.now,
          updatedAt: first.now,
        },
      });
      const second = change();
      const replaced = await store.putProvisioned('f', 'live', { target: 4, canaryRatio: 'weight' }, second);
      assert.equal(replaced.created, false);
      assert.deepEqual(replaced.record.spec, { target: 4, canaryRatio: 'weight' });
      assert.equal(replaced.record.createdAt, first.now);
      assert.equal(replaced.record.updatedAt, second.now);
      assert.deepEqual(await store.getProvisioned('f', 'live'), replaced.record);
      await store.putProvisioned('f', LATEST, { target: 1, canaryRatio: 0.01 }, change());
      await store.putProvisioned('f', '2', { target: 2, canaryRatio: 0.01 }, change());
      assert.deepEqual(
        (await store.listProvisioned('f')).map((r) => r.qualifier),
        ['$LATEST', '2', 'live'],
      );
      assert.equal(await store.getProvisioned('f', '1'), undefined);
    });

    test('list without a function lists every function, by function and qualifier', async (store) => {
      await withAlias(store);
      await store.createFunction('e', config(), blob('e'), change());
      await store.putProvisioned('f', 'live', { target: 1, canaryRatio: 0.01 }, change());
      await store.putProvisioned('e', LATEST, { target: 1, canaryRatio: 0.01 }, change());
      assert.deepEqual(
        (await store.listProvisioned()).map((r) => `${r.functionName}/${r.qualifier}`),
        ['e/$LATEST', 'f/live'],
      );
      assert.deepEqual(await store.listProvisioned('nobody'), []);
    });

    test('refuses a missing function, version or alias, and changes nothing', async (store) => {
      await withAlias(store);
      await store.putProvisioned('f', 'live', { target: 3, canaryRatio: 0.01 }, change());
      const before = await store.listProvisioned();
      const spec = { target: 1, canaryRatio: 0.01 };
      await rejectsWith(store.putProvisioned('g', LATEST, spec, change()), 'FunctionNotFound');
      await rejectsWith(store.putProvisioned('f', '3', spec, change()), 'VersionNotFound');
      await rejectsWith(store.putProvisioned('f', 'staging', spec, change()), 'AliasNotFound');
      await rejectsWith(store.deleteProvisioned('f', 'staging'), 'ProvisionedNotFound');
      await rejectsWith(store.deleteProvisioned('g', 'live'), 'FunctionNotFound');
      assert.deepEqual(await store.listProvisioned(), before);
    });

    test('delete releases one qualifier only', async (store) => {
      await withAlias(store);
      await store.putProvisioned('f', 'live', { target: 3, canaryRatio: 0.01 }, change());
      await store.putProvisioned('f', LATEST, { target: 1, canaryRatio: 0.01 }, change());
      await store.deleteProvisioned('f', 'live');
      assert.deepEqual(
        (await store.listProvisioned('f')).map((r) => r.qualifier),
        ['$LATEST'],
      );
    });

    test('go with the alias, the version or the function they are for', async (store) => {
      await withAlias(store);
      await store.putAlias('f', 'other', { version: 1, description: '' }, change());
      for (const q of ['live', 'other', '2', LATEST])
        await store.putProvisioned('f', q, { target: 1, canaryRatio: 0.01 }, change());
      await store.deleteAlias('f', 'other', change());
      assert.deepEqual(
        (await store.listProvisioned('f')).map((r) => r.qualifier),
        ['$LATEST', '2', 'live'],
      );
      await store.putAlias('f', 'live', { version: 1, description: '' }, change());
      await store.deleteVersion('f', 2);
      assert.deepEqual(
        (await store.listProvisioned('f')).map((r) => r.qualifier),
        ['$LATEST', 'live'],
      );
      await store.deleteFunction('f');
      assert.deepEqual(await store.listProvisioned(), []);
    });
  });

  void describe(`${label}: node heartbeats`, () => {
    const beat = (node: string, at: number, target = 1): NodeBeat => ({
      node,
      at,
      provisioned: [
        {
          functionName: 'f',
          qualifier: 'live',
          versionId: '1',
          role: 'primary',
          target,
          started: target,
          ready: target,
          failed: 0,
        },
      ],
    });

    test('a beat replaces the node’s last one; the list holds every node by id', async (store) => {
      await store.beatNode(beat('b', 1000), 0);
      await store.beatNode(beat('a', 1000), 0);
      await store.beatNode(beat('b', 2000, 5), 0);
      assert.deepEqual(await store.listNodes(), [beat('a', 1000), beat('b', 2000, 5)]);
    });

    test('a beat forgets nodes silent for long; a node that stops drops itself', async (store) => {
      await store.beatNode(beat('old', 1000), 0);
      await store.beatNode(beat('a', 5000), 0);
      await store.beatNode(beat('b', 6000), 2000);
      assert.deepEqual(
        (await store.listNodes()).map((n) => n.node),
        ['a', 'b'],
      );
      await store.dropNode('a');
      await store.dropNode('never-seen');
      assert.deepEqual(
        (await store.listNodes()).map((n) => n.node),
        ['b'],
      );
    });
  });
}
