import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import parsePrometheus, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { BOUNDS_MS } from '../core/histogram.js';
import type { InvocationRecord } from '../core/telemetry.js';
import { renderPrometheus } from './prometheus.js';
import { MetricsRegistry } from './registry.js';

const HISTOGRAM = 'sluice_invocation_duration_seconds';
const COUNTERS = {
  sluice_invocations_total: 'invocations',
  sluice_function_errors_total: 'functionErrors',
  sluice_platform_errors_total: 'platformErrors',
  sluice_throttles_total: 'throttles',
  sluice_cold_starts_total: 'coldStarts',
} as const;

interface HistogramSeries {
  labels: Record<string, string>;
  /** `[le, cumulative count]` in the order written. */
  buckets: [string, number][];
  sum: number;
  count: number;
}

/**
 * Each series of the duration histogram, read with the parser. The parser keeps a histogram family's buckets
 * only when it has no labels besides `le` (it merges every series into one and drops `_sum` and `_count`), so
 * the `# TYPE … histogram` line is left out and `_bucket`, `_sum` and `_count` are read as plain samples.
 */
function histogramSeries(text: string): Map<string, HistogramSeries> {
  const families = parsePrometheus(text.replace(`# TYPE ${HISTOGRAM} histogram\n`, ''));
  // Untyped, each series' lines make families of their own: `_bucket`, `_sum`, `_count`, `_bucket`, …
  const samples = (suffix: string) =>
    families.filter((f) => f.name === `${HISTOGRAM}_${suffix}`).flatMap((f) => f.metrics);
  const out = new Map<string, HistogramSeries>();
  const key = (labels: Record<string, string>) =>
    JSON.stringify([labels.function, labels.version, labels.qualifier]);
  for (const sample of samples('bucket')) {
    const { le, ...labels } = sample.labels ?? {};
    assert.ok(le !== undefined, 'every bucket has le');
    let series = out.get(key(labels));
    if (!series) {
      series = { labels, buckets: [], sum: Number.NaN, count: Number.NaN };
      out.set(key(labels), series);
    }
    series.buckets.push([le, Number(sample.value)]);
  }
  for (const [suffix, field] of [
    ['sum', 'sum'],
    ['count', 'count'],
  ] as const) {
    for (const sample of samples(suffix)) {
      const series = out.get(key(sample.labels ?? {}));
      assert.ok(series, `${suffix} of a series without buckets: ${JSON.stringify(sample.labels)}`);
      series[field] = Number(sample.value);
    }
  }
  return out;
}

function family(families: readonly PrometheusFamily[], name: string): PrometheusFamily {
  const found = families.find((f) => f.name === name);
  assert.ok(found, `family ${name} is in the output`);
  return found;
}

let sequence = 0;
function invocation(overrides: Partial<InvocationRecord>): InvocationRecord {
  return {
    functionName: 'f',
    versionId: '1',
    qualifier: 'live',
    requestId: `r${sequence++}`,
    startedAt: Date.UTC(2024, 0, 1),
    durationMs: 12,
    outcome: 'success',
    errorCode: undefined,
    initDurationMs: undefined,
    ...overrides,
    endedAt:
      overrides.endedAt ?? (overrides.startedAt ?? Date.UTC(2024, 0, 1)) + (overrides.durationMs ?? 12),
  };
}

/** A registry with a few series, one of them named with every character the format must escape. */
function sampleRegistry(): MetricsRegistry {
  const registry = new MetricsRegistry('n');
  const durations = [0.05, 0.1, 0.3, 2, 2, 15, 250, 1200, 9_000, 2e6];
  durations.forEach((durationMs, i) => {
    registry.record(invocation({ durationMs, initDurationMs: i === 0 ? 50 : undefined }));
  });

  registry.record(
    invocation({ versionId: '2', outcome: 'functionError', errorCode: 'UnhandledInvocationError' }),
  );
  registry.record(invocation({ versionId: '2', outcome: 'platformError', errorCode: 'FunctionTimeout' }));
  registry.record(invocation({ versionId: '2', outcome: 'throttled', errorCode: 'TooManyRequests' }));
  registry.record(invocation({ versionId: '2', durationMs: 3 }));
  registry.record(
    invocation({ functionName: 'we"ird\\name\nnext line', versionId: 'LATEST', qualifier: 'a,b=c} "x"\\' }),
  );
  return registry;
}

