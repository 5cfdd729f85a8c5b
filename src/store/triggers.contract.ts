import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { TimerSpec } from '../core/triggers.js';
import { config } from '../../test/support/config.js';
import { blob, clock, contractTest, type OpenedStore, rejectsWith } from './contract-support.js';

const change = clock();

const timer = (qualifier = 'live', schedule = '@every 2s'): TimerSpec => ({
  kind: 'timer',
  qualifier,
  enabled: true,
  description: '',
  schedule,
  payload: 'tick',
});

const firing = (id: string) => ({
  id,
  functionName: 'f',
  qualifier: 'live',
  payload: Buffer.from('x'),
  source: 'timer:t',
  createdAt: 1,
});

/** Triggers, and what they hold on to: the same behaviour from every store. */
export function triggersContract(label: string, open: () => Promise<OpenedStore>): void {
  const test = contractTest(open, async (store) => {
    await store.createFunction('f', config(), blob('f'), change());
    await store.publishVersion('f', 'v1', change());
    await store.putAlias('f', 'live', { version: 1, description: '' }, change());
  });

  void describe(`${label}: triggers`, () => {
    test('create, read, list, update and delete a trigger', async (store) => {
      const created = await store.createTrigger('f', 't', timer(), change());
      assert.deepEqual(created.spec, timer());
      assert.equal(created.lastFired, undefined);
      assert.deepEqual(await store.getTrigger('f', 't'), created);
      await rejectsWith(store.createTrigger('f', 't', timer(), change()), 'TriggerAlreadyExists');
      const updated = await store.updateTrigger('f', 't', timer('1', '@hourly'), change());
      assert.equal(updated.spec.qualifier, '1');
      assert.notEqual(updated.updatedAt, created.updatedAt);
      assert.deepEqual(
        (await store.listTriggers('f')).map((t) => t.name),
        ['t'],
      );
      assert.deepEqual(
        (await store.listTriggers()).map((t) => `${t.functionName}/${t.name}`),
        ['f/t'],
      );
      await store.deleteTrigger('f', 't');
      assert.equal(await store.getTrigger('f', 't'), undefined);
      await rejectsWith(store.deleteTrigger('f', 't'), 'TriggerNotFound');
      await rejectsWith(store.updateTrigger('f', 't', timer(), change()), 'TriggerNotFound');
      await rejectsWith(store.listTriggers('nope'), 'FunctionNotFound');
    });

    test('a trigger must name a qualifier that exists', async (store) => {
      await rejectsWith(store.createTrigger('f', 't', timer('nope'), change()), 'AliasNotFound');
      await rejectsWith(store.createTrigger('f', 't', timer('7'), change()), 'VersionNotFound');
      await rejectsWith(store.createTrigger('nope', 't', timer(), change()), 'FunctionNotFound');
      await store.createTrigger('f', 't', timer('$LATEST'), change());
      await rejectsWith(store.updateTrigger('f', 't', timer('nope'), change()), 'AliasNotFound');
      assert.equal((await store.getTrigger('f', 't'))?.spec.qualifier, '$LATEST', 'unchanged');
    });

    test('the alias or version a trigger invokes cannot be deleted; the function can, with its triggers', async (store) => {
      await store.createTrigger('f', 't', timer(), change());
      await store.createTrigger('f', 'u', timer('1'), change());
      await rejectsWith(store.deleteAlias('f', 'live', change()), 'AliasInUse');
      assert.ok(await store.getAlias('f', 'live'), 'the alias is still there');
      await store.putAlias('f', 'other', { version: 1, description: '' }, change());
      await store.deleteAlias('f', 'other', change());
      await store.deleteTrigger('f', 'u');
      await rejectsWith(store.deleteAlias('f', 'live', change()), 'AliasInUse');
      await store.updateTrigger('f', 't', timer('1'), change());
      await store.deleteAlias('f', 'live', change());
      await store.putAlias('f', 'two', { version: 1, description: '' }, change());
      await store.deleteAlias('f', 'two', change());
      await rejectsWith(store.deleteVersion('f', 1), 'VersionInUse');
      await store.deleteFunction('f');
      await store.createFunction('f', config(), blob('f2'), change());
      assert.deepEqual(await store.listTriggers('f'), []);
    });

    test('a timer fires each time once, queueing its event with the firing', async (store) => {
      await store.createTrigger('f', 't', timer(), change());
      assert.equal(await store.fireTimer('f', 't', 2000, firing('e1')), true);
      assert.equal(await store.fireTimer('f', 't', 2000, firing('e2')), false, 'the same time again');
      assert.equal(await store.fireTimer('f', 't', 1000, firing('e3')), false, 'an earlier time');
      assert.equal((await store.getTrigger('f', 't'))?.lastFired, 2000);
      const results = await Promise.all([
        store.fireTimer('f', 't', 4000, firing('e4')),
        store.fireTimer('f', 't', 4000, firing('e5')),
      ]);
      assert.deepEqual(results.sort(), [false, true], 'of two firing one time at once, one does');
      assert.ok(await store.getAsync('f', 'e1'));
      assert.equal(await store.getAsync('f', 'e2'), undefined);
      const queued = (await store.listAsync('f', { limit: 10 })).items.map((e) => e.id).sort();
      assert.equal(queued.length, 2);
      await store.updateTrigger('f', 't', timer('live', '@every 5s'), change());
      assert.equal((await store.getTrigger('f', 't'))?.lastFired, 4000, 'an update keeps the last firing');
    });
  });
}
