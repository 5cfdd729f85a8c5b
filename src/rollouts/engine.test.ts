import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { isSluiceError } from '../core/errors.js';
import { emptyHistogram, observe } from '../core/histogram.js';
import { parseRolloutRequest, type Rollout } from '../core/rollout.js';
import type { MetricRow } from '../core/telemetry.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { config } from '../../test/support/config.js';
import { blob } from '../store/contract-support.js';
import { RolloutEngine } from './engine.js';

// The engine over the real SQLite store, with a clock the test moves: every alias write, metric window and
// event the controller's turns produce. What a window's figures mean for a step is core/rollout.test.ts's.

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const BY = { actor: 'alice', now: new Date(T0).toISOString() };

interface Setup {
  store: SqliteStore;
  engine: RolloutEngine;
  clock: { advance: (ms: number) => void; seconds: () => number };
  changed: string[];
  preTraffic: { version: number; payload: string }[];
  failPreTraffic: (error: Error | undefined) => void;
}

/** Function f with versions 1 and 2 and alias live → 1. */
async function setup(t: TestContext): Promise<Setup> {
  const store = SqliteStore.open(':memory:');
  t.after(() => store.close());
  await store.createFunction('f', config(), blob('v1'), BY);
  await store.publishVersion('f', '', BY);
  await store.updateFunction('f', { code: blob('v2') }, BY);
  await store.publishVersion('f', '', BY);
  await store.putAlias('f', 'live', { version: 1, description: '' }, BY);
  let now = T0;
  const changed: string[] = [];
  const preTraffic: { version: number; payload: string }[] = [];
  let preTrafficError: Error | undefined;
  const engine = new RolloutEngine({
    store,
    clock: () => new Date(now),
    changed: (name) => {
      changed.push(name);
      return Promise.resolve();
    },
    invokeVersion: (name, version, payload) => {
      assert.equal(name, 'f');
      preTraffic.push({ version, payload: payload.toString() });
      return preTrafficError ? Promise.reject(preTrafficError) : Promise.resolve();
    },
  });
  return {
    store,
    engine,
    clock: {
      advance: (ms) => {
        now += ms;
      },
      seconds: () => Math.floor(now / 1000),
    },
    changed,
    preTraffic,
    failPreTraffic: (error) => {
      preTrafficError = error;
    },
  };
}

const spec = (body: Record<string, unknown>) =>
  parseRolloutRequest({ to: '2', strategy: 'steps', steps: [0.2, 0.5], interval: '1m', ...body });

/** A 10 s metric row of f through `qualifier`, in the bucket holding `atSeconds`. */
function row(
  atSeconds: number,
  versionId: string,
  counts: { invocations: number; errors?: number; durationMs?: number },
  qualifier = 'live',
): MetricRow {
  const histogram = emptyHistogram();
  for (let i = 0; i < counts.invocations; i++) observe(histogram, counts.durationMs ?? 5);
  return {
    resolution: 10,
    functionName: 'f',
    versionId,
    qualifier,
    bucketStart: atSeconds - (atSeconds % 10),
    node: 'n1',
    invocations: counts.invocations,
    functionErrors: counts.errors ?? 0,
    platformErrors: 0,
    throttles: 0,
    coldStarts: 0,
    durationSumMs: counts.invocations * (counts.durationMs ?? 5),
    histogram,
  };
}

async function aliasOf(store: SqliteStore) {
  const alias = await store.getAlias('f', 'live');
  assert.ok(alias);
  return alias;
}

/** Drives the rollout as the controller does, reading it back from the store as the controller would. */
async function drive(s: Setup, rollout: Rollout): Promise<Rollout> {
  const stored = await s.store.getRollout(rollout.id);
  assert.ok(stored);
  return s.engine.drive(stored);
}

