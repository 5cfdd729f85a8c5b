import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SluiceError } from '../../core/errors.js';
import { parseRolloutRequest as rolloutSpec } from '../../core/rollout.js';
import { validator } from '../validate.js';
import { StartRollout } from './rollouts.js';

// A rollout request as the API takes it: checked against its schema, then expanded by the core.
const checkRollout = validator(StartRollout);
const parseRolloutRequest = (input: unknown) => rolloutSpec(checkRollout(input));

const refused = (input: unknown, path: string) => {
  assert.throws(
    () => parseRolloutRequest(input),
    (e: unknown) =>
      e instanceof SluiceError &&
      e.code === 'InvalidArgument' &&
      (e.details as readonly { path: string }[]).some((d) => d.path === path),
    `${JSON.stringify(input)} is refused at ${path}`,
  );
};

describe('parseRolloutRequest', () => {
  test('canary: one step at the weight, then all', () => {
    const spec = parseRolloutRequest({ to: '2', strategy: 'canary', weight: 0.1, interval: '5m' });
    assert.deepEqual(spec.steps, [
      { weight: 0.1, holdMs: 300_000 },
      { weight: 1, holdMs: 0 },
    ]);
    assert.equal(spec.target, 2);
    assert.equal(spec.guardrails.minInvocations, 10);
  });

  test('linear: +increment every interval up to 100 %', () => {
    const spec = parseRolloutRequest({ to: '3', strategy: 'linear', increment: 0.25, interval: '1m' });
    assert.deepEqual(
      spec.steps.map((s) => s.weight),
      [0.25, 0.5, 0.75, 1],
    );
    assert.ok(spec.steps.slice(0, -1).every((s) => s.holdMs === 60_000));
  });

  test('linear with an increment that does not divide 1 still ends at 100 %', () => {
    const spec = parseRolloutRequest({ to: '3', strategy: 'linear', increment: 0.3 });
    assert.deepEqual(
      spec.steps.map((s) => s.weight),
      [0.3, 0.6, 0.9, 1],
    );
  });

  test('explicit steps: 5, 25, 50, 100 %', () => {
    const spec = parseRolloutRequest({ to: '2', steps: [0.05, 0.25, 0.5, 1], interval: '30s' });
    assert.deepEqual(
      spec.steps.map((s) => s.weight),
      [0.05, 0.25, 0.5, 1],
    );
    assert.deepEqual(
      parseRolloutRequest({ to: '2', steps: [0.5] }).steps.map((s) => s.weight),
      [0.5, 1],
    );
  });

  test('guardrails and a pre-traffic check are kept', () => {
    const spec = parseRolloutRequest({
      to: '2',
      maxErrorRate: 0.01,
      maxErrorRateRatio: 2,
      maxP99Ms: 500,
      maxPlatformErrors: 0,
      minInvocations: 100,
      preTraffic: { payload: '{"ping":true}' },
    });
    assert.deepEqual(spec.guardrails, {
      maxErrorRate: 0.01,
      maxErrorRateRatio: 2,
      maxP99Ms: 500,
      maxPlatformErrors: 0,
      minInvocations: 100,
    });
    assert.deepEqual(spec.preTraffic, { payload: '{"ping":true}' });
  });

  const bad: [unknown, string][] = [
    [{}, 'to'],
    [{ to: 2 }, 'to'],
    [{ to: '0' }, 'to'],
    [{ to: '2', strategy: 'blue-green' }, 'strategy'],
    [{ to: '2', weight: 0 }, 'weight'],
    [{ to: '2', weight: 1.5 }, 'weight'],
    [{ to: '2', weight: 0.00001 }, 'weight'],
    [{ to: '2', strategy: 'linear', increment: -0.1 }, 'increment'],
    [{ to: '2', strategy: 'linear', increment: 0.001 }, 'increment'],
    [{ to: '2', steps: [] }, 'steps'],
    [{ to: '2', steps: [0.5, 0.25] }, 'steps'],
    [{ to: '2', steps: ['10%'] }, 'steps[0]'],
    [{ to: '2', interval: '5' }, 'interval'],
    [{ to: '2', interval: '500ms' }, 'interval'],
    [{ to: '2', maxErrorRate: 2 }, 'maxErrorRate'],
    [{ to: '2', maxErrorRateRatio: 0.5 }, 'maxErrorRateRatio'],
    [{ to: '2', maxP99Ms: 0 }, 'maxP99Ms'],
    [{ to: '2', maxPlatformErrors: -1 }, 'maxPlatformErrors'],
    [{ to: '2', minInvocations: 0 }, 'minInvocations'],
    [{ to: '2', preTraffic: { payload: 5 } }, 'preTraffic.payload'],
    [{ to: '2', colour: 'red' }, 'colour'],
  ];
  for (const [input, path] of bad)
    test(`refuses ${JSON.stringify(input)}`, () => {
      refused(input, path);
    });
});
