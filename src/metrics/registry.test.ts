import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bucketIndex } from '../core/histogram.js';
import type { InvocationRecord, MetricRow, Outcome } from '../core/telemetry.js';
import { MetricsRegistry } from './registry.js';

/** Epoch seconds on a whole minute, so that 10 s and 60 s buckets start together. */
const T = 1_700_000_040;
assert.equal(T % 60, 0);

let sequence = 0;
function record(overrides: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    functionName: 'f',
    versionId: '1',
    qualifier: 'live',
    requestId: `r${sequence++}`,
    startedAt: T * 1000 + 1000,
    durationMs: 5,
    outcome: 'success',
    errorCode: undefined,
    initDurationMs: undefined,
    ...overrides,
    endedAt: overrides.endedAt ?? (overrides.startedAt ?? T * 1000 + 1000) + (overrides.durationMs ?? 5),
  };
}

const outcome = (o: Outcome, code?: string) => ({ outcome: o, errorCode: code });

/** The rows of one resolution, by bucket start, for readable assertions. */
function rowsAt(rows: readonly MetricRow[], resolution: 10 | 60): MetricRow[] {
  return rows.filter((r) => r.resolution === resolution).sort((a, b) => a.bucketStart - b.bucketStart);
}

describe('MetricsRegistry', () => {
  it('splits the totals by source kind, and sums the sources in the stored buckets', () => {
    const registry = new MetricsRegistry('node-a');
    const sources = [undefined, 'async', 'timer:tick', 'timer:tock', 'queue:orders', 'destination:r1'];
    for (const source of sources) registry.record(record(source === undefined ? {} : { source }));
    const bySource = Object.fromEntries(registry.series().map((s) => [s.source, s.counters.invocations]));
    assert.deepEqual(bySource, { sync: 1, async: 2, timer: 2, queue: 1 });
    const rows = registry.take(T * 1000 + 120_000);
    assert.deepEqual(
      rows.map((r) => [r.resolution, r.invocations]),
      [
        [10, sources.length],
        [60, sources.length],
      ],
    );
  });

  it('counts every outcome, cold starts and durations per function × version × qualifier', () => {
    const registry = new MetricsRegistry('node-a');
    registry.record(record({ durationMs: 2, initDurationMs: 40 }));
    registry.record(record({ durationMs: 3 }));
    registry.record(record({ durationMs: 40, ...outcome('functionError', 'UnhandledInvocationError') }));
    registry.record(record({ durationMs: 1000, ...outcome('platformError', 'FunctionTimeout') }));
    registry.record(record({ durationMs: 0.5, ...outcome('throttled', 'TooManyRequests') }));
    registry.record(record({ versionId: '2' }));
    registry.record(record({ qualifier: '1' }));
    registry.record(record({ functionName: 'g' }));

    const series = registry.series();
    assert.equal(series.length, 4, 'one series per function × version × qualifier');
    const main = series.find((s) => s.functionName === 'f' && s.versionId === '1' && s.qualifier === 'live');
    assert.ok(main);
    const { histogram, ...counters } = main.counters;
    assert.deepEqual(counters, {
      invocations: 5,
      functionErrors: 1,
      platformErrors: 1,
      throttles: 1,
      coldStarts: 1,
      durationSumMs: 1045.5,
    });
    assert.equal(
      histogram.reduce((a, b) => a + b, 0),
      5,
      'every invocation is in the histogram',
    );
    for (const ms of [2, 3, 40, 1000, 0.5]) assert.ok((histogram[bucketIndex(ms)] ?? 0) >= 1, `${ms} ms`);
    for (const s of series.filter((x) => x !== main)) assert.equal(s.counters.invocations, 1);

    // The same counts are in the open buckets, at both resolutions.
    const rows = registry.take(T * 1000 + 2000);
    for (const resolution of [10, 60] as const) {
      const row = rowsAt(rows, resolution).find(
        (r) => r.functionName === 'f' && r.versionId === '1' && r.qualifier === 'live',
      );
      assert.ok(row);
      assert.equal(row.node, 'node-a');
      assert.equal(row.bucketStart, T);
      assert.deepEqual(
        [row.invocations, row.functionErrors, row.platformErrors, row.throttles, row.coldStarts],
        [5, 1, 1, 1, 1],
      );
      assert.deepEqual(row.histogram, histogram);
    }
    assert.equal(rows.length, 8, 'four series at two resolutions');
  });

  it('buckets by the time an invocation ended, into 10 s and 60 s buckets', () => {
    const registry = new MetricsRegistry('n');
    // Starts in the bucket [T+50, T+60) and ends in [T+60, T+70): counted where it ended.
    registry.record(record({ startedAt: (T + 58) * 1000, durationMs: 2500 }));
    registry.record(record({ startedAt: (T + 9) * 1000 + 999, durationMs: 0.5 }));
    // Ends 0.5 ms before T+60: still in the earlier buckets.
    registry.record(record({ startedAt: (T + 59) * 1000 + 999, durationMs: 0.5 }));
    registry.record(record({ startedAt: (T + 119) * 1000, durationMs: 10 }));
    const rows = registry.take((T + 3600) * 1000);
    assert.deepEqual(
      rowsAt(rows, 10).map((r) => [r.bucketStart - T, r.invocations]),
      [
        [0, 1],
        [50, 1],
        [60, 1],
        [110, 1],
      ],
    );
    assert.deepEqual(
      rowsAt(rows, 60).map((r) => [r.bucketStart - T, r.invocations]),
      [
        [0, 2],
        [60, 2],
      ],
    );
  });

  it('take() hands over each bucket counted into since the last take, whole, and forgets closed ones', () => {
    const registry = new MetricsRegistry('n');
    registry.record(record({ startedAt: (T + 1) * 1000 }));
    registry.record(record({ startedAt: (T + 12) * 1000 }));
    registry.record(record({ startedAt: (T + 13) * 1000 }));

    // At T+15: the 10 s bucket [T, T+10) has closed; [T+10, T+20) and the minute are open.
    const first = registry.take((T + 15) * 1000);
    assert.deepEqual(
      rowsAt(first, 10).map((r) => [r.bucketStart - T, r.invocations]),
      [
        [0, 1],
        [10, 2],
      ],
    );
    assert.deepEqual(
      rowsAt(first, 60).map((r) => [r.bucketStart - T, r.invocations]),
      [[0, 3]],
    );

    registry.record(record({ startedAt: (T + 14) * 1000 }));
    const second = registry.take((T + 19) * 1000 + 999);
    assert.deepEqual(
      rowsAt(second, 10).map((r) => [r.bucketStart - T, r.invocations]),
      [[10, 3]],
      'the closed bucket is not handed over again; the open one is, whole',
    );
    assert.deepEqual(
      rowsAt(second, 60).map((r) => r.invocations),
      [4],
    );

    assert.deepEqual(registry.take((T + 19) * 1000 + 999), [], 'nothing counted since: nothing to write');

    // A bucket is closed from the second its end is reached: a count then opens the next one.
    registry.record(record({ startedAt: (T + 20) * 1000, durationMs: 0 }));
    assert.deepEqual(
      rowsAt(registry.take((T + 20) * 1000), 10).map((r) => [r.bucketStart - T, r.invocations]),
      [[20, 1]],
    );
    registry.record(record({ startedAt: (T + 59) * 1000, durationMs: 0 }));
    assert.deepEqual(
      rowsAt(registry.take((T + 60) * 1000), 60).map((r) => r.invocations),
      [6],
      'counted into until it closed, and handed over once more',
    );
    registry.record(record({ startedAt: (T + 60) * 1000, durationMs: 0 }));
    assert.deepEqual(
      rowsAt(registry.take((T + 60) * 1000), 60).map((r) => [r.bucketStart - T, r.invocations]),
      [[60, 1]],
      'a count after the close starts the next minute, not the closed one',
    );
    assert.deepEqual(registry.take((T + 120) * 1000), [], 'nothing is left once every bucket closed');
  });

  it('take() hands over copies: what the flusher does with them changes nothing kept', () => {
    const registry = new MetricsRegistry('n');
    registry.record(record({ startedAt: T * 1000 }));
    const [taken] = registry.take(T * 1000 + 1);
    assert.ok(taken);
    taken.invocations = 99;
    taken.histogram.fill(7);
    registry.record(record({ startedAt: T * 1000 }));
    const [again] = registry.take(T * 1000 + 1);
    assert.equal(again?.invocations, 2);
    assert.equal(
      again.histogram.reduce((a, b) => a + b, 0),
      2,
    );
  });

  it('restore() after a failed write loses nothing, and counts nothing twice', () => {
    const registry = new MetricsRegistry('n');
    registry.record(record({ startedAt: (T + 1) * 1000 }));
    registry.record(record({ startedAt: (T + 12) * 1000 }));
    const failed = registry.take((T + 15) * 1000);
    // While the write was failing, the open buckets kept counting.
    registry.record(record({ startedAt: (T + 16) * 1000 }));
    registry.restore(failed);
    const retried = registry.take((T + 15) * 1000);
    assert.deepEqual(
      rowsAt(retried, 10).map((r) => [r.bucketStart - T, r.invocations]),
      [
        [0, 1],
        [10, 2],
      ],
      'the closed bucket is back; the open one holds the old and the new counts, once',
    );
    assert.deepEqual(
      rowsAt(retried, 60).map((r) => r.invocations),
      [3],
    );
    // Once written, the closed bucket is gone for good, and the open one is not written again unchanged.
    assert.deepEqual(registry.take((T + 15) * 1000), []);
  });

  it('restore() of rows from several failed writes keeps each bucket once', () => {
    const registry = new MetricsRegistry('n');
    registry.record(record({ startedAt: (T + 1) * 1000 }));
    const a = registry.take((T + 30) * 1000);
    registry.restore(a);
    const b = registry.take((T + 30) * 1000);
    registry.restore(b);
    registry.restore(a);
    const rows = registry.take((T + 30) * 1000);
    assert.deepEqual(rows.map((r) => [r.resolution, r.invocations]).sort(), [
      [10, 1],
      [60, 1],
    ]);
  });

  it('forget() drops a function’s series, or only those of versions that are gone', () => {
    const registry = new MetricsRegistry('n');
    for (const versionId of ['LATEST', '1', '2', '3']) registry.record(record({ versionId }));
    registry.record(record({ functionName: 'g' }));
    registry.forget('f', (v) => v === 'LATEST' || v === '3');
    const keys = () =>
      registry
        .series()
        .map((s) => `${s.functionName}/${s.versionId}`)
        .sort();
    assert.deepEqual(keys(), ['f/3', 'f/LATEST', 'g/1']);
    registry.forget('f');
    assert.deepEqual(keys(), ['g/1']);
    registry.record(record({ versionId: '3' }));
    assert.equal(
      registry.series().find((s) => s.functionName === 'f')?.counters.invocations,
      1,
      'a forgotten series starts again from zero',
    );
  });
});

it('forget() also drops the open buckets of what it forgets, so a deleted function is not written again', () => {
  const registry = new MetricsRegistry('node-a');
  registry.record(record({ versionId: '1' }));
  registry.record(record({ versionId: '2' }));
  registry.forget('f', (v) => v === '2');
  const now = (T + 5) * 1000;
  assert.deepEqual([...new Set(registry.take(now).map((r) => r.versionId))], ['2']);
  registry.forget('f');
  assert.deepEqual(registry.take(now), []);
});
