import { parseDuration } from './duration.js';
import { SluiceError } from './errors.js';
import { Issues } from './validate.js';

/** One step of a rollout: the target's share of traffic, held for a while before the next. */
export interface RolloutStep {
  weight: number;
  holdMs: number;
}

export interface Guardrails {
  /** The target's largest acceptable error rate (function and platform errors / invocations), 0..1. */
  maxErrorRate: number | undefined;
  /** The largest acceptable ratio of the target's error rate to the primary's in the same window. */
  maxErrorRateRatio: number | undefined;
  maxP99Ms: number | undefined;
  maxPlatformErrors: number | undefined;
  /** No step passes, and no guardrail judges, before the target has served this many invocations in it. */
  minInvocations: number;
}

export interface RolloutSpec {
  target: number;
  steps: RolloutStep[];
  guardrails: Guardrails;
  /** A payload the target must answer without error before any traffic moves. */
  preTraffic: { payload: string } | undefined;
}

export type RolloutStatus = 'running' | 'paused' | 'succeeded' | 'rolled-back' | 'aborted' | 'failed';

export const ACTIVE: readonly RolloutStatus[] = ['running', 'paused'];

export interface RolloutEvent {
  at: string;
  kind:
    'started' | 'step' | 'hold' | 'paused' | 'resumed' | 'promoted' | 'rolled-back' | 'aborted' | 'failed';
  message: string;
  figures?: Record<string, number | null>;
}

export interface Rollout {
  id: string;
  functionName: string;
  alias: string;
  /** The alias's primary when the rollout started, where it returns on a rollback. */
  primary: number | '$LATEST';
  spec: RolloutSpec;
  status: RolloutStatus;
  /** -1 until the pre-traffic check has passed and the first step is set. */
  step: number;
  stepStartedAt: string | undefined;
  /** The alias revision the rollout last wrote: a different one means someone else changed the alias. */
  aliasRevision: number | undefined;
  reason: string | undefined;
  events: RolloutEvent[];
  createdAt: string;
  updatedAt: string;
}

export const STRATEGIES = ['canary', 'linear', 'steps'] as const;
/** A rollout request, its fields' types and ranges checked already (the API's schema). */
export interface RolloutRequest {
  to: string;
  strategy?: (typeof STRATEGIES)[number];
  weight?: number;
  increment?: number;
  steps?: number[];
  interval?: string;
  maxErrorRate?: number;
  maxErrorRateRatio?: number;
  maxP99Ms?: number;
  maxPlatformErrors?: number;
  minInvocations?: number;
  preTraffic?: { payload?: string };
}

/** A fraction in steps of 0.0001, rounded to its step. */
function fraction(value: number, path: string, issues: Issues): number | undefined {
  if (Math.abs(value * 10_000 - Math.round(value * 10_000)) > 1e-6) {
    issues.add(path, 'must have at most four decimal places');
    return undefined;
  }
  return Math.round(value * 10_000) / 10_000;
}

/**
 * A rollout from its request: the strategy (canary by default, steps when steps are given) expanded into
 * explicit steps that rise to 100 %, each held for the interval.
 */
export function parseRolloutRequest(input: RolloutRequest): RolloutSpec {
  const issues = new Issues();
  const strategy = input.strategy ?? (input.steps !== undefined ? 'steps' : 'canary');
  const holdMs = parseDuration(input.interval ?? '1m');
  if (holdMs === undefined || holdMs < 1000 || holdMs > 7 * 86_400_000) {
    issues.add('interval', 'must be a duration from 1s to 7d, such as 30s, 5m or 1h');
  }
  let weights: number[] = [];
  if (strategy === 'canary') {
    const w = fraction(input.weight ?? 0.1, 'weight', issues);
    if (w !== undefined) weights = w === 1 ? [1] : [w, 1];
  } else if (strategy === 'linear') {
    const inc = fraction(input.increment ?? 0.1, 'increment', issues);
    if (inc !== undefined) {
      for (let w = inc; w < 1 - 1e-9; w += inc) weights.push(Math.round(w * 10_000) / 10_000);
      weights.push(1);
      if (weights.length > 100) issues.add('increment', 'makes more than 100 steps');
    }
  } else if (input.steps === undefined) {
    issues.add('steps', 'is required by the steps strategy: fractions such as [0.05, 0.25, 0.5, 1]');
  } else {
    input.steps.forEach((w, i) => {
      const v = fraction(w, `steps[${i}]`, issues);
      if (v !== undefined) weights.push(v);
    });
    if (weights.some((w, i) => i > 0 && w <= (weights[i - 1] as number)))
      issues.add('steps', 'must rise step by step');
    if (weights.length > 0 && weights[weights.length - 1] !== 1) weights.push(1);
  }
  const maxErrorRate =
    input.maxErrorRate === undefined ? undefined : fraction(input.maxErrorRate, 'maxErrorRate', issues);
  issues.throwIfAny('rollout');
  return {
    target: Number(input.to),
    steps: weights.map((weight) => ({ weight, holdMs: weight === 1 ? 0 : (holdMs as number) })),
    guardrails: {
      maxErrorRate,
      maxErrorRateRatio: input.maxErrorRateRatio,
      maxP99Ms: input.maxP99Ms,
      maxPlatformErrors: input.maxPlatformErrors,
      minInvocations: input.minInvocations ?? 10,
    },
    preTraffic: input.preTraffic && { payload: input.preTraffic.payload ?? '' },
  };
}

