import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { route } from '../core/routing.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { config } from '../../test/support/config.js';
import { blob } from '../store/contract-support.js';
import { LATEST_VERSION_ID } from '../core/qualifier.js';
import { Catalog } from './catalog.js';

// The data plane's copy of the store, over the real SQLite store: what a snapshot holds, and that refreshes
// of one function never let an older read replace a newer one.

const BY = { actor: 'test', now: new Date(0).toISOString() };

function open(t: TestContext): SqliteStore {
  const store = SqliteStore.open(':memory:');
  t.after(() => store.close());
  return store;
}

test('a snapshot holds $LATEST, every version, the trigger and each alias compiled', async (t) => {
  const store = open(t);
  await store.createFunction('f', config(), blob('v1'), BY);
  await store.publishVersion('f', '', BY);
  await store.updateFunction('f', { code: blob('v2'), config: config({ timeout: 9 }) }, BY);
  await store.publishVersion('f', '', BY);
  await store.putAlias('f', 'live', { version: 1, description: '', canary: { version: 2, weight: 1 } }, BY);
  const catalog = new Catalog(store);
  await catalog.refresh('f');

  const f = catalog.get('f');
  assert.ok(f);
  assert.equal(f.latest.versionId, LATEST_VERSION_ID);
  assert.equal(f.latest.codeSha256, blob('v2').sha256);
  assert.deepEqual([...f.versions.keys()], [1, 2]);
  assert.equal(f.versions.get(1)?.codeSha256, blob('v1').sha256);
  assert.equal(f.versions.get(2)?.config.timeout, 9);
  assert.equal(f.trigger.authType, 'token');
  assert.deepEqual([...f.aliases.keys()].sort(), ['$DEFAULT', 'live']);
  const live = f.aliases.get('live');
  assert.ok(live);
  assert.equal(
    route(
      live,
      () => undefined,
      () => 0.5,
    ),
    f.versions.get(2),
    'compiled as written, to the runnable version itself: all of it on the canary',
  );
  assert.equal(f.aliases.get('$DEFAULT')?.primary, f.latest);
  // Instances are keyed by what runs: $LATEST with version 2's code and configuration is still not version 2.
  assert.notEqual(f.latest.key, f.versions.get(2)?.key);
  assert.equal(catalog.counts().functions, 1);
});

test('a refresh of $LATEST changes its key, so that no instance of the old state serves the new', async (t) => {
  const store = open(t);
  await store.createFunction('f', config(), blob('a'), BY);
  const catalog = new Catalog(store);
  await catalog.refresh('f');
  const before = catalog.get('f')?.latest.key;
  await store.updateFunction('f', { config: config({ environmentVariables: { A: '1' } }) }, BY);
  await catalog.refresh('f');
  assert.notEqual(catalog.get('f')?.latest.key, before, 'configuration');
  const configured = catalog.get('f')?.latest.key;
  await store.updateFunction('f', { code: blob('b') }, BY);
  await catalog.refresh('f');
  assert.notEqual(catalog.get('f')?.latest.key, configured, 'code');
});

test('loadAll pages through every function, adds APIs and drops what the store no longer has', async (t) => {
  const store = open(t);
  const names = Array.from({ length: 230 }, (_, i) => `fn${String(i).padStart(3, '0')}`);
  for (const name of names) await store.createFunction(name, config(), blob('x'), BY);
  await store.createApi('shop', { description: '', routes: [{ method: 'GET', path: '/items' }] }, BY);
  const catalog = new Catalog(store);
  await catalog.loadAll();
  assert.deepEqual(catalog.counts(), { functions: 230, apis: 1 });
  assert.ok(catalog.get('fn229'), 'the last page too');
  assert.ok(catalog.getApi('shop')?.matcher);

  await store.deleteFunction('fn000');
  await store.deleteApi('shop');
  await catalog.loadAll();
  assert.equal(catalog.get('fn000'), undefined);
  assert.equal(catalog.getApi('shop'), undefined);
  assert.deepEqual(catalog.counts(), { functions: 229, apis: 0 });
});

/** The store, with reads of one function that wait until the test lets each go, in the order they began. */
function gatedStore(real: Store): { store: Store; reads: { release: () => void }[] } {
  const reads: { release: () => void }[] = [];
  const store = new Proxy(real, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key !== 'getFunctionStates' || typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        // Read now, answer when released: a read that is answered late carries what it saw when it ran.
        const result: unknown = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        await new Promise<void>((release) => reads.push({ release }));
        return result;
      };
    },
  });
  return { store, reads };
}

test('refreshes of one function run one at a time; one asked for while another waits shares it', async (t) => {
  const real = open(t);
  await real.createFunction('f', config({ timeout: 1 }), blob('a'), BY);
  const { store, reads } = gatedStore(real);
  const catalog = new Catalog(store);

  const first = catalog.refresh('f');
  await new Promise(setImmediate);
  assert.equal(reads.length, 1, 'the first read runs');
  await real.updateFunction('f', { config: config({ timeout: 2 }) }, BY);
  const second = catalog.refresh('f');
  const third = catalog.refresh('f');
  assert.equal(second, third, 'a refresh not started yet is shared');
  await new Promise(setImmediate);
  assert.equal(reads.length, 1, 'the second waits for the first to finish before it reads');

  reads[0]?.release();
  await first;
  assert.equal(catalog.get('f')?.latest.config.timeout, 1);
  await new Promise(setImmediate);
  assert.equal(reads.length, 2);
  reads[1]?.release();
  await second;
  assert.equal(catalog.get('f')?.latest.config.timeout, 2, 'the newer read is the one that stays');
});

