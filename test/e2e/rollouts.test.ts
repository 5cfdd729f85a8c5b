import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Progressive rollouts against a real server and real instances, with windows of seconds.
let dataDir: string;
let removeDir: () => Promise<void>;
let server: SluiceProcess;
let api: ApiCall;

/** A handler whose behaviour is fixed by its version's code: fail every n with n % 10 < failTenths, or sleep. */
const handler = (tag: string, failTenths: number, sleepMs: number) => `
exports.handler = async (event) => {
  const n = Number(JSON.parse(event.toString() || '{}').n ?? 0);
  if (event.toString() === 'ping' && ${failTenths} > 0) throw new Error('pre-traffic check refused');
  if (${sleepMs} > 0) await new Promise((r) => setTimeout(r, ${sleepMs}));
  if (n % 10 < ${failTenths}) throw new Error('${tag} failed on ' + n);
  return '${tag}';
};
`;

async function fn(name: string, v2: { failTenths?: number; sleepMs?: number }): Promise<void> {
  const create = await api('POST', '/v1/functions', {
    name,
    runtime: 'nodejs20',
    handler: 'index.handler',
    instanceConcurrency: 20,
  });
  assert.equal(create.status, 201);
  for (const [tag, fail, slow] of [
    ['v1', 0, 0],
    ['v2', v2.failTenths ?? 0, v2.sleepMs ?? 0],
  ] as const) {
    assert.equal(
      (await api('PUT', `/v1/functions/${name}/code`, await zipOf({ 'index.js': handler(tag, fail, slow) })))
        .status,
      200,
    );
    assert.equal((await api('POST', `/v1/functions/${name}/versions`)).status, 201);
  }
  assert.equal((await api('PUT', `/v1/functions/${name}/aliases/live`, { version: '1' })).status, 201);
}

interface RolloutView {
  id: string;
  status: string;
  step: number;
  reason: string | null;
  events: { at: string; kind: string; message: string; figures?: Record<string, number> }[];
}