describe('RolloutEngine', () => {
  test('start refuses a missing function, a missing alias, and the primary as target', async (t) => {
    const s = await setup(t);
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'resolved',
        (e: unknown) => (isSluiceError(e) ? e.code : String(e)),
      );
    assert.equal(await code(s.engine.start('nope', 'live', spec({}), 'alice')), 'FunctionNotFound');
    assert.equal(await code(s.engine.start('f', 'nope', spec({}), 'alice')), 'AliasNotFound');
    assert.equal(await code(s.engine.start('f', 'live', spec({ to: '1' }), 'alice')), 'InvalidArgument');
    assert.deepEqual(await s.store.listRollouts('f'), [], 'nothing stored');
  });

  test('steps through the weights as the rollout’s actor, then makes the target the primary', async (t) => {
    const s = await setup(t);
    let rollout = await s.engine.start('f', 'live', spec({ minInvocations: 3 }), 'alice');
    assert.equal(rollout.step, -1);
    assert.deepEqual((await aliasOf(s.store)).spec.canary, undefined, 'start alone moves no traffic');

    rollout = await drive(s, rollout);
    assert.equal(rollout.step, 0);
    assert.deepEqual((await aliasOf(s.store)).spec.canary, { version: 2, weight: 0.2 });

    // Enough traffic, all healthy, but the step is held for its minute.
    await s.store.writeMetrics([row(s.clock.seconds(), '2', { invocations: 5 })]);
    s.clock.advance(59_000);
    rollout = await drive(s, rollout);
    assert.equal(rollout.step, 0, 'held until the interval is over');
    s.clock.advance(1000);
    rollout = await drive(s, rollout);
    assert.equal(rollout.step, 1);
    assert.deepEqual((await aliasOf(s.store)).spec.canary, { version: 2, weight: 0.5 });

    // The new step counts only its own window: the first step's invocations do not pass it.
    s.clock.advance(60_000);
    rollout = await drive(s, rollout);
    assert.equal(rollout.step, 1, 'no data in this step, no promotion');
    await s.store.writeMetrics([row(s.clock.seconds(), '2', { invocations: 3 })]);
    rollout = await drive(s, rollout);
    assert.equal(rollout.status, 'succeeded');
    const live = await aliasOf(s.store);
    assert.equal(live.spec.version, 2);
    assert.equal(live.spec.canary, undefined);

    const history = await s.store.aliasHistory('f', 'live');
    assert.deepEqual(
      history.slice(1).map((h) => h.actor),
      Array(3).fill(`rollout:${rollout.id}`),
    );
    assert.deepEqual(
      s.changed,
      ['f', 'f', 'f', 'f'],
      'the start (which wakes every node’s controller) and every alias write are announced',
    );
    assert.deepEqual(
      rollout.events.map((e) => e.kind),
      ['started', 'step', 'step', 'promoted'],
    );
    assert.deepEqual(await s.store.getRollout(rollout.id), rollout, 'what it returns is what it stored');
  });

  test('a breach rolls the alias back to all-primary with the figures; another alias’s traffic does not count', async (t) => {
    const s = await setup(t);
    let rollout = await s.engine.start('f', 'live', spec({ minInvocations: 10, maxErrorRate: 0.1 }), 'alice');
    rollout = await drive(s, rollout);
    const now = s.clock.seconds();
    await s.store.writeMetrics([
      row(now, '2', { invocations: 100, errors: 100 }, 'other'),
      row(now, '2', { invocations: 10, errors: 1 }),
      row(now, '1', { invocations: 40, errors: 40 }),
    ]);
    rollout = await drive(s, rollout);
    assert.equal(rollout.status, 'running', 'the target’s 10 % through live is within the limit');
    await s.store.writeMetrics([row(now, '2', { invocations: 10, errors: 2 })]);
    rollout = await drive(s, rollout);
    assert.equal(rollout.status, 'rolled-back');
    assert.match(rollout.reason ?? '', /guardrail breached: error rate 20\.00 %/);
    assert.deepEqual(rollout.events.at(-1)?.figures, {
      invocations: 10,
      errors: 2,
      errorRate: 0.2,
      primaryErrorRate: 1,
      platformErrors: 0,
      p99Ms: rollout.events.at(-1)?.figures?.p99Ms ?? null,
    });
    const live = await aliasOf(s.store);
    assert.equal(live.spec.version, 1);
    assert.equal(live.spec.canary, undefined);
    assert.equal(await drive(s, rollout).then((r) => r.status), 'rolled-back', 'an ended rollout stays');
  });

  test('a pre-traffic check that fails ends the rollout before the alias is touched', async (t) => {
    const s = await setup(t);
    s.failPreTraffic(new Error('refused'));
    const before = await aliasOf(s.store);
    let rollout = await s.engine.start('f', 'live', spec({ preTraffic: { payload: 'ping' } }), 'alice');
    rollout = await drive(s, rollout);
    assert.deepEqual(s.preTraffic, [{ version: 2, payload: 'ping' }]);
    assert.equal(rollout.status, 'failed');
    assert.match(rollout.reason ?? '', /pre-traffic check failed.*refused/);
    assert.deepEqual(await aliasOf(s.store), before);
    assert.deepEqual(s.changed, ['f'], 'the start only: no alias write to announce');

    const again = await s.engine.start('f', 'live', spec({ preTraffic: { payload: 'ping' } }), 'alice');
    s.failPreTraffic(undefined);
    assert.equal((await drive(s, again)).step, 0, 'one that passes sets the first step');
  });

  test('an alias changed by someone else stops the rollout and is left as they set it', async (t) => {
    const s = await setup(t);
    let rollout = await s.engine.start('f', 'live', spec({ minInvocations: 1 }), 'alice');
    rollout = await drive(s, rollout);
    const theirs = { version: 1, description: 'by hand', canary: { version: 2, weight: 0.9 } };
    await s.store.putAlias('f', 'live', theirs, { actor: 'bob', now: BY.now });
    await s.store.writeMetrics([row(s.clock.seconds(), '2', { invocations: 5 })]);
    s.clock.advance(60_000);
    rollout = await drive(s, rollout);
    assert.equal(rollout.status, 'aborted');
    assert.match(rollout.reason ?? '', /changed by someone else/);
    assert.deepEqual((await aliasOf(s.store)).spec, theirs);
  });

  test('an alias changed by someone else stops the rollout at its next turn, not at its next step', async (t) => {
    const s = await setup(t);
    let rollout = await s.engine.start('f', 'live', spec({}), 'alice');
    rollout = await drive(s, rollout);
    assert.equal(rollout.step, 0);
    const rolledBack = await s.store.rollbackAlias(
      'f',
      'live',
      { to: 'primary' },
      { actor: 'bob', now: BY.now },
    );
    rollout = await drive(s, rollout);
    assert.equal(rollout.status, 'aborted');
    assert.match(rollout.reason ?? '', /changed by someone else/);
    assert.deepEqual((await aliasOf(s.store)).spec, rolledBack.spec);
    assert.equal((await aliasOf(s.store)).revision, rolledBack.revision, 'the rollout wrote the alias again');
  });

  test('pause holds, resume starts the step afresh, abort returns all traffic; ended rollouts refuse commands', async (t) => {
    const s = await setup(t);
    let rollout = await s.engine.start('f', 'live', spec({ minInvocations: 1 }), 'alice');
    rollout = await drive(s, rollout);
    await s.store.writeMetrics([row(s.clock.seconds(), '2', { invocations: 5 })]);
    rollout = await s.engine.pause(rollout.id, 'alice');
    assert.equal(rollout.status, 'paused');
    s.clock.advance(60_000);
    assert.equal((await drive(s, rollout)).step, 0, 'a paused rollout is not driven');

    rollout = await s.engine.resume(rollout.id, 'alice');
    assert.equal(rollout.stepStartedAt, new Date(T0 + 60_000).toISOString());
    s.clock.advance(30_000);
    rollout = await drive(s, rollout);
    assert.equal(rollout.step, 0, 'half of the step’s minute since the resume');

    rollout = await s.engine.abort(rollout.id, 'alice');
    assert.equal(rollout.status, 'aborted');
    assert.deepEqual((await aliasOf(s.store)).spec, { version: 1, description: '' });
    for (const command of ['pause', 'resume', 'abort', 'promote'] as const) {
      await assert.rejects(s.engine[command](rollout.id, 'alice'), { code: 'RolloutNotActive' }, command);
    }
    await assert.rejects(s.engine.pause('00000000-0000-0000-0000-000000000000', 'a'), {
      code: 'RolloutNotFound',
    });
  });

  test('promote makes the target the primary at once', async (t) => {
    const s = await setup(t);
    const rollout = await s.engine.start('f', 'live', spec({}), 'alice');
    const promoted = await s.engine.promote(rollout.id, 'alice');
    assert.equal(promoted.status, 'succeeded');
    assert.deepEqual((await aliasOf(s.store)).spec, { version: 2, description: '' });
  });

  test('a turn on a stale copy of the rollout is refused, not saved over the newer state', async (t) => {
    const s = await setup(t);
    const rollout = await s.engine.start('f', 'live', spec({}), 'alice');
    await s.engine.pause(rollout.id, 'alice');
    await assert.rejects(s.engine.drive(rollout), { code: 'RolloutNotActive' });
    assert.equal((await s.store.getRollout(rollout.id))?.status, 'paused');
  });
});
