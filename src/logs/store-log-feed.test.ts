import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { InvocationLog } from '../core/telemetry.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { StoreLogFeed } from './store-log-feed.js';
import { invocationLog } from '../../test/support/telemetry.js';

const log = (requestId: string, qualifier = 'live'): InvocationLog =>
  invocationLog({ qualifier, requestId, at: Date.now(), text: `line ${requestId}\n` });

const OPTIONS = { pollMs: 10, pageSize: 2 };

/**
 * Polls happen when the test says: the follower's timers are mocked, and the in-memory store answers at once,
 * so a poll is done when the promises it awaits have settled (by the next turn of the event loop).
 */
function pollsByHand(t: TestContext): {
  settle: () => Promise<void>;
  poll: (times?: number) => Promise<void>;
} {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const settle = () => new Promise<void>((resolve) => setImmediate(resolve));
  return {
    settle,
    poll: async (times = 1) => {
      for (let i = 0; i < times; i++) {
        t.mock.timers.tick(OPTIONS.pollMs);
        await settle();
      }
    },
  };
}

test('sends each new log once, in pages, from the newest at the start until the follower goes', async (t) => {
  const store = SqliteStore.open(':memory:');
  t.after(() => store.close());
  const { settle, poll } = pollsByHand(t);
  await store.appendLogs([log('old1'), log('old2')]);
  const got: string[] = [];
  const stop = new StoreLogFeed(store, OPTIONS).follow('f', { limit: 100 }, [], (l) =>
    got.push(l.requestId ?? ''),
  );
  await settle();
  await poll(2);
  assert.deepEqual(got, [], 'logs from before the follow began are not sent');
  await store.appendLogs([log('a'), log('b'), log('c')]);
  await store.appendLogs([log('d'), { ...log('other'), functionName: 'g' }, log('e')]);
  await poll();
  assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e'], 'more than a page in one poll, and only the function’s');
  await poll(2);
  assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e'], 'each once');
  stop();
  await store.appendLogs([log('late')]);
  await poll(3);
  assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e'], 'nothing after the follower went');
});

test('a follow after the logs shown sends what comes after the newest of them, filtered', async (t) => {
  const store = SqliteStore.open(':memory:');
  t.after(() => store.close());
  const { settle, poll } = pollsByHand(t);
  await store.appendLogs([log('r1'), log('r2', 'other'), log('r3')]);
  const shown = await store.queryLogs('f', { limit: 1, newestFirst: true, qualifier: 'live' });
  const got: string[] = [];
  const stop = new StoreLogFeed(store, OPTIONS).follow('f', { limit: 1, qualifier: 'live' }, shown, (l) =>
    got.push(l.requestId ?? ''),
  );
  await settle();
  await store.appendLogs([log('r4'), log('r5', 'other'), log('r6')]);
  await poll();
  stop();
  assert.deepEqual(got, ['r4', 'r6']);
});
