import { type Static, Type } from '@sinclair/typebox';
import { STRATEGIES } from '../../core/rollout.js';
import { Enum, Nullable, Strict, Timestamp, VersionId } from './common.js';

const Fraction = Type.Number({
  exclusiveMinimum: 0,
  maximum: 1,
  description: 'a fraction of traffic above 0 up to 1 (0.1 = 10 %), in steps of 0.0001',
});

/**
 * A rollout request; the core expands its strategy into steps and checks what the schema cannot say: steps
 * that rise, the interval's duration, fractions in steps of 0.0001.
 */
export const StartRollout = Strict(
  {
    to: VersionId,
    strategy: Type.Optional(
      Enum(STRATEGIES, { description: 'canary (default), linear, or steps (default when steps is given)' }),
    ),
    weight: Type.Optional(Fraction),
    increment: Type.Optional(Fraction),
    steps: Type.Optional(Type.Array(Fraction, { minItems: 1, maxItems: 100 })),
    interval: Type.Optional(Type.String({ description: 'how long each step holds: 1s to 7d, such as 5m' })),
    maxErrorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    maxErrorRateRatio: Type.Optional(
      Type.Number({
        minimum: 1,
        description: 'the largest ratio of the target’s error rate to the primary’s',
      }),
    ),
    maxP99Ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 900_000 })),
    maxPlatformErrors: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    minInvocations: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
    preTraffic: Type.Optional(Strict({ payload: Type.Optional(Type.String({ maxLength: 65_536 })) })),
  },
  { title: 'rollout' },
);
export type StartRollout = Static<typeof StartRollout>;

const RolloutEvent = Strict({
  at: Timestamp,
  kind: Enum([
    'started',
    'step',
    'hold',
    'paused',
    'resumed',
    'promoted',
    'rolled-back',
    'aborted',
    'failed',
  ] as const),
  message: Type.String(),
  figures: Type.Optional(Type.Record(Type.String(), Nullable(Type.Number()))),
});

export const RolloutView = Strict({
  id: Type.String(),
  functionName: Type.String(),
  alias: Type.String(),
  from: Type.String(),
  to: Type.String(),
  status: Enum(['running', 'paused', 'succeeded', 'rolled-back', 'aborted', 'failed'] as const),
  /** 1-based; 0 until the pre-traffic check has passed. */
  step: Type.Integer({ minimum: 0 }),
  steps: Type.Array(Strict({ weight: Type.Number(), holdMs: Type.Number() })),
  currentWeight: Type.Number(),
  stepStartedAt: Nullable(Timestamp),
  guardrails: Strict({
    maxErrorRate: Type.Optional(Type.Number()),
    maxErrorRateRatio: Type.Optional(Type.Number()),
    maxP99Ms: Type.Optional(Type.Number()),
    maxPlatformErrors: Type.Optional(Type.Number()),
    minInvocations: Type.Integer(),
  }),
  preTraffic: Nullable(Strict({ payload: Type.String() })),
  reason: Nullable(Type.String()),
  events: Type.Array(RolloutEvent),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type RolloutView = Static<typeof RolloutView>;

export const RolloutList = Strict({ rollouts: Type.Array(RolloutView) });
