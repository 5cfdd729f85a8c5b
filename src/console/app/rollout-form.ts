import { isSluiceError, parseRolloutRequest, type RolloutStep } from '../../contract/domain.js';
import type { FieldIssue } from './api.js';
import type { StartRollout } from '../../contract/schemas/rollouts.js';

/** The start-rollout form's fields as the user typed them: shares in percent, limits in their own units. */
export interface RolloutForm {
  to: string;
  strategy: 'canary' | 'linear' | 'steps';
  weightPercent: string;
  incrementPercent: string;
  /** Percentages separated by commas or spaces: "5, 25, 50". */
  stepsPercent: string;
  interval: string;
  maxErrorRatePercent: string;
  maxErrorRateRatio: string;
  maxP99Ms: string;
  maxPlatformErrors: string;
  minInvocations: string;
  preTraffic: boolean;
  payload: string;
}

export const DEFAULT_ROLLOUT_FORM: Omit<RolloutForm, 'to'> = {
  strategy: 'canary',
  weightPercent: '10',
  incrementPercent: '10',
  stepsPercent: '5, 25, 50',
  interval: '5m',
  maxErrorRatePercent: '1',
  maxErrorRateRatio: '',
  maxP99Ms: '',
  maxPlatformErrors: '',
  minInvocations: '10',
  preTraffic: false,
  payload: '{}',
};

const NUMBER = /^\s*(?:\d+(?:\.\d*)?|\.\d+)\s*$/;

/** A share typed in percent (above 0, up to 100, two decimals at most) as the fraction the API takes. */
function share(text: string, path: string, issues: FieldIssue[]): number | undefined {
  const pct = Number(text);
  if (!NUMBER.test(text) || pct <= 0 || pct > 100) {
    issues.push({ path, message: 'Enter a percentage above 0 and up to 100' });
    return undefined;
  }
  if (Math.abs(pct * 100 - Math.round(pct * 100)) > 1e-6) {
    issues.push({ path, message: 'At most two decimals (steps of 0.01 %)' });
    return undefined;
  }
  return Math.round(pct * 100) / 10_000;
}

/** An optional number within bounds; blank is "not set". */
function limit(
  text: string,
  path: string,
  issues: FieldIssue[],
  { min, max, integer, message }: { min: number; max: number; integer: boolean; message: string },
): number | undefined {
  if (text.trim() === '') return undefined;
  const n = Number(text);
  if (!NUMBER.test(text) || n < min || n > max || (integer && !Number.isInteger(n))) {
    issues.push({ path, message });
    return undefined;
  }
  return n;
}

/**
 * The guardrails the form takes as optional numbers: the form's field, the API's, the bounds and the message
 * for a number outside them, and what is sent for a number typed (a percentage as a fraction).
 */
const GUARDRAILS: readonly {
  field: 'maxErrorRatePercent' | 'maxErrorRateRatio' | 'maxP99Ms' | 'maxPlatformErrors' | 'minInvocations';
  path: 'maxErrorRate' | 'maxErrorRateRatio' | 'maxP99Ms' | 'maxPlatformErrors' | 'minInvocations';
  min: number;
  max: number;
  integer: boolean;
  message: string;
  sent?: (n: number) => number;
}[] = [
  {
    field: 'maxErrorRatePercent',
    path: 'maxErrorRate',
    min: 0,
    max: 100,
    integer: false,
    message: 'Enter a percentage from 0 to 100, or leave it blank',
    sent: (pct) => Math.round(pct * 100) / 10_000,
  },
  {
    field: 'maxErrorRateRatio',
    path: 'maxErrorRateRatio',
    min: 1,
    max: 1e6,
    integer: false,
    message: 'Enter a ratio of at least 1 (2 = twice the primary’s error rate), or leave it blank',
  },
  {
    field: 'maxP99Ms',
    path: 'maxP99Ms',
    min: 1,
    max: 900_000,
    integer: true,
    message: 'Enter whole milliseconds from 1 to 900000, or leave it blank',
  },
  {
    field: 'maxPlatformErrors',
    path: 'maxPlatformErrors',
    min: 0,
    max: 1_000_000,
    integer: true,
    message: 'Enter a whole number, or leave it blank',
  },
  {
    field: 'minInvocations',
    path: 'minInvocations',
    min: 1,
    max: 10_000_000,
    integer: true,
    message: 'Enter a whole number of at least 1, or leave it blank for 10',
  },
];

/**
 * The API's request from the form, and every problem with it under the path the API would name (`steps[1]`,
 * `maxP99Ms`); the core's own reading (rising steps, the interval) is applied too, so that what the form
 * accepts the server accepts. `steps` is the plan the request makes, when it has none.
 */
export function buildRollout(form: RolloutForm): {
  body: StartRollout | undefined;
  steps: RolloutStep[];
  issues: FieldIssue[];
} {
  const issues: FieldIssue[] = [];
  if (!/^[1-9][0-9]*$/.test(form.to)) issues.push({ path: 'to', message: 'Choose the version to roll out' });
  const body: StartRollout = { to: form.to, strategy: form.strategy, interval: form.interval.trim() };
  if (form.strategy === 'canary') {
    const w = share(form.weightPercent, 'weight', issues);
    if (w !== undefined) body.weight = w;
  } else if (form.strategy === 'linear') {
    const inc = share(form.incrementPercent, 'increment', issues);
    if (inc !== undefined) body.increment = inc;
  } else {
    const parts = form.stepsPercent.split(/[\s,]+/).filter(Boolean);
    if (parts.length === 0) issues.push({ path: 'steps', message: 'Enter at least one percentage' });
    if (parts.length > 100) issues.push({ path: 'steps', message: 'At most 100 steps' });
    const steps = parts
      .map((p, i) => share(p.replace(/%$/, ''), `steps[${i}]`, issues))
      .filter((s) => s !== undefined);
    if (steps.length === parts.length) body.steps = steps;
  }
  if (body.interval === '')
    issues.push({ path: 'interval', message: 'Enter how long each step holds, such as 5m' });
  for (const g of GUARDRAILS) {
    const n = limit(form[g.field], g.path, issues, g);
    if (n !== undefined) body[g.path] = g.sent ? g.sent(n) : n;
  }
  if (form.preTraffic) {
    if (form.payload.length > 65_536) issues.push({ path: 'preTraffic.payload', message: 'At most 64 KB' });
    body.preTraffic = { payload: form.payload };
  }
  let steps: RolloutStep[] = [];
  try {
    steps = parseRolloutRequest({ ...body, to: body.to || '0' }).steps;
  } catch (error) {
    if (!isSluiceError(error)) throw error;
    const known = new Set(issues.map((i) => i.path));
    const details = Array.isArray(error.details) ? (error.details as FieldIssue[]) : [];
    for (const issue of details) if (!known.has(issue.path)) issues.push(issue);
  }
  return { body: issues.length ? undefined : body, steps, issues };
}

/** "10 % for 5 min → 100 %": the plan of a rollout's steps. */
export function describePlan(steps: readonly RolloutStep[]): string {
  return steps
    .map((s) => `${+(s.weight * 100).toFixed(2)} %${s.holdMs > 0 ? ` for ${formatHold(s.holdMs)}` : ''}`)
    .join(' → ');
}

export function formatHold(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${+(ms / 1000).toFixed(1)} s`;
}