/** Sends requests through the alias at a steady pace until stopped; counts what came back. */
function traffic(name: string, perSecond: number) {
  const state = { stopped: false };
  let n = 0;
  const served: Record<string, number> = {};
  const run = (async () => {
    while (!state.stopped) {
      const started = Date.now();
      const batch = Array.from({ length: Math.max(1, Math.round(perSecond / 10)) }, () => n++);
      await Promise.all(
        batch.map(async (i) => {
          const res = await api(
            'POST',
            `/v1/functions/${name}/invocations?qualifier=live`,
            Buffer.from(JSON.stringify({ n: i })),
          );
          const v = res.headers.get('x-fc-invocation-function-version') ?? '?';
          served[v] = (served[v] ?? 0) + 1;
        }),
      );
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();
  return {
    served,
    stop: async () => {
      state.stopped = true;
      await run;
    },
  };
}

/**
 * Reads the rollout until `done` holds. The deadline is generous, several times the windows the tests set,
 * for a machine busy with other work: the bounds that matter are checked on the rollout's own events.
 */
function until(rolloutId: string, done: (r: RolloutView) => boolean): Promise<RolloutView> {
  return waitFor(
    async () => {
      const r = (await api('GET', `/v1/rollouts/${rolloutId}`)).body as RolloutView;
      assert.ok(
        done(r),
        `rollout ${rolloutId} is ${r.status} at step ${r.step}: ${JSON.stringify(r.events)}`,
      );
      return r;
    },
    { timeout: 90_000, what: `rollout ${rolloutId}`, interval: 100 },
  );
}

async function alias(name: string): Promise<{ version: string; canary?: unknown; revision: number }> {
  return (await api('GET', `/v1/functions/${name}/aliases/live`)).body as {
    version: string;
    canary?: unknown;
    revision: number;
  };
}

async function start(name: string, body: Record<string, unknown>): Promise<RolloutView> {
  const res = await api('POST', `/v1/functions/${name}/aliases/live/rollouts`, { to: '2', ...body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as RolloutView;
}

before(async () => {
  ({ dataDir, remove: removeDir } = await makeDataDir());
  server = await startSluice(dataDir);
  api = apiClient(server.url, server.token);
});

after(async () => {
  await server.stop();
  await removeDir();
});

describe('rollouts', () => {
  test('a healthy version 2 is promoted through every step to 100 %', async () => {
    await fn('healthy', {});
    const rollout = await start('healthy', {
      steps: [0.3, 0.6],
      interval: '2s',
      minInvocations: 5,
      maxErrorRate: 0.1,
    });
    const load = traffic('healthy', 30);
    const done = await until(rollout.id, (r) => r.status !== 'running');
    await load.stop();
    assert.equal(done.status, 'succeeded', done.reason ?? '');
    assert.deepEqual(
      done.events.map((e) => e.kind),
      ['started', 'step', 'step', 'promoted'],
    );
    const live = await alias('healthy');
    assert.equal(live.version, '2');
    assert.equal(live.canary, undefined);
    const history = (await api('GET', '/v1/functions/healthy/aliases/live/history')).body as {
      history: { actor: string }[];
    };
    assert.deepEqual(
      history.history.slice(1).map((h) => h.actor),
      Array(3).fill(`rollout:${rollout.id}`),
      'every step is in the alias history, by the rollout',
    );
    assert.ok((load.served['2'] ?? 0) > 0 && (load.served['1'] ?? 0) > 0);
  });

  test('a version 2 that fails 30 % of requests is rolled back within its step window', async (t) => {
    await fn('failing', { failTenths: 3 });
    const rollout = await start('failing', {
      steps: [0.5],
      interval: '10s',
      minInvocations: 10,
      maxErrorRate: 0.05,
    });
    const load = traffic('failing', 40);
    const done = await until(rollout.id, (r) => r.status !== 'running');
    await load.stop();
    assert.equal(done.status, 'rolled-back');
    assert.match(done.reason ?? '', /error rate/);
    const breach = done.events.at(-1);
    assert.ok((breach?.figures?.errorRate ?? 0) > 0.05, JSON.stringify(breach));
    const live = await alias('failing');
    assert.equal(live.version, '1');
    assert.equal(live.canary, undefined);
    // By the server's own clock: the breach was acted on while the step ran, not when its window closed.
    const step = done.events.find((e) => e.kind === 'step');
    const rolledBack = Date.parse(breach?.at ?? '') - Date.parse(step?.at ?? '');
    assert.ok(rolledBack < 10_000, `rolled back ${rolledBack} ms into the 10 s step`);
    t.diagnostic(`rolled back ${rolledBack} ms into the step (window 10 s)`);
  });

  test('a slow version 2 trips the p99 guardrail', async () => {
    await fn('slow', { sleepMs: 300 });
    const rollout = await start('slow', { steps: [0.5], interval: '10s', minInvocations: 5, maxP99Ms: 100 });
    const load = traffic('slow', 30);
    const done = await until(rollout.id, (r) => r.status !== 'running');
    await load.stop();
    assert.equal(done.status, 'rolled-back');
    assert.match(done.reason ?? '', /p99/);
    assert.equal((await alias('slow')).version, '1');
  });

  test('no traffic, no promotion; abort returns all traffic to the primary', async () => {
    await fn('idle', {});
    const rollout = await start('idle', { steps: [0.5], interval: '1s', minInvocations: 5 });
    await until(rollout.id, (r) => r.step === 1);
    // Time passing, not a wait for an event: three intervals without data, and still no promotion. A busy
    // machine only gives the controller fewer turns, which cannot make this fail.
    await sleep(3000);
    const still = (await api('GET', `/v1/rollouts/${rollout.id}`)).body as RolloutView;
    assert.equal(still.status, 'running');
    assert.equal(still.step, 1, 'held at its first step without data');
    const aborted = await api('POST', `/v1/rollouts/${rollout.id}/abort`);
    assert.equal(aborted.status, 200);
    assert.equal((aborted.body as RolloutView).status, 'aborted');
    const live = await alias('idle');
    assert.equal(live.version, '1');
    assert.equal(live.canary, undefined);
    assert.equal(errorCode(await api('POST', `/v1/rollouts/${rollout.id}/resume`)), 'RolloutNotActive');
  });

  test('a failed pre-traffic check moves no traffic', async () => {
    await fn('precheck', { failTenths: 1 });
    const before = await alias('precheck');
    const rollout = await start('precheck', {
      steps: [0.5],
      interval: '5s',
      preTraffic: { payload: 'ping' },
    });
    const done = await until(rollout.id, (r) => r.status !== 'running');
    assert.equal(done.status, 'failed');
    assert.match(done.reason ?? '', /pre-traffic check failed/);
    assert.deepEqual(await alias('precheck'), before, 'the alias was not touched');
  });

  test('commands and refusals', async () => {
    await fn('commands', {});
    const rollout = await start('commands', { steps: [0.5], interval: '1m' });
    const again = await api('POST', '/v1/functions/commands/aliases/live/rollouts', { to: '2' });
    assert.equal(errorCode(again), 'RolloutInProgress');
    assert.equal(errorCode(await api('DELETE', '/v1/functions/commands/versions/2')), 'VersionInUse');
    await until(rollout.id, (r) => r.step === 1);
    assert.equal(
      ((await api('POST', `/v1/rollouts/${rollout.id}/pause`)).body as RolloutView).status,
      'paused',
    );
    assert.equal(
      ((await api('POST', `/v1/rollouts/${rollout.id}/resume`)).body as RolloutView).status,
      'running',
    );
    const promoted = (await api('POST', `/v1/rollouts/${rollout.id}/promote`)).body as RolloutView;
    assert.equal(promoted.status, 'succeeded');
    assert.equal((await alias('commands')).version, '2');
    assert.equal(
      errorCode(await api('GET', '/v1/rollouts/00000000-0000-0000-0000-000000000000')),
      'RolloutNotFound',
    );
    assert.equal(
      errorCode(await api('POST', '/v1/functions/commands/aliases/live/rollouts', { to: '2' })),
      'InvalidArgument',
    );
    assert.equal(
      errorCode(await api('POST', '/v1/functions/commands/aliases/live/rollouts', { to: '9' })),
      'VersionNotFound',
    );
  });

  test('a server killed mid-rollout continues from its step after a restart, never twice', async () => {
    await fn('restart', {});
    const rollout = await start('restart', { steps: [0.2, 0.5], interval: '3s', minInvocations: 3 });
    let load = traffic('restart', 20);
    await until(rollout.id, (r) => r.step === 1);
    await load.stop();
    await server.kill();
    server = await startSluice(dataDir);
    api = apiClient(server.url, server.token);
    load = traffic('restart', 20);
    const done = await until(rollout.id, (r) => r.status !== 'running');
    await load.stop();
    assert.equal(done.status, 'succeeded', done.reason ?? '');
    const steps = done.events.filter((e) => e.kind === 'step').map((e) => e.message.slice(0, 10));
    assert.deepEqual(steps, [...new Set(steps)], 'no step taken twice');
    assert.equal((await alias('restart')).version, '2');
  });
});
