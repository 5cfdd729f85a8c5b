import { quantile } from '../core/histogram.js';
import { addCounters, type Counters, emptyCounters, type MetricRow } from '../core/telemetry.js';
import type { Summary } from '../contract/schemas/telemetry.js';

export interface SeriesView {
  key: string;
  /** This series' share of all the function's invocations in the range. */
  share: number;
  totals: Summary;
  points: ({ t: string } & Summary)[];
}

const round = (n: number | undefined) => (n === undefined ? null : Math.round(n * 1000) / 1000);

/** Counters as the API shows them; the error rate is (function errors + platform errors) / invocations, 0 without any. */
export function summarize(c: Counters): Summary {
  return {
    invocations: c.invocations,
    functionErrors: c.functionErrors,
    platformErrors: c.platformErrors,
    throttles: c.throttles,
    coldStarts: c.coldStarts,
    errorRate: c.invocations === 0 ? 0 : (c.functionErrors + c.platformErrors) / c.invocations,
    averageMs: c.invocations === 0 ? null : round(c.durationSumMs / c.invocations),
    p50Ms: round(quantile(c.histogram, 0.5)),
    p90Ms: round(quantile(c.histogram, 0.9)),
    p99Ms: round(quantile(c.histogram, 0.99)),
  };
}

/**
 * Adds up every node's rows into one series per version (or qualifier), a point per step from `from` to
 * `to` (epoch seconds, steps without invocations included), with totals and each series' share of traffic.
 */
export function aggregate(
  rows: readonly MetricRow[],
  by: 'version' | 'qualifier',
  from: number,
  to: number,
  step: number,
): { series: SeriesView[]; totals: Summary } {
  const first = from - (from % step);
  const steps = Math.max(0, Math.ceil((to - first) / step));
  const bySeries = new Map<string, Counters[]>();
  const overall = emptyCounters();
  for (const row of rows) {
    const key = by === 'version' ? row.versionId : row.qualifier;
    let points = bySeries.get(key);
    if (!points) {
      points = Array.from({ length: steps }, emptyCounters);
      bySeries.set(key, points);
    }
    const index = Math.floor((row.bucketStart - first) / step);
    const point = points[index];
    if (!point) continue;
    addCounters(point, row);
    addCounters(overall, row);
  }
  const series = [...bySeries].map(([key, points]) => {
    const total = emptyCounters();
    for (const p of points) addCounters(total, p);
    return {
      key,
      share: overall.invocations === 0 ? 0 : total.invocations / overall.invocations,
      totals: summarize(total),
      points: points.map((p, i) => ({
        t: new Date((first + i * step) * 1000).toISOString(),
        ...summarize(p),
      })),
    };
  });
  series.sort((a, b) => a.key.localeCompare(b.key, undefined, { numeric: true }));
  return { series, totals: summarize(overall) };
}
