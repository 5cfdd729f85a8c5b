import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyHistogram, observe } from '../core/histogram.js';
import { emptyCounters, type MetricRow } from '../core/telemetry.js';
import { aggregate, summarize } from './aggregate.js';

const T = 1_700_000_040;

/** A 10 s row of version/qualifier at T + offset seconds, with `durations` observed. */
function row(
  offset: number,
  counts: Partial<
    Pick<MetricRow, 'invocations' | 'functionErrors' | 'platformErrors' | 'throttles' | 'coldStarts'>
  >,
  overrides: Partial<MetricRow> = {},
  durations: number[] = [],
): MetricRow {
  const histogram = emptyHistogram();
  durations.forEach((ms) => {
    observe(histogram, ms);
  });
  return {
    resolution: 10,
    functionName: 'f',
    versionId: '1',
    qualifier: 'live',
    bucketStart: T + offset,
    node: 'a',
    invocations: 0,
    functionErrors: 0,
    platformErrors: 0,
    throttles: 0,
    coldStarts: 0,
    durationSumMs: durations.reduce((a, b) => a + b, 0),
    histogram,
    ...counts,
    ...overrides,
  };
}

describe('aggregate', () => {
  it('adds up two nodes’ rows of the same series and bucket', () => {
    const rows = [
      row(0, { invocations: 3, functionErrors: 1, coldStarts: 1 }, { node: 'a' }, [10, 20, 30]),
      row(0, { invocations: 2, platformErrors: 1, throttles: 1 }, { node: 'b' }, [40, 50]),
    ];
    const { series, totals } = aggregate(rows, 'version', T, T + 10, 10);
    assert.equal(series.length, 1);
    const [v1] = series;
    assert.ok(v1);
    assert.equal(v1.key, '1');
    assert.equal(v1.points.length, 1);
    for (const summary of [v1.totals, v1.points[0], totals]) {
      assert.ok(summary);
      assert.equal(summary.invocations, 5);
      assert.equal(summary.functionErrors, 1);
      assert.equal(summary.platformErrors, 1);
      assert.equal(summary.throttles, 1);
      assert.equal(summary.coldStarts, 1);
      assert.equal(summary.averageMs, 30);
      assert.ok(summary.p50Ms !== null && summary.p50Ms > 20 && summary.p50Ms <= 40, `p50 ${summary.p50Ms}`);
    }
  });

  it('gives each version its share of the traffic and its own error rate', () => {
    const rows = [
      row(0, { invocations: 50 }, { versionId: '1' }),
      row(10, { invocations: 30 }, { versionId: '1', node: 'b' }),
      row(0, { invocations: 12, functionErrors: 3 }, { versionId: '2' }),
      row(10, { invocations: 8, functionErrors: 1, platformErrors: 1, throttles: 2 }, { versionId: '2' }),
    ];
    const { series, totals } = aggregate(rows, 'version', T, T + 20, 10);
    assert.deepEqual(
      series.map((s) => [s.key, s.share, s.totals.invocations, s.totals.errorRate]),
      [
        ['1', 0.8, 80, 0],
        ['2', 0.2, 20, 5 / 20],
      ],
    );
    assert.equal(totals.invocations, 100);
    assert.equal(totals.errorRate, 5 / 100, 'throttles are not errors');
    assert.equal(totals.throttles, 2);
    assert.equal(
      series.reduce((a, s) => a + s.share, 0),
      1,
    );
  });

  it('error rate and share are 0, and latencies null, without invocations', () => {
    const empty = summarize(emptyCounters());
    assert.deepEqual(empty, {
      invocations: 0,
      functionErrors: 0,
      platformErrors: 0,
      throttles: 0,
      coldStarts: 0,
      errorRate: 0,
      averageMs: null,
      p50Ms: null,
      p90Ms: null,
      p99Ms: null,
    });
    const { series, totals } = aggregate([row(0, {})], 'version', T, T + 10, 10);
    assert.equal(series[0]?.share, 0);
    assert.equal(totals.errorRate, 0);
    assert.deepEqual(aggregate([], 'version', T, T + 60, 10), { series: [], totals: empty });
  });

  it('has a point for every step of the range, empty ones included, in order and at step starts', () => {
    const rows = [row(10, { invocations: 1 }), row(40, { invocations: 2 })];
    const { series } = aggregate(rows, 'version', T, T + 60, 10);
    const points = series[0]?.points ?? [];
    assert.deepEqual(
      points.map((p) => [p.t, p.invocations]),
      [0, 10, 20, 30, 40, 50].map((s) => [
        new Date((T + s) * 1000).toISOString(),
        s === 10 ? 1 : s === 40 ? 2 : 0,
      ]),
    );
    assert.ok(points.filter((p) => p.invocations === 0).every((p) => p.p50Ms === null && p.errorRate === 0));
  });

  it('aligns the first point to the step and sums the rows of a wider step', () => {
    const rows = [0, 10, 20, 30, 40, 50, 60].map((s) => row(s, { invocations: 1 }));
    // From T+25 with 30 s steps: the points start at T+0 (aligned down) and T+30, T+60.
    const { series, totals } = aggregate(rows, 'version', T + 25, T + 65, 30);
    assert.deepEqual(
      series[0]?.points.map((p) => [p.t, p.invocations]),
      [
        [new Date(T * 1000).toISOString(), 3],
        [new Date((T + 30) * 1000).toISOString(), 3],
        [new Date((T + 60) * 1000).toISOString(), 1],
      ],
    );
    assert.equal(totals.invocations, 7);
  });

  it('leaves out rows outside the range from the points and the totals', () => {
    const rows = [row(-10, { invocations: 5 }), row(0, { invocations: 1 }), row(20, { invocations: 7 })];
    const { series, totals } = aggregate(rows, 'version', T, T + 20, 10);
    assert.equal(totals.invocations, 1);
    assert.equal(series[0]?.totals.invocations, 1);
    assert.deepEqual(
      series[0].points.map((p) => p.invocations),
      [1, 0],
    );
  });

  it('groups by qualifier when asked, adding up the versions behind each', () => {
    const rows = [
      row(0, { invocations: 8 }, { versionId: '1', qualifier: 'live' }),
      row(0, { invocations: 2, functionErrors: 1 }, { versionId: '2', qualifier: 'live' }),
      row(0, { invocations: 5 }, { versionId: '2', qualifier: '2' }),
      row(0, { invocations: 5 }, { versionId: 'LATEST', qualifier: 'LATEST' }),
    ];
    const byQualifier = aggregate(rows, 'qualifier', T, T + 10, 10);
    assert.deepEqual(
      byQualifier.series.map((s) => [s.key, s.totals.invocations, s.share, s.totals.errorRate]),
      [
        ['2', 5, 0.25, 0],
        ['LATEST', 5, 0.25, 0],
        ['live', 10, 0.5, 0.1],
      ],
    );
    const byVersion = aggregate(rows, 'version', T, T + 10, 10);
    assert.deepEqual(
      byVersion.series.map((s) => [s.key, s.totals.invocations]),
      [
        ['1', 8],
        ['2', 7],
        ['LATEST', 5],
      ],
    );
    assert.deepEqual(byQualifier.totals, byVersion.totals, 'the totals do not depend on the grouping');
  });

  it('orders versions numerically', () => {
    const rows = ['10', '2', '1', 'LATEST'].map((versionId) => row(0, { invocations: 1 }, { versionId }));
    assert.deepEqual(
      aggregate(rows, 'version', T, T + 10, 10).series.map((s) => s.key),
      ['1', '2', '10', 'LATEST'],
    );
  });

  it('reads percentiles from the added histograms of every node', () => {
    const fast = Array.from({ length: 90 }, () => 2);
    const slow = Array.from({ length: 10 }, () => 900);
    const rows = [
      row(0, { invocations: 90 }, { node: 'a' }, fast),
      row(0, { invocations: 10 }, { node: 'b' }, slow),
    ];
    const { totals } = aggregate(rows, 'version', T, T + 10, 10);
    assert.ok(totals.p50Ms !== null && totals.p50Ms > 1.5 && totals.p50Ms <= 2.5, `p50 ${totals.p50Ms}`);
    assert.ok(totals.p99Ms !== null && totals.p99Ms > 700 && totals.p99Ms <= 1125, `p99 ${totals.p99Ms}`);
    assert.equal(totals.averageMs, (90 * 2 + 10 * 900) / 100);
  });
});
