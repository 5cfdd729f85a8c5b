import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FunctionConfig } from '../core/function-config.js';
import type { ChangeFeed, ChangeFeedHandlers, ChangeFeedStatus, StoreChange } from '../store/changes.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { Catalog } from './catalog.js';
import { CatalogSync } from './sync.js';

/** A feed the test drives: it delivers what it is told, and connects and disconnects on demand. */
class ScriptedFeed implements ChangeFeed {
  handlers: ChangeFeedHandlers | undefined;
  connectedAt: number | undefined = Date.now();
  published: StoreChange[] = [];

  start(handlers: ChangeFeedHandlers): Promise<void> {
    this.handlers = handlers;
    return Promise.resolve();
  }
  publish(change: StoreChange): Promise<void> {
    this.published.push(change);
    return Promise.resolve();
  }
  status(): ChangeFeedStatus {
    return {
      kind: 'postgres',
      connected: this.connectedAt !== undefined,
      connectedAt: this.connectedAt,
      reconnects: 0,
      unannounced: 0,
      lastError: undefined,
    };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const CONFIG: FunctionConfig = {
  runtime: 'nodejs20',
  handler: 'index.handler',
  memorySize: 128,
  timeout: 3,
  instanceConcurrency: 1,
  environmentVariables: {},
  description: '',
  network: 'host',
};
const CODE = { sha256: 'a'.repeat(64), size: 1, zip: Buffer.from('x') };
const BY = { actor: 'test', now: new Date(0).toISOString() };

/** The store, with reads that fail while `down` is set. */
function flakyStore(): { store: Store; real: SqliteStore; setDown: (down: boolean) => void } {
  const real = SqliteStore.open(':memory:');
  let down = false;
  const store = new Proxy(real, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        down
          ? Promise.reject(new Error('the store is unreachable'))
          : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  return {
    store,
    real,
    setDown: (d) => {
      down = d;
    },
  };
}

test('changes from the feed are applied; a missed one is made good by the reload after a reconnect', async () => {
  const { store, real } = flakyStore();
  const catalog = new Catalog(store);
  const feed = new ScriptedFeed();
  const lines: string[] = [];
  const sync = new CatalogSync(catalog, feed, { resyncMs: 60_000, log: (l) => lines.push(l) });
  await sync.start();
  assert.equal(sync.status().synced, true);

  await real.createFunction('f', CONFIG, CODE, BY);
  feed.handlers?.change({ kind: 'function', name: 'f' });
  await sleep(20);
  assert.ok(catalog.get('f'), 'applied from the feed');

  // Disconnected: a change goes unheard, and the node is not in sync.
  feed.connectedAt = undefined;
  await real.createFunction('g', CONFIG, CODE, BY);
  await real.deleteFunction('f');
  assert.equal(sync.status().synced, false);
  await sleep(5);
  feed.connectedAt = Date.now();
  assert.equal(sync.status().synced, false, 'connected again, but not reloaded since');
  feed.handlers?.missed();
  await sleep(50);
  assert.ok(catalog.get('g'), 'created meanwhile: found by the reload');
  assert.equal(catalog.get('f'), undefined, 'deleted meanwhile: dropped by the reload');
  assert.equal(sync.status().synced, true);
  await sync.close();
});

test('a refresh that fails keeps the old snapshot and is retried by reloads until one succeeds', async () => {
  const { store, real, setDown } = flakyStore();
  await real.createFunction('f', CONFIG, CODE, BY);
  const catalog = new Catalog(store);
  const feed = new ScriptedFeed();
  const lines: string[] = [];
  const sync = new CatalogSync(catalog, feed, {
    resyncMs: 60_000,
    retry: { firstMs: 20, maxMs: 40 },
    log: (l) => lines.push(l),
  });
  await sync.start();
  const before = catalog.get('f');
  assert.ok(before);

  setDown(true);
  await real.updateFunction('f', { config: { ...CONFIG, timeout: 9 } }, BY);
  await assert.rejects(sync.apply({ kind: 'function', name: 'f' }));
  assert.equal(catalog.get('f'), before, 'serving what it had');
  assert.equal(sync.status().synced, false);
  await sleep(100);
  assert.equal(sync.status().synced, false);
  assert.ok(sync.status().failing >= 2, 'reloads are retried');

  setDown(false);
  await sleep(150);
  assert.equal(sync.status().synced, true);
  assert.equal(catalog.get('f')?.latest.config.timeout, 9);
  assert.ok(lines.some((l) => /could not refresh function f/.test(l)));
  assert.ok(lines.some((l) => /reloaded the routing table after \d+ failed attempts/.test(l)));
  await sync.close();
});

test('a committed change never fails its writer: a failed refresh falls back to a reload, a failed announcement is said', async () => {
  const { store, real, setDown } = flakyStore();
  const catalog = new Catalog(store);
  const feed = new (class extends ScriptedFeed {
    override publish(): Promise<void> {
      return Promise.reject(new Error('the feed is down'));
    }
  })();
  const lines: string[] = [];
  const sync = new CatalogSync(catalog, feed, {
    resyncMs: 60_000,
    retry: { firstMs: 20, maxMs: 40 },
    log: (l) => lines.push(l),
  });
  await sync.start();

  await real.createFunction('f', CONFIG, CODE, BY);
  setDown(true);
  await sync.committed({ kind: 'function', name: 'f' });
  assert.equal(catalog.get('f'), undefined, 'not refreshed while the store is down');
  assert.ok(lines.some((l) => /could not announce the change of function f \(the feed is down\)/.test(l)));
  assert.ok(lines.some((l) => /could not refresh function f/.test(l)));

  setDown(false);
  // The reload it asked for makes the change good; the bound only limits how long a failure takes to show.
  for (let i = 0; !catalog.get('f'); i++) {
    assert.ok(i < 500, 'the reload brought the committed change in');
    await sleep(10);
  }
  await sync.close();
});
