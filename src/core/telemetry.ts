import type { Histogram } from './histogram.js';

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
  durationMs: number;
  outcome: Outcome;
  errorCode: string | undefined;
  coldStart: boolean;
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

/** One invocation's log as kept: who ran, how it ended, and what it wrote. */
export interface InvocationLog {
  id?: number;
  functionName: string;
  versionId: string;
  qualifier: string | undefined;
  requestId: string | undefined;
  at: number;
  durationMs: number | undefined;
  outcome: Outcome | 'instance';
  errorCode: string | undefined;
  text: string;
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
