import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Rollout, type StepWindow, judgeStep, targetWeight } from './rollout.js';

const NOW = Date.parse('2026-01-01T00:10:00.000Z');

function rollout(
  overrides: Partial<Rollout> = {},
  guardrails: Partial<Rollout['spec']['guardrails']> = {},
): Rollout {
  return {
    id: 'r',
    functionName: 'f',
    alias: 'live',
    primary: 1,
    spec: {
      target: 2,
      steps: [
        { weight: 0.1, holdMs: 60_000 },
        { weight: 1, holdMs: 0 },
      ],
      guardrails: {
        maxErrorRate: 0.05,
        maxErrorRateRatio: undefined,
        maxP99Ms: 300,
        maxPlatformErrors: 2,
        minInvocations: 20,
        ...guardrails,
      },
      preTraffic: undefined,
    },
    status: 'running',
    step: 0,
    stepStartedAt: new Date(NOW - 61_000).toISOString(),
    aliasRevision: 2,
    reason: undefined,
    events: [],
    createdAt: new Date(NOW - 120_000).toISOString(),
    updatedAt: new Date(NOW - 61_000).toISOString(),
    ...overrides,
  };
}

const window = (t: Partial<StepWindow['target']>, p: Partial<StepWindow['primary']> = {}): StepWindow => ({
  target: { invocations: 100, errors: 0, platformErrors: 0, p99Ms: 50, ...t },
  primary: { invocations: 900, errors: 0, ...p },
});

describe('judgeStep', () => {
  test('a healthy step held long enough advances', () => {
    assert.equal(judgeStep(rollout(), window({}), NOW).action, 'advance');
  });

  test('a healthy step not yet held waits', () => {
    const r = rollout({ stepStartedAt: new Date(NOW - 10_000).toISOString() });
    assert.equal(judgeStep(r, window({}), NOW).action, 'wait');
  });

  test('no traffic, no promotion: a held step without enough invocations waits', () => {
    const verdict = judgeStep(rollout(), window({ invocations: 19 }), NOW);
    assert.equal(verdict.action, 'wait');
    assert.match(verdict.reason, /19 of the 20/);
  });

  test('an error rate above the limit rolls back at once, with the figures', () => {
    const verdict = judgeStep(
      rollout({ stepStartedAt: new Date(NOW - 1000).toISOString() }),
      window({ invocations: 40, errors: 12 }),
      NOW,
    );
    assert.ok(verdict.action === 'rollback', verdict.reason);
    assert.equal(verdict.figures.errorRate, 0.3);
    assert.match(verdict.reason, /error rate 30\.00 %/);
  });

  test('the error rate is judged only once there is enough data', () => {
    assert.equal(judgeStep(rollout(), window({ invocations: 5, errors: 5 }), NOW).action, 'wait');
  });

  test('an error rate relative to the primary', () => {
    const r = rollout({}, { maxErrorRate: undefined, maxErrorRateRatio: 2 });
    assert.equal(
      judgeStep(r, window({ errors: 3 }, { errors: 18 }), NOW).action,
      'advance',
      '3 % vs 2 %: within 2×',
    );
    assert.equal(
      judgeStep(r, window({ errors: 5 }, { errors: 18 }), NOW).action,
      'rollback',
      '5 % vs 2 %: beyond 2×',
    );
    assert.equal(
      judgeStep(r, window({ errors: 1 }, { errors: 0 }), NOW).action,
      'rollback',
      'any error vs none',
    );
  });

  test('a slow target trips the p99 guardrail', () => {
    const verdict = judgeStep(rollout(), window({ p99Ms: 450 }), NOW);
    assert.equal(verdict.action, 'rollback');
    assert.match(verdict.reason, /p99 450\.0 ms/);
  });

  test('platform errors over the limit roll back even before the minimum of invocations', () => {
    assert.equal(judgeStep(rollout(), window({ invocations: 3, platformErrors: 3 }), NOW).action, 'rollback');
    assert.equal(judgeStep(rollout(), window({ invocations: 3, platformErrors: 2 }), NOW).action, 'wait');
  });
});

describe('targetWeight', () => {
  test("is the step's weight while it runs or is paused, 0 before its first step", () => {
    assert.equal(targetWeight(rollout({ step: -1 })), 0);
    assert.equal(targetWeight(rollout({ step: 0 })), 0.1);
    assert.equal(targetWeight(rollout({ step: 1, status: 'paused' })), 1);
  });

  test('is all the traffic once promoted, none once rolled back, aborted or failed, whatever step it ended on', () => {
    assert.equal(targetWeight(rollout({ step: 0, status: 'succeeded' })), 1);
    for (const status of ['rolled-back', 'aborted', 'failed'] as const)
      assert.equal(targetWeight(rollout({ step: 1, status })), 0, status);
  });
});
