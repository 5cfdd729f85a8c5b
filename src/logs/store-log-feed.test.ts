import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InvocationLog, LogFilter } from '../core/telemetry.js';
import type { Store } from '../store/store.js';
import { StoreLogFeed } from './store-log-feed.js';

/** The committed rows of a shared store, in the order they became visible (not always the order of ids). */
function fakeStore(): { rows: InvocationLog[]; store: Store } {
  const rows: InvocationLog[] = [];
  const queryLogs = (name: string, filter: LogFilter & { newestFirst?: boolean }) => {
    const matching = rows
      .filter((r) => r.functionName === name)
      .filter((r) => filter.afterId === undefined || (r.id ?? 0) > filter.afterId)
      .filter((r) => filter.qualifier === undefined || r.qualifier === filter.qualifier)
      .sort((x, y) => ((x.id ?? 0) - (y.id ?? 0)) * (filter.newestFirst ? -1 : 1));
    return Promise.resolve(matching.slice(0, filter.limit));
  };
  return { rows, store: { queryLogs } as unknown as Store };
}

const row = (id: number, qualifier = 'live'): InvocationLog => ({
  id,
  functionName: 'f',
  versionId: '1',
  qualifier,
  requestId: `r${id}`,
  at: Date.now(),
  durationMs: 1,
  outcome: 'success',
  errorCode: undefined,
  text: `line ${id}\n`,
});

const OPTIONS = { pollMs: 10, settleMs: 150, pageSize: 2 };

test('each row once, in pages, including one that commits after a higher id', async () => {
  const { rows, store } = fakeStore();
  rows.push(row(1), row(2));
  const got: number[] = [];
  const stop = new StoreLogFeed(store, OPTIONS).follow('f', { limit: 100 }, [], (log) =>
    got.push(log.id ?? 0),
  );
  await sleep(50);
  assert.deepEqual(got, [], 'rows from before the follow began are not sent again');
  rows.push(row(3), row(5), row(6), row(7), row(8));
  await sleep(50);
  assert.deepEqual(got, [3, 5, 6, 7, 8]);
  rows.push(row(4)); // took its id before 5 … 8, committed after them
  await sleep(50);
  assert.deepEqual(got, [3, 5, 6, 7, 8, 4]);
  await sleep(300); // the watermark moves past them all
  rows.push(row(9));
  await sleep(50);
  stop();
  rows.push(row(10));
  await sleep(50);
  assert.deepEqual(got, [3, 5, 6, 7, 8, 4, 9], 'nothing twice, nothing after the follower went');
});

test('a follow after the rows shown: those shown are skipped, one between them that commits late is sent', async () => {
  const { rows, store } = fakeStore();
  rows.push(row(1), row(2, 'other'), row(3), row(5));
  const shown = [row(3), row(5)];
  const got: number[] = [];
  const stop = new StoreLogFeed(store, OPTIONS).follow('f', { limit: 2, qualifier: 'live' }, shown, (log) =>
    got.push(log.id ?? 0),
  );
  rows.push(row(4), row(6, 'other'), row(7));
  await sleep(80);
  stop();
  assert.deepEqual(
    got.sort((x, y) => x - y),
    [4, 7],
  );
});
