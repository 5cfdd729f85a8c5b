import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChangeFeed, ChangeFeedHandlers, ChangeFeedStatus, StoreChange } from '../store/changes.js';
import { config } from '../../test/support/config.js';
import { waitFor } from '../../test/support/wait-for.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { Catalog } from './catalog.js';
import { CatalogSync } from './sync.js';

/** A clock that moves only when the test moves it. */
function fakeClock(): { now: () => number; advance: (ms: number) => void } {
  let at = 1_000_000;
  return {
    now: () => at,
    advance: (ms) => {
      at += ms;
    },
  };
}

/** A feed the test drives: it delivers what it is told, and connects and disconnects on demand. */
class ScriptedFeed implements ChangeFeed {
  readonly mayMiss = true;
  handlers: ChangeFeedHandlers | undefined;
  connectedAt: number | undefined;

  constructor(now: number) {
    this.connectedAt = now;
  }

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
  onQueued(): void {
    // No queue here.
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const CONFIG = config();
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

/** A started sync that retries a failed reload after 20 ms, then 40; what it logs is in `lines`. */
async function startRetrying(catalog: Catalog, feed: ChangeFeed) {
  const lines: string[] = [];
  const sync = new CatalogSync(catalog, feed, {
    resyncMs: 60_000,
    retry: { firstMs: 20, maxMs: 40 },
    log: (l) => lines.push(l),
  });
  await sync.start();
  return { sync, lines };
}

test('changes from the feed are applied; a missed one is made good by the reload after a reconnect', async () => {
  const { store, real } = flakyStore();
  const catalog = new Catalog(store);
  const clock = fakeClock();
  const feed = new ScriptedFeed(clock.now());
  const lines: string[] = [];
  const sync = new CatalogSync(catalog, feed, {
    resyncMs: 60_000,
    log: (l) => lines.push(l),
    now: clock.now,
  });
  await sync.start();
  assert.equal(sync.status().synced, true);

  await real.createFunction('f', CONFIG, CODE, BY);
  feed.handlers?.change({ kind: 'function', name: 'f' });
  await waitFor(() => catalog.get('f'), { timeout: 5000, what: 'the change from the feed to be applied' });

  // Disconnected: a change goes unheard, and the node is not in sync.
  feed.connectedAt = undefined;
  await real.createFunction('g', CONFIG, CODE, BY);
  await real.deleteFunction('f');
  assert.equal(sync.status().synced, false);
  clock.advance(1);
  feed.connectedAt = clock.now();
  assert.equal(sync.status().synced, false, 'connected again, but not reloaded since');
  feed.handlers?.missed();
  await waitFor(() => sync.status().synced, { timeout: 5000, what: 'the reload after the reconnect' });
  assert.ok(catalog.get('g'), 'created meanwhile: found by the reload');
  assert.equal(catalog.get('f'), undefined, 'deleted meanwhile: dropped by the reload');
  await sync.close();
});

test('a table not reloaded for three resync intervals is out of sync, however connected the feed', async () => {
  const { store } = flakyStore();
  const clock = fakeClock();
  const sync = new CatalogSync(new Catalog(store), new ScriptedFeed(clock.now()), {
    resyncMs: 60_000,
    log: () => undefined,
    now: clock.now,
  });
  await sync.start();
  clock.advance(3 * 60_000);
  assert.equal(sync.status().synced, true, 'three intervals old: still in sync');
  clock.advance(1);
  assert.equal(sync.status().synced, false, 'older than three intervals');
  await sync.close();
});

test('a refresh that fails keeps the old snapshot and is retried by reloads until one succeeds', async () => {
  const { store, real, setDown } = flakyStore();
  await real.createFunction('f', CONFIG, CODE, BY);
  const catalog = new Catalog(store);
  const feed = new ScriptedFeed(Date.now());
  const { sync, lines } = await startRetrying(catalog, feed);
  const before = catalog.get('f');
  assert.ok(before);

  setDown(true);
  await real.updateFunction('f', { config: { ...CONFIG, timeout: 9 } }, BY);
  await assert.rejects(sync.apply({ kind: 'function', name: 'f' }));
  assert.equal(catalog.get('f'), before, 'serving what it had');
  assert.equal(sync.status().synced, false);
  await waitFor(() => sync.status().failing >= 2, { timeout: 5000, what: 'the failed reload to be retried' });
  assert.equal(sync.status().synced, false);

  setDown(false);
  await waitFor(() => sync.status().synced, { timeout: 5000, what: 'a retried reload to succeed' });
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
  })(Date.now());
  const { sync, lines } = await startRetrying(catalog, feed);

  await real.createFunction('f', CONFIG, CODE, BY);
  setDown(true);
  await sync.committed({ kind: 'function', name: 'f' });
  assert.equal(catalog.get('f'), undefined, 'not refreshed while the store is down');
  assert.ok(lines.some((l) => /could not announce the change of function f \(the feed is down\)/.test(l)));
  assert.ok(lines.some((l) => /could not refresh function f/.test(l)));

  setDown(false);
  await waitFor(() => catalog.get('f') !== undefined, {
    timeout: 5000,
    what: 'the reload it asked for to bring the committed change in',
  });
  await sync.close();
});
