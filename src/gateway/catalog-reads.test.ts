import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAliasSpec } from '../core/alias.js';
import { parseNewFunction } from '../core/function-config.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { Catalog } from './catalog.js';

const CODE = { sha256: 'a'.repeat(64), size: 1, zip: Buffer.from('x') };
const BY = { actor: 'test', now: new Date(0).toISOString() };

/** The store, counting the calls made of each method. */
function countingStore(): { store: Store; real: SqliteStore; calls: Map<string, number> } {
  const real = SqliteStore.open(':memory:');
  const calls = new Map<string, number>();
  const store = new Proxy(real, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, real, calls };
}

async function createWithAlias(store: Store, name: string): Promise<void> {
  const { config } = parseNewFunction({ name, runtime: 'nodejs20', handler: 'index.handler' });
  await store.createFunction(name, config, CODE, BY);
  await store.publishVersion(name, '', BY);
  await store.putAlias(name, 'live', parseAliasSpec({ version: '1' }), BY);
}

test('a full reload reads functions a page at a time, not one store call per function', async () => {
  const { store, real, calls } = countingStore();
  for (let i = 0; i < 250; i++) await createWithAlias(real, `fn${String(i).padStart(3, '0')}`);
  const catalog = new Catalog(store);

  await catalog.loadAll();

  assert.equal(catalog.counts().functions, 250);
  assert.equal(calls.get('listFunctions'), 3, 'pages of 100');
  assert.equal(calls.get('getFunctionStates'), 3, 'one read per page');
  for (const single of ['getFunction', 'listVersions', 'listAliases'])
    assert.equal(calls.get(single), undefined);
  const fn = catalog.get('fn249');
  assert.ok(fn);
  assert.equal(fn.versions.get(1)?.versionId, '1');
  assert.equal(fn.routes.get('live')?.primary, 1);
  await real.close();
});

test('refreshes asked for together share a read; one asked again meanwhile reads after the first', async () => {
  const { store, real, calls } = countingStore();
  for (const name of ['a', 'b', 'c']) await createWithAlias(real, name);
  const catalog = new Catalog(store);

  await Promise.all(['a', 'b', 'c'].map((name) => catalog.refresh(name)));
  assert.equal(calls.get('getFunctionStates'), 1);

  // The second refresh of `a` is asked for while the first has yet to read: it must see what was written
  // in between, never leave the first read's older state in place.
  const first = catalog.refresh('a');
  await real.putAlias('a', 'live', parseAliasSpec({ version: '$LATEST' }), BY);
  const second = catalog.refresh('a');
  await Promise.all([first, second]);
  assert.equal(catalog.get('a')?.routes.get('live')?.primary, '$LATEST');

  await real.deleteFunction('b');
  await catalog.refresh('b');
  assert.equal(catalog.get('b'), undefined, 'a function the store no longer has is dropped');
  await real.close();
});