describe('renderPrometheus', () => {
  const registry = sampleRegistry();
  const instances = [
    { functionName: 'f', versionId: '1', instances: 3, busy: 1, provisioned: 2, waiting: 0 },
    { functionName: 'f', versionId: '2', instances: 1, busy: 1, provisioned: 0, waiting: 4 },
  ];
  const standbys = [
    { runtime: 'python3', network: 'host', ready: 1, starting: 0 },
    { runtime: 'csharp', network: 'none', ready: 0, starting: 2 },
  ];
  const text = renderPrometheus(registry.series(), instances, standbys);
  const families = parsePrometheus(text);

  it('parses as the text format, each family typed and described', () => {
    assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]));
    assert.deepEqual(types, {
      ...Object.fromEntries(Object.keys(COUNTERS).map((name) => [name, 'COUNTER'])),
      [HISTOGRAM]: 'HISTOGRAM',
      sluice_instances: 'GAUGE',
      sluice_provisioned_instances: 'GAUGE',
      sluice_invocations_waiting: 'GAUGE',
      sluice_invocations_by_instance_total: 'COUNTER',
      sluice_cold_starts_by_instance_total: 'COUNTER',
      sluice_standby_instances: 'GAUGE',
      sluice_store_operations_total: 'COUNTER',
    });
    for (const f of families) assert.ok(f.help.length > 0, `${f.name} has help`);
  });

  it('has one sample per series in each counter, labelled function, version, qualifier, escapes undone', () => {
    const series = registry.series();
    assert.equal(series.length, 3);
    for (const [name, field] of Object.entries(COUNTERS)) {
      const samples = family(families, name).metrics;
      assert.equal(samples.length, series.length, name);
      for (const s of series) {
        const sample = samples.find(
          (m) =>
            m.labels?.function === s.functionName &&
            m.labels.version === s.versionId &&
            m.labels.qualifier === s.qualifier,
        );
        assert.ok(
          sample,
          `${name} has the series ${JSON.stringify([s.functionName, s.versionId, s.qualifier])}`,
        );
        assert.deepEqual(Object.keys(sample.labels ?? {}).sort(), [
          'function',
          'qualifier',
          'source',
          'version',
        ]);
        assert.equal(Number(sample.value), s.counters[field], `${name} of ${s.functionName}/${s.versionId}`);
      }
    }
    const weird = family(families, 'sluice_invocations_total').metrics.find(
      (m) => m.labels?.version === 'LATEST',
    );
    assert.deepEqual(weird?.labels, {
      function: 'we"ird\\name\nnext line',
      version: 'LATEST',
      qualifier: 'a,b=c} "x"\\',
      source: 'sync',
    });
    assert.ok(!text.includes('name\nnext'), 'a newline in a label is written as \\n');
  });

  it('writes each duration histogram with cumulative buckets, +Inf equal to the count, and the sum', () => {
    const histograms = histogramSeries(text);
    assert.equal(histograms.size, 3);
    for (const s of registry.series()) {
      const h = histograms.get(JSON.stringify([s.functionName, s.versionId, s.qualifier]));
      assert.ok(h, `histogram of ${s.functionName}/${s.versionId}`);
      assert.equal(h.buckets.length, BOUNDS_MS.length + 1, 'one bucket per bound and +Inf');
      let cumulative = 0;
      let lastLe = 0;
      h.buckets.forEach(([le, value], i) => {
        if (i === BOUNDS_MS.length) {
          assert.equal(le, '+Inf', 'the last bucket is +Inf');
          return;
        }
        assert.ok(Number(le) > lastLe, `le ${le} increases`);
        lastLe = Number(le);
        assert.ok(
          Math.abs(Number(le) - (BOUNDS_MS[i] as number) / 1000) < 1e-12,
          `le ${le} is the bound in seconds`,
        );
        cumulative += s.counters.histogram[i] ?? 0;
        assert.equal(value, cumulative, `bucket le=${le} counts everything up to it`);
      });
      const values = h.buckets.map(([, v]) => v);
      assert.deepEqual(
        values,
        [...values].sort((a, b) => a - b),
        'cumulative: never decreasing',
      );
      assert.equal(h.buckets.at(-1)?.[1], s.counters.invocations, '+Inf is every invocation');
      assert.equal(h.count, s.counters.invocations, '_count is every invocation');
      assert.ok(Math.abs(h.sum - s.counters.durationSumMs / 1000) < 1e-9, `_sum ${h.sum}`);
    }
    const f1 = histograms.get(JSON.stringify(['f', '1', 'live']));
    assert.equal(f1?.buckets.at(-2)?.[1], 9, 'the 2e6 ms invocation is beyond the last bound, only in +Inf');
    assert.equal(f1.buckets.at(-1)?.[1], 10);
  });

  it('reports warm and busy instances per version', () => {
    const samples = family(families, 'sluice_instances').metrics.map((m) => [
      m.labels?.version,
      m.labels?.state,
      Number(m.value),
    ]);
    assert.deepEqual(samples, [
      ['1', 'warm', 2],
      ['1', 'busy', 1],
      ['2', 'warm', 0],
      ['2', 'busy', 1],
    ]);
    const waiting = family(families, 'sluice_invocations_waiting').metrics.map((m) => [
      m.labels?.version,
      Number(m.value),
    ]);
    assert.deepEqual(waiting, [
      ['1', 0],
      ['2', 4],
    ]);
  });

  it('splits invocations and cold starts of each series into provisioned and on-demand', () => {
    const mixed = sampleRegistry();
    // Version 1 also ran on provisioned instances: twice warm, once waiting for one to start.
    mixed.record(invocation({ provisioned: true }));
    mixed.record(invocation({ provisioned: true }));
    mixed.record(invocation({ provisioned: true, initDurationMs: 30 }));
    const parsed = parsePrometheus(renderPrometheus(mixed.series(), instances));
    const split = (name: string) =>
      family(parsed, name)
        .metrics.filter((m) => m.labels?.function === 'f')
        .map((m) => [m.labels?.version, m.labels?.instance, Number(m.value)]);
    assert.deepEqual(split('sluice_invocations_by_instance_total'), [
      ['1', 'provisioned', 3],
      ['1', 'on-demand', 10],
      ['2', 'provisioned', 0],
      ['2', 'on-demand', 4],
    ]);
    assert.deepEqual(split('sluice_cold_starts_by_instance_total'), [
      ['1', 'provisioned', 1],
      ['1', 'on-demand', 1],
      ['2', 'provisioned', 0],
      ['2', 'on-demand', 0],
    ]);
    const provisioned = family(families, 'sluice_provisioned_instances').metrics.map((m) => [
      m.labels?.version,
      Number(m.value),
    ]);
    assert.deepEqual(provisioned, [
      ['1', 2],
      ['2', 0],
    ]);
  });

  it('counts standbys per runtime and network, ready and starting', () => {
    const counts = family(families, 'sluice_standby_instances').metrics.map((m) => [
      m.labels?.runtime,
      m.labels?.network,
      m.labels?.state,
      Number(m.value),
    ]);
    assert.deepEqual(counts, [
      ['python3', 'host', 'ready', 1],
      ['python3', 'host', 'starting', 0],
      ['csharp', 'none', 'ready', 0],
      ['csharp', 'none', 'starting', 2],
    ]);
  });

  it('counts the operations asked of the store, by name', () => {
    const parsed = parsePrometheus(
      renderPrometheus(
        [],
        [],
        [],
        new Map([
          ['writeMetrics', 3],
          ['claimAsync', 12],
        ]),
      ),
    );
    assert.deepEqual(
      family(parsed, 'sluice_store_operations_total').metrics.map((m) => [
        m.labels?.operation,
        Number(m.value),
      ]),
      [
        ['claimAsync', 12],
        ['writeMetrics', 3],
      ],
    );
  });

  it('parses with no series at all', () => {
    const empty = parsePrometheus(renderPrometheus([], []));
    assert.equal(empty.length, 13);
    assert.ok(empty.every((f) => f.metrics.length === 0));
  });
});
