import { addInto, emptyHistogram, type Histogram } from './histogram.js';

export type Outcome = 'success' | 'functionError' | 'platformError' | 'throttled';

/** What the gateway reports of every invocation it answers. */
export interface InvocationRecord {
  functionName: string;
  versionId: string;
  qualifier: string;
  requestId: string;
  startedAt: number;
  /** When the invocation was recorded (epoch ms): what its metrics are bucketed by. */
  endedAt: number;
  /** To the microsecond (see `toMicros`), as everything that shows it (REPORT, logs) shows the same. */
  durationMs: number;
  outcome: Outcome;
  errorCode: string | undefined;
  /** How long its instance took to start, when the invocation started one (a cold start). */
  initDurationMs: number | undefined;
  /** It ran on a provisioned instance (an on-demand one, or none, otherwise). */
  provisioned?: boolean;
  /** What queued it, for an invocation no caller waited for: `async`, `timer:<trigger>`, `queue:<trigger>`. */
  source?: string;
}

/** What started an invocation, as metrics label it: a caller who waited, or what queued it. */
export type SourceKind = 'sync' | 'async' | 'timer' | 'queue';

/**
 * The kind of a record's `source`: a few values, whatever the triggers' names, so that the series stay bounded.
 * A destination's event is an asynchronous invocation like any other.
 */
export function sourceKind(source: string | undefined): SourceKind {
  if (source === undefined) return 'sync';
  if (source.startsWith('timer:')) return 'timer';
  if (source.startsWith('queue:')) return 'queue';
  return 'async';
}

export interface Counters {
  invocations: number;
  functionErrors: number;
  platformErrors: number;
  throttles: number;
  coldStarts: number;
  durationSumMs: number;
  histogram: Histogram;
}

export function emptyCounters(): Counters {
  return {
    invocations: 0,
    functionErrors: 0,
    platformErrors: 0,
    throttles: 0,
    coldStarts: 0,
    durationSumMs: 0,
    histogram: emptyHistogram(),
  };
}

/** Adds `counters` into `into`: the counts of two series, or of two buckets of one, as one. */
export function addCounters(into: Counters, counters: Counters): void {
  into.invocations += counters.invocations;
  into.functionErrors += counters.functionErrors;
  into.platformErrors += counters.platformErrors;
  into.throttles += counters.throttles;
  into.coldStarts += counters.coldStarts;
  into.durationSumMs += counters.durationSumMs;
  addInto(into.histogram, counters.histogram);
}

/** One series' counts over one bucket of time, from one node: the unit the store keeps. */
export interface MetricRow extends Counters {
  resolution: 10 | 60;
  functionName: string;
  versionId: string;
  qualifier: string;
  /** Epoch seconds at which the bucket starts. */
  bucketStart: number;
  node: string;
}

/**
 * One invocation's log as kept: who ran, how it ended, and what it and the platform wrote before the REPORT
 * line, which is kept as its numbers (see `logText`). Output of an instance outside any invocation has the
 * outcome `instance`, and no request id, duration nor REPORT.
 */
export interface InvocationLog {
  id?: number;
  functionName: string;
  versionId: string;
  qualifier: string | undefined;
  requestId: string | undefined;
  at: number;
  durationMs: number | undefined;
  initDurationMs: number | undefined;
  outcome: Outcome | 'instance';
  errorCode: string | undefined;
  text: string;
  /** What queued the invocation (see InvocationRecord); absent for a call that waited for its answer. */
  source?: string;
}

export interface LogFilter {
  qualifier?: string;
  versionId?: string;
  requestId?: string;
  since?: number;
  until?: number;
  text?: string;
  /** Only records with an id above this one: how a follower resumes. */
  afterId?: number;
  limit: number;
}

const PLATFORM_ERRORS = new Set([
  'FunctionTimeout',
  'MemoryLimitExceeded',
  'InstanceCrashed',
  'ServiceUnavailable',
  'InternalError',
]);

/** How an invocation ended, from its error code: the function's fault, the platform's, or a throttle. */
export function outcomeOf(errorCode: string | undefined): Outcome {
  if (errorCode === undefined) return 'success';
  if (errorCode === 'TooManyRequests') return 'throttled';
  return PLATFORM_ERRORS.has(errorCode) ? 'platformError' : 'functionError';
}

/** A duration rounded to the microsecond: the precision Sluice keeps and shows. */
export function toMicros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** The platform's last line of every invocation's log, as Lambda and Function Compute print it. */
export function reportLine(
  requestId: string,
  versionId: string,
  durationMs: number,
  initDurationMs: number | undefined,
): string {
  const init = initDurationMs === undefined ? '' : ` Init Duration: ${initDurationMs.toFixed(2)} ms`;
  return `REPORT RequestId: ${requestId} Version: ${versionId} Duration: ${durationMs.toFixed(2)} ms${init}\n`;
}

/** A log's whole text, as it is shown and searched: what was written, then the REPORT line of an invocation. */
export function logText(log: InvocationLog): string {
  if (log.outcome === 'instance' || log.requestId === undefined || log.durationMs === undefined)
    return log.text;
  return log.text + reportLine(log.requestId, log.versionId, log.durationMs, log.initDurationMs);
}
