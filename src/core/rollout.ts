import { parseDuration } from './duration.js';
import { SluiceError } from './errors.js';
import {
  Issues,
  checkFiniteNumber,
  checkInteger,
  describeType,
  readObject,
  requireField,
} from './validate.js';

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

const STRATEGIES = ['canary', 'linear', 'steps'] as const;
const FIELDS = [
  'to',
  'strategy',
  'weight',
  'increment',
  'steps',
  'interval',
  'maxErrorRate',
  'maxErrorRateRatio',
  'maxP99Ms',
  'maxPlatformErrors',
  'minInvocations',
  'preTraffic',
] as const;

function fraction(
  value: unknown,
  path: string,
  issues: Issues,
  { positive }: { positive: boolean },
): number | undefined {
  if (!checkFiniteNumber(value, path, issues)) return undefined;
  if (value > 1 || value < 0 || (positive && value === 0)) {
    issues.add(
      path,
      `must be a fraction ${positive ? 'above 0' : 'from 0'} up to 1 (0.1 = 10 %), not ${value}`,
    );
    return undefined;
  }
  if (Math.abs(value * 10_000 - Math.round(value * 10_000)) > 1e-6) {
    issues.add(path, 'must have at most four decimal places');
    return undefined;
  }
  return Math.round(value * 10_000) / 10_000;
}

/**
 * Validates a rollout request: `{to, strategy: canary|linear|steps, weight?, increment?, steps?, interval,
 * guardrails…, preTraffic?}` and expands the strategy into explicit steps ending at 100 %.
 */
export function parseRolloutRequest(input: unknown): RolloutSpec {
  const issues = new Issues();
  const obj = readObject(input, '', issues, FIELDS);
  if (!obj) issues.throwIfAny('rollout');
  const body = obj as Record<string, unknown>;
  const toValue = requireField(body, 'to', '', issues);
  if (toValue !== undefined && (typeof toValue !== 'string' || !/^[1-9][0-9]{0,15}$/.test(toValue))) {
    issues.add('to', 'must be a published version number such as "2"');
  }
  const strategy = body.strategy ?? (body.steps !== undefined ? 'steps' : 'canary');
  if (!(STRATEGIES as readonly unknown[]).includes(strategy))
    issues.add('strategy', `must be one of ${STRATEGIES.join(', ')}`);
  const intervalText = body.interval ?? '1m';
  const holdMs = typeof intervalText === 'string' ? parseDuration(intervalText) : undefined;
  if (holdMs === undefined || holdMs < 1000 || holdMs > 7 * 86_400_000) {
    issues.add('interval', 'must be a duration from 1s to 7d, such as 30s, 5m or 1h');
  }
  let weights: number[] = [];
  if (strategy === 'canary') {
    const w = fraction(body.weight ?? 0.1, 'weight', issues, { positive: true });
    if (w !== undefined) weights = w === 1 ? [1] : [w, 1];
  } else if (strategy === 'linear') {
    const inc = fraction(body.increment ?? 0.1, 'increment', issues, { positive: true });
    if (inc !== undefined) {
      for (let w = inc; w < 1 - 1e-9; w += inc) weights.push(Math.round(w * 10_000) / 10_000);
      weights.push(1);
      if (weights.length > 100) issues.add('increment', 'makes more than 100 steps');
    }
  } else if (strategy === 'steps') {
    if (!Array.isArray(body.steps) || body.steps.length === 0 || body.steps.length > 100) {
      issues.add(
        'steps',
        `must be a list of 1 to 100 fractions, such as [0.05, 0.25, 0.5, 1], not ${describeType(body.steps)}`,
      );
    } else {
      body.steps.forEach((w, i) => {
        const v = fraction(w, `steps[${i}]`, issues, { positive: true });
        if (v !== undefined) weights.push(v);
      });
      if (weights.some((w, i) => i > 0 && w <= (weights[i - 1] as number)))
        issues.add('steps', 'must rise step by step');
      if (weights.length > 0 && weights[weights.length - 1] !== 1) weights.push(1);
    }
  }
  const optionalNumber = (key: string, check: (v: unknown) => boolean) => {
    const v = body[key];
    if (v === undefined) return undefined;
    return check(v) ? (v as number) : undefined;
  };
  const maxErrorRate = optionalNumber(
    'maxErrorRate',
    (v) => fraction(v, 'maxErrorRate', issues, { positive: false }) !== undefined,
  );
  const maxErrorRateRatio = optionalNumber('maxErrorRateRatio', (v) => {
    if (!checkFiniteNumber(v, 'maxErrorRateRatio', issues)) return false;
    if (v < 1) issues.add('maxErrorRateRatio', 'must be 1 or more (2 = twice the primary’s error rate)');
    return v >= 1;
  });
  const maxP99Ms = optionalNumber('maxP99Ms', (v) =>
    checkInteger(v, 'maxP99Ms', issues, { min: 1, max: 900_000 }),
  );
  const maxPlatformErrors = optionalNumber('maxPlatformErrors', (v) =>
    checkInteger(v, 'maxPlatformErrors', issues, { min: 0, max: 1_000_000 }),
  );
  const minInvocations = body.minInvocations ?? 10;
  checkInteger(minInvocations, 'minInvocations', issues, { min: 1, max: 10_000_000 });
  let preTraffic: RolloutSpec['preTraffic'];
  if (body.preTraffic !== undefined) {
    const pre = readObject(body.preTraffic, 'preTraffic', issues, ['payload']);
    const payload = pre?.payload ?? '';
    if (typeof payload !== 'string') issues.add('preTraffic.payload', 'must be a string');
    else if (payload.length > 65_536) issues.add('preTraffic.payload', 'must be at most 64 KB');
    preTraffic = { payload: payload as string };
  }
  issues.throwIfAny('rollout');
  return {
    target: Number(toValue),
    steps: weights.map((weight) => ({ weight, holdMs: weight === 1 ? 0 : (holdMs as number) })),
    guardrails: {
      maxErrorRate,
      maxErrorRateRatio,
      maxP99Ms,
      maxPlatformErrors,
      minInvocations: minInvocations as number,
    },
    preTraffic,
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