/** What the target and the primary did during the current step. */
export interface StepWindow {
  target: { invocations: number; errors: number; platformErrors: number; p99Ms: number | null };
  primary: { invocations: number; errors: number };
}

export type Verdict =
  | { action: 'wait'; reason: string }
  | { action: 'advance'; reason: string }
  | { action: 'rollback'; reason: string; figures: Record<string, number | null> };

/**
 * Judges the current step: roll back at once on a breached guardrail (once there is enough data to judge),
 * advance when the step has been held long enough with enough data, otherwise wait.
 */
export function judgeStep(rollout: Rollout, window: StepWindow, now: number): Verdict {
  const g = rollout.spec.guardrails;
  const t = window.target;
  const errorRate = t.invocations === 0 ? 0 : t.errors / t.invocations;
  const primaryRate =
    window.primary.invocations === 0 ? 0 : window.primary.errors / window.primary.invocations;
  const figures = {
    invocations: t.invocations,
    errors: t.errors,
    errorRate,
    primaryErrorRate: primaryRate,
    platformErrors: t.platformErrors,
    p99Ms: t.p99Ms,
  };
  if (g.maxPlatformErrors !== undefined && t.platformErrors > g.maxPlatformErrors) {
    return {
      action: 'rollback',
      reason: `${t.platformErrors} platform errors, above the limit of ${g.maxPlatformErrors}`,
      figures,
    };
  }
  if (t.invocations >= g.minInvocations) {
    if (g.maxErrorRate !== undefined && errorRate > g.maxErrorRate) {
      return {
        action: 'rollback',
        reason: `error rate ${pct(errorRate)} above the limit of ${pct(g.maxErrorRate)}`,
        figures,
      };
    }
    if (g.maxErrorRateRatio !== undefined && errorRate > 0 && errorRate > primaryRate * g.maxErrorRateRatio) {
      return {
        action: 'rollback',
        reason: `error rate ${pct(errorRate)}, more than ${g.maxErrorRateRatio}× the primary's ${pct(primaryRate)}`,
        figures,
      };
    }
    if (g.maxP99Ms !== undefined && t.p99Ms !== null && t.p99Ms > g.maxP99Ms) {
      return {
        action: 'rollback',
        reason: `p99 ${t.p99Ms.toFixed(1)} ms above the limit of ${g.maxP99Ms} ms`,
        figures,
      };
    }
  }
  const step = rollout.spec.steps[rollout.step];
  const held = rollout.stepStartedAt === undefined ? 0 : now - Date.parse(rollout.stepStartedAt);
  if (!step || held < step.holdMs) return { action: 'wait', reason: 'holding the step' };
  if (t.invocations < g.minInvocations) {
    return {
      action: 'wait',
      reason: `${t.invocations} of the ${g.minInvocations} invocations needed before the step may pass`,
    };
  }
  return {
    action: 'advance',
    reason: `step ${rollout.step + 1} held ${Math.round(held / 1000)} s within every guardrail`,
  };
}

/**
 * The share of the alias's traffic on the rollout's target now: its step's weight while it runs (0 before
 * the first), all of it once promoted, none once it has ended otherwise.
 */
export function targetWeight(rollout: Rollout): number {
  switch (rollout.status) {
    case 'running':
    case 'paused':
      return rollout.step >= 0 ? (rollout.spec.steps[rollout.step]?.weight ?? 0) : 0;
    case 'succeeded':
      return 1;
    case 'rolled-back':
    case 'aborted':
    case 'failed':
      return 0;
  }
}

const pct = (rate: number) => `${(rate * 100).toFixed(2)} %`;

export function assertActive(rollout: Rollout): void {
  if (!ACTIVE.includes(rollout.status)) {
    throw new SluiceError('RolloutNotActive', `rollout ${rollout.id} has ended (${rollout.status})`);
  }
}
