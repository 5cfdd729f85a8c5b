import { type Static, Type } from '@sinclair/typebox';
import { Enum, Nullable, Strict, Timestamp } from './common.js';

const summaryFields = {
  invocations: Type.Integer(),
  functionErrors: Type.Integer(),
  platformErrors: Type.Integer(),
  throttles: Type.Integer(),
  coldStarts: Type.Integer(),
  errorRate: Type.Number(),
  averageMs: Nullable(Type.Number()),
  p50Ms: Nullable(Type.Number()),
  p90Ms: Nullable(Type.Number()),
  p99Ms: Nullable(Type.Number()),
};

export const Summary = Strict(summaryFields);
export type Summary = Static<typeof Summary>;

const Series = Strict({
  /** One of the two, as `by` asks. */
  version: Type.Optional(Type.String()),
  qualifier: Type.Optional(Type.String()),
  share: Type.Number(),
  totals: Summary,
  points: Type.Array(Strict({ t: Timestamp, ...summaryFields })),
});
export type MetricsSeries = Static<typeof Series>;

export const MetricsView = Strict({
  functionName: Type.String(),
  from: Timestamp,
  until: Timestamp,
  step: Type.Integer({ description: 'seconds' }),
  by: Enum(['version', 'qualifier'] as const),
  totals: Summary,
  series: Type.Array(Series),
});
export type MetricsView = Static<typeof MetricsView>;

export const LogView = Strict({
  id: Nullable(Type.Integer()),
  at: Timestamp,
  functionName: Type.String(),
  qualifier: Nullable(Type.String()),
  versionId: Type.String(),
  requestId: Nullable(Type.String()),
  durationMs: Nullable(Type.Number()),
  initDurationMs: Nullable(Type.Number()),
  outcome: Enum(['success', 'functionError', 'platformError', 'throttled', 'instance'] as const, {
    description: 'instance: a line an instance logged outside any invocation',
  }),
  errorCode: Nullable(Type.String()),
  text: Type.String(),
  source: Type.Optional(
    Type.String({
      description:
        'what queued the invocation: async, timer:<trigger>, queue:<trigger>; absent for a call that waited',
    }),
  ),
});
export type LogView = Static<typeof LogView>;

export const LogList = Strict({ logs: Type.Array(LogView), lastId: Nullable(Type.Integer()) });
export type LogList = Static<typeof LogList>;