test('a refresh that fails leaves the snapshot as it was, and the next one runs', async (t) => {
  const real = open(t);
  await real.createFunction('f', config({ timeout: 1 }), blob('a'), BY);
  let failing = false;
  const store = new Proxy(real, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (key !== 'getFunctionStates' || typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        failing
          ? Promise.reject(new Error('the store is unreachable'))
          : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  const catalog = new Catalog(store);
  await catalog.refresh('f');
  const before = catalog.get('f');
  await real.updateFunction('f', { config: config({ timeout: 2 }) }, BY);
  failing = true;
  await assert.rejects(catalog.refresh('f'), /unreachable/);
  assert.equal(catalog.get('f'), before);
  failing = false;
  await catalog.refresh('f');
  assert.equal(catalog.get('f')?.latest.config.timeout, 2);
});

/** The store, counting the calls made of each method. */
function countingStore(real: Store): { store: Store; calls: Map<string, number> } {
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
  return { store, calls };
}

test('a full reload reads functions a page at a time, not one store call per function', async (t) => {
  const real = open(t);
  for (let i = 0; i < 250; i++)
    await real.createFunction(`fn${String(i).padStart(3, '0')}`, config(), blob('a'), BY);
  const { store, calls } = countingStore(real);
  const catalog = new Catalog(store);

  await catalog.loadAll();

  assert.equal(catalog.counts().functions, 250);
  assert.equal(calls.get('listFunctionNames'), 3, 'pages of 100 names');
  assert.equal(calls.get('getFunctionStates'), 3, 'one read per page');
  for (const single of ['listFunctions', 'getFunction', 'listVersions', 'listAliases'])
    assert.equal(calls.get(single), undefined);
});

test('refreshes of several functions asked for together share one read', async (t) => {
  const real = open(t);
  for (const name of ['a', 'b', 'c']) await real.createFunction(name, config(), blob(name), BY);
  const { store, calls } = countingStore(real);
  const catalog = new Catalog(store);

  await Promise.all(['a', 'b', 'c', 'missing'].map((name) => catalog.refresh(name)));

  assert.equal(calls.get('getFunctionStates'), 1);
  assert.deepEqual(catalog.counts(), { functions: 3, apis: 0 });
});

test('functions with rules written alike share them compiled; a percent rule, salted per alias, is its own', async (t) => {
  const store = open(t);
  const rules = (op: '=' | 'percent') => ({
    version: 1,
    description: '',
    canary: {
      version: 2,
      match: 'all' as const,
      rules: [
        op === '='
          ? { source: 'header' as const, name: 'X-User', op, value: 'bob' }
          : { source: 'header' as const, name: 'X-User', op, value: 50 },
      ],
    },
  });
  for (const name of ['a', 'b', 'c']) {
    await store.createFunction(name, config(), blob(`${name}1`), BY);
    await store.publishVersion(name, '', BY);
    await store.updateFunction(name, { code: blob(`${name}2`) }, BY);
    await store.publishVersion(name, '', BY);
  }
  await store.putAlias('a', 'live', rules('='), BY);
  await store.putAlias('b', 'live', rules('='), BY);
  await store.putAlias('a', 'half', rules('percent'), BY);
  await store.putAlias('b', 'half', rules('percent'), BY);
  await store.putAlias('c', 'live', { ...rules('='), canary: { ...rules('=').canary, match: 'any' } }, BY);
  const catalog = new Catalog(store);
  await catalog.loadAll();
  const compiled = (fn: string, alias: string) => {
    const found = catalog.get(fn)?.aliases.get(alias);
    assert.ok(found?.mode === 'rules');
    return found;
  };

  assert.equal(
    compiled('a', 'live').conditions,
    compiled('b', 'live').conditions,
    'the same rules: one copy',
  );
  assert.equal(
    compiled('c', 'live').conditions,
    compiled('a', 'live').conditions,
    'match is the route’s own',
  );
  assert.equal(compiled('c', 'live').match, 'any');
  assert.notEqual(
    compiled('a', 'half').conditions,
    compiled('b', 'half').conditions,
    'each alias hashes its own way',
  );
  const bob = (source: string, name: string) =>
    source === 'header' && name === 'x-user' ? 'bob' : undefined;
  const random = () => 0.5;
  for (const fn of ['a', 'b']) {
    assert.equal(
      route(compiled(fn, 'live'), bob, random),
      catalog.get(fn)?.versions.get(2),
      `${fn}: bob → canary`,
    );
    assert.equal(
      route(compiled(fn, 'live'), () => 'eve', random),
      catalog.get(fn)?.versions.get(1),
      `${fn}: eve → primary`,
    );
  }
  // Each alias keeps its own buckets: over many users, a and b do not send the very same ones to the canary.
  const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
  const canaries = (fn: string) =>
    users
      .filter((u) => route(compiled(fn, 'half'), () => u, random) === catalog.get(fn)?.versions.get(2))
      .join();
  assert.notEqual(canaries('a'), canaries('b'));

  const before = compiled('a', 'live').conditions;
  await store.putAlias('b', 'live', { ...rules('='), canary: { ...rules('=').canary, version: 1 } }, BY);
  await catalog.refresh('b');
  assert.equal(compiled('b', 'live').conditions, before, 'a refresh reuses what the last reload compiled');
  await catalog.loadAll();
  assert.notEqual(
    compiled('a', 'live').conditions,
    before,
    'a reload begins anew, keeping nothing it no longer names',
  );
  assert.equal(compiled('a', 'live').conditions, compiled('b', 'live').conditions);
});
