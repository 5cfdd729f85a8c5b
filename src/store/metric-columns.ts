import { fromSparse, toSparse } from '../core/histogram.js';
import type { MetricRow } from '../core/telemetry.js';
import { fromJson, type JsonColumn } from './rows.js';

/** The metrics table's columns, in the order of `metricValues`. */
export const METRIC_COLUMNS = `resolution, function_name, bucket_start, version_id, qualifier, node, invocations,
  function_errors, platform_errors, throttles, cold_starts, duration_sum_ms, histogram`;

/** A metric row's values in the order of METRIC_COLUMNS; the histogram as sparse JSON. */
export function metricValues(r: MetricRow): (string | number)[] {
  return [
    r.resolution,
    r.functionName,
    r.bucketStart,
    r.versionId,
    r.qualifier,
    r.node,
    r.invocations,
    r.functionErrors,
    r.platformErrors,
    r.throttles,
    r.coldStarts,
    r.durationSumMs,
    JSON.stringify(toSparse(r.histogram)),
  ];
}

/** A row of the metrics table as a store reads it: the histogram's JSON as text (SQLite) or parsed (PostgreSQL). */
export interface MetricDbRow {
  resolution: 10 | 60;
  function_name: string;
  bucket_start: number;
  version_id: string;
  qualifier: string;
  node: string;
  invocations: number;
  function_errors: number;
  platform_errors: number;
  throttles: number;
  cold_starts: number;
  duration_sum_ms: number;
  histogram: JsonColumn<Record<string, number>>;
}

export function toMetricRow(r: MetricDbRow): MetricRow {
  return {
    resolution: r.resolution,
    functionName: r.function_name,
    bucketStart: r.bucket_start,
    versionId: r.version_id,
    qualifier: r.qualifier,
    node: r.node,
    invocations: r.invocations,
    functionErrors: r.function_errors,
    platformErrors: r.platform_errors,
    throttles: r.throttles,
    coldStarts: r.cold_starts,
    durationSumMs: r.duration_sum_ms,
    histogram: fromSparse(fromJson(r.histogram)),
  };
}
