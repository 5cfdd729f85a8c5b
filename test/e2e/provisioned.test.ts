import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import parsePrometheus from 'parse-prometheus-text-format';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { runSluice } from '../support/cli.js';
import { createFunctions, zipOf } from '../support/code.js';
import { hostProcesses } from '../support/processes.js';
import {
  makeDataDir,
  OWN_INSTANCE_UIDS_FLAG,
  startSluice,
  type SluiceProcess,
} from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 22 end to end, on one node with the embedded store: an alias's provisioned instances split between its
// primary and canary, warm for every call, moved by a promotion without a failed request, replaced after a
// SIGKILL within a second, started again by a restarted server; `$LATEST` alone (seed 000), with on-demand
// instances beyond the provisioned ones; and a ratio that follows the canary's weight. The two-node half is in
// provisioned-multi-node.test.ts.

/** Tells its version, its instance and its process; sleeps `ms` of the event when asked. */
const HANDLER = (version: number) => `const instance = Math.random().toString(36).slice(2);
exports.handler = async (event) => {
  const ms = Number(event.toString()) || 0;
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  return { version: ${version}, instance, pid: process.pid, uid: process.getuid() };
};`;

let dataDir: string;
let removeDir: () => Promise<void>;
let server: SluiceProcess;
let api: ApiCall;

async function start(): Promise<void> {
  // The SIGKILL test finds its instances by uid: its own uids, never another run's on this host.
  server = await startSluice(dataDir, OWN_INSTANCE_UIDS_FLAG);
  api = apiClient(server.url, server.token);
}

before(async () => {
  ({ dataDir, remove: removeDir } = await makeDataDir());
  await start();
  // Room for a burst of calls on each instance: with one call per instance, callers beyond a version's
  // provisioned instances would rightly start on-demand ones (the $LATEST test shows that).
  await createFunctions(api, [
    ['f', await zipOf({ 'index.js': HANDLER(1) }), { runtime: 'nodejs20', instanceConcurrency: 10 }],
    ['g', await zipOf({ 'index.js': HANDLER(0) }), { runtime: 'nodejs20', instanceConcurrency: 1 }],
  ]);
  assert.equal((await api('POST', '/v1/functions/f/versions')).status, 201);
  assert.equal(
    (await api('PUT', '/v1/functions/f/code', await zipOf({ 'index.js': HANDLER(2) }))).status,
    200,
  );
  assert.equal((await api('POST', '/v1/functions/f/versions')).status, 201);
  const alias = await api('PUT', '/v1/functions/f/aliases/live', {
    version: '1',
    canary: { version: '2', weight: 0.2 },
  });
  assert.equal(alias.status, 201);
});

after(async () => {
  await server.stop();
  await removeDir();
});

interface VersionCounts {
  version: string;
  role: string;
  target: number;
  started: number;
  ready: number;
  failed: number;
}
interface View {
  target: number;
  versions: VersionCounts[];
  nodes: { node: string; versions: VersionCounts[] }[];
}

async function view(fn: string, qualifier: string): Promise<View> {
  const res = await api('GET', `/v1/functions/${fn}/provisioned/${qualifier}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as View;
}

/** Version → ready instances, as `/readyz` tells of this node this instant. */
async function readyHere(fn: string, qualifier: string): Promise<Record<string, number>> {
  const body = (await (await fetch(`${server.url}/readyz`)).json()) as {
    provisioned: {
      instances: { functionName: string; qualifier: string; versionId: string; ready: number }[];
    };
  };
  const out: Record<string, number> = {};
  for (const r of body.provisioned.instances)
    if (r.functionName === fn && r.qualifier === qualifier)
      out[r.versionId] = (out[r.versionId] ?? 0) + r.ready;
  return out;
}

/** Waits until the API shows exactly `expected` (version → instances) started and ready, and no other. */
async function settled(fn: string, qualifier: string, expected: Record<string, number>, timeout = 20_000) {
  return waitFor(
    async () => {
      const v = await view(fn, qualifier);
      const got = Object.fromEntries(
        v.versions.filter((x) => x.target > 0 || x.started > 0).map((x) => [x.version, [x.started, x.ready]]),
      );
      assert.deepEqual(got, Object.fromEntries(Object.entries(expected).map(([k, n]) => [k, [n, n]])));
      return v;
    },
    { timeout, what: `${fn}/${qualifier} to run ${JSON.stringify(expected)}` },
  );
}

/** `sluice_*` samples of one function in /metrics, as [labels, value]. */
async function samples(name: string, fn: string): Promise<[Record<string, string>, number][]> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } });
  const family = parsePrometheus(await res.text()).find((f) => f.name === name);
  return (family?.metrics ?? [])
    .filter((m) => m.labels?.function === fn)
    .map((m) => [m.labels ?? {}, Number((m as { value: string }).value)]);
}

const total = (rows: [Record<string, string>, number][], match: Record<string, string> = {}) =>
  rows
    .filter(([labels]) => Object.entries(match).every(([k, v]) => labels[k] === v))
    .reduce((n, [, value]) => n + value, 0);

interface Call {
  status: number;
  version: number | undefined;
  instance: string | undefined;
  pid: number;
  uid: number;
  /** The log tail's REPORT names an Init Duration: the call waited for its instance to start. */
  cold: boolean;
}

async function call(fn: string, qualifier: string, sleepMs = 0): Promise<Call> {
  const res = await fetch(
    `${server.url}/v1/functions/${fn}/invocations?qualifier=${encodeURIComponent(qualifier)}`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}`, 'x-fc-log-type': 'Tail' },
      body: String(sleepMs),
    },
  );
  const text = await res.text();
  const tail = Buffer.from(res.headers.get('x-fc-log-result') ?? '', 'base64').toString();
  const body = res.status === 200 ? (JSON.parse(text) as Partial<Call>) : {};
  return {
    status: res.status,
    version: body.version,
    instance: body.instance,
    pid: body.pid ?? 0,
    uid: body.uid ?? 0,
    cold: /Init Duration/.test(tail),
  };
}

test('10 provisioned at ratio 0.2 on live (1 primary, 2 canary at 20 %): exactly 8 of version 1 and 2 of version 2', async () => {
  const put = await api('PUT', '/v1/functions/f/provisioned/live', { target: 10, canaryRatio: 0.2 });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  const v = await settled('f', 'live', { '1': 8, '2': 2 });
  assert.deepEqual(
    v.versions.map((x) => [x.version, x.role, x.target, x.failed]),
    [
      ['1', 'primary', 8, 0],
      ['2', 'canary', 2, 0],
    ],
  );
  assert.equal(v.nodes.length, 1, 'one node runs them all');
  // The pool agrees: these are instances of this node, and the only ones of f.
  const provisioned = await samples('sluice_provisioned_instances', 'f');
  assert.equal(total(provisioned, { version: '1' }), 8);
  assert.equal(total(provisioned, { version: '2' }), 2);
  assert.equal(total(await samples('sluice_instances', 'f')), 10);
});

test('10 concurrent callers for 10 s see no cold start: the log tails and the metrics agree', async () => {
  const calls: Call[] = [];
  const until = performance.now() + 10_000;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (performance.now() < until) calls.push(await call('f', 'live'));
    }),
  );
  const failed = calls.filter((c) => c.status !== 200);
  assert.equal(failed.length, 0, `failed: ${JSON.stringify(failed.slice(0, 3))}`);
  assert.ok(calls.length > 100, `${calls.length} calls`);
  assert.deepEqual(
    calls.filter((c) => c.cold),
    [],
    'no REPORT names an Init Duration',
  );
  const canary = calls.filter((c) => c.version === 2).length / calls.length;
  assert.ok(canary > 0.1 && canary < 0.3, `the canary served ${canary}`);
  assert.equal(total(await samples('sluice_cold_starts_total', 'f')), 0);
  const byInstance = await samples('sluice_invocations_by_instance_total', 'f');
  assert.equal(total(byInstance, { instance: 'provisioned' }), calls.length);
  assert.equal(total(byInstance, { instance: 'on-demand' }), 0);
  // Still exactly the provisioned ones: nothing was started on demand.
  assert.equal(total(await samples('sluice_instances', 'f')), 10);
});

test('promoting version 2 moves the instances, with no failed request at 200 req/s', async () => {
  const results: number[] = [];
  const pending: Promise<void>[] = [];
  const loading = new AbortController();
  const load = (async () => {
    const startedAt = performance.now();
    for (let n = 0; !loading.signal.aborted; n++) {
      // Paced by the clock, not by the answers: 200 calls a second whatever each takes.
      const wait = startedAt + n * 5 - performance.now();
      if (wait > 0) await delay(wait);
      pending.push(call('f', 'live').then((c) => void results.push(c.status)));
    }
  })();
  await delay(1000);
  const promoted = await api('PUT', '/v1/functions/f/aliases/live', { version: '2' });
  assert.equal(promoted.status, 200);
  await settled('f', 'live', { '2': 10 });
  await delay(1000);
  loading.abort();
  await load;
  await Promise.all(pending);
  assert.ok(results.length > 400, `${results.length} calls`);
  assert.deepEqual(
    results.filter((s) => s !== 200),
    [],
  );
  const provisioned = await samples('sluice_provisioned_instances', 'f');
  assert.equal(total(provisioned, { version: '1' }), 0, 'version 1 keeps no provisioned instance');
  assert.equal(total(provisioned, { version: '2' }), 10);
  // A promotion moves all traffic at once, before the new instances can be ready: calls beyond the ready ones'
  // room join those starting (counted as provisioned cold starts), never start instances of their own.
  const cold = await samples('sluice_cold_starts_by_instance_total', 'f');
  console.log(
    `promotion: ${results.length} calls, ${total(cold, { instance: 'provisioned' })} joined a starting provisioned instance`,
  );
  assert.equal(total(cold, { instance: 'on-demand' }), 0, 'no on-demand instance was started');
});

test('a provisioned instance killed with SIGKILL is replaced within a second', async () => {
  const victim = await call('f', '2');
  assert.equal(victim.status, 200);
  assert.deepEqual(await readyHere('f', 'live'), { '2': 10 });
  // Sandboxed instances all see themselves as the same pid, each in its own namespace: any of them will do.
  const mine = () =>
    hostProcesses().then((all) =>
      all.filter((p) => p.uid === victim.uid && p.nsPids.at(-1) === victim.pid).map((p) => p.pid),
    );
  const pids = await mine();
  assert.equal(pids.length, 10, `version 2's instances: ${pids.join(', ')}`);
  const pid = pids[0] as number;
  const killedAt = performance.now();
  process.kill(pid, 'SIGKILL');
  let sawGone = false;
  await waitFor(
    async () => {
      const ready = (await readyHere('f', 'live'))['2'];
      if (ready !== 10) sawGone = true;
      return sawGone && ready === 10;
    },
    { timeout: 10_000, what: 'the killed instance to be replaced' },
  );
  const replacedMs = performance.now() - killedAt;
  console.log(`provisioned instance replaced ${replacedMs.toFixed(0)} ms after SIGKILL`);
  assert.ok(replacedMs < 1000, `replaced after ${replacedMs} ms`);
  const now = await mine();
  assert.equal(now.length, 10);
  assert.ok(!now.includes(pid), 'the killed process is gone, another in its place');
  const after = await Promise.all(Array.from({ length: 10 }, () => call('f', '2')));
  assert.ok(!after.some((c) => c.status !== 200 || c.cold));
});

test('a restarted server starts them again', async () => {
  await server.stop();
  await start();
  await settled('f', 'live', { '2': 10 });
  assert.equal(total(await samples('sluice_provisioned_instances', 'f'), { version: '2' }), 10);
  const first = await call('f', 'live');
  assert.deepEqual([first.status, first.version, first.cold], [200, 2, false]);
});

test('$LATEST alone can be provisioned (seed 000); calls beyond its instances start on-demand ones', async () => {
  const put = await api('PUT', '/v1/functions/g/provisioned/$LATEST', { target: 1 });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  await settled('g', '$LATEST', { $LATEST: 1 });
  // One call per instance: the first call holds the provisioned one, the second needs one more.
  const [held, beyond] = await Promise.all([
    call('g', '$LATEST', 500),
    delay(100).then(() => call('g', 'LATEST')),
  ]);
  assert.deepEqual([held.status, held.cold, beyond.status, beyond.cold], [200, false, 200, true]);
  const byInstance = await samples('sluice_invocations_by_instance_total', 'g');
  assert.equal(total(byInstance, { instance: 'provisioned' }), 1);
  assert.equal(total(byInstance, { instance: 'on-demand' }), 1);
  const cold = await samples('sluice_cold_starts_by_instance_total', 'g');
  assert.equal(total(cold, { instance: 'provisioned' }), 0);
  assert.equal(total(cold, { instance: 'on-demand' }), 1);
  const list = await api('GET', '/v1/functions/g/provisioned');
  assert.deepEqual(
    (list.body as { provisioned: { qualifier: string; target: number }[] }).provisioned.map((p) => [
      p.qualifier,
      p.target,
    ]),
    [['$LATEST', 1]],
  );
  assert.equal((await api('DELETE', '/v1/functions/g/provisioned/$LATEST')).status, 204);
  await waitFor(async () => total(await samples('sluice_provisioned_instances', 'g')) === 0, {
    timeout: 10_000,
    what: "g's provisioned instance to stop",
  });
});

test('canaryRatio "weight" follows a rollout 10 % → 50 % → 100 %, starting new instances before stopping old ones', async () => {
  const alias = (weight: number) =>
    api('PUT', '/v1/functions/f/aliases/wave', { version: '1', canary: { version: '2', weight } });
  assert.equal((await alias(0.1)).status, 201);
  assert.equal(
    (await api('PUT', '/v1/functions/f/provisioned/wave', { target: 10, canaryRatio: 'weight' })).status,
    201,
  );
  await settled('f', 'wave', { '1': 9, '2': 1 });
  for (const [weight, expected] of [
    [0.5, { '1': 5, '2': 5 }],
    [1, { '2': 10 }],
  ] as const) {
    const before = await readyHere('f', 'wave');
    // Sampled all along the move: neither version's ready instances ever fall below both its old and new number.
    const floor = (v: '1' | '2') => Math.min(before[v] ?? 0, (expected as Record<string, number>)[v] ?? 0);
    const watching = new AbortController();
    const lows: Record<string, number>[] = [];
    const watch = (async () => {
      while (!watching.signal.aborted) {
        lows.push(await readyHere('f', 'wave'));
        await delay(10);
      }
    })();
    assert.equal((await alias(weight)).status, 200);
    await settled('f', 'wave', expected);
    watching.abort();
    await watch;
    for (const v of ['1', '2'] as const) {
      const least = Math.min(...lows.map((l) => l[v] ?? 0));
      assert.ok(least >= floor(v), `version ${v} fell to ${least} ready, below ${floor(v)}`);
    }
  }
});

test('the CLI sets, lists and deletes provisioned instances, and refuses bad input', async () => {
  const work = await makeDataDir();
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
  delete env.SLUICE_TOKEN_FILE;
  delete env.SLUICE_URL;
  const sluice = (...args: string[]) => runSluice(args, work.dataDir, env);
  try {
    const set = await sluice('provision', 'set', 'f', '1', '2', '--canary-ratio', '20%', '--json');
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual((JSON.parse(set.stdout) as { target: number; canaryRatio: number }).canaryRatio, 0.2);
    await settled('f', '1', { '1': 2 });
    const list = await sluice('provision', 'list', 'f');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /QUALIFIER\s+VERSION\s+ROLE\s+TARGET\s+STARTED\s+READY\s+FAILED/);
    assert.match(list.stdout, /^1\s+1\s+primary\s+2\s+2\s+2\s+0\s+20%$/m);
    assert.match(list.stdout, /^live\s+2\s+primary\s+10\s+10\s+10\s+0\s+20%$/m);
    assert.match(list.stdout, /^wave\s+2\s+canary\s+10\s+10\s+10\s+0\s+weight$/m);
    for (const bad of [
      ['provision', 'set', 'f', 'live', 'ten'],
      ['provision', 'set', 'f', 'live', '3', '--canary-ratio', '2'],
      ['provision', 'set', 'f', 'nosuch', '3'],
      ['provision', 'delete', 'f', '2'],
    ]) {
      const run = await sluice(...bad);
      assert.notEqual(run.code, 0, `sluice ${bad.join(' ')} succeeded`);
      assert.ok(run.stderr.length > 0);
    }
    const deleted = await sluice('provision', 'delete', 'f', '1');
    assert.equal(deleted.code, 0, deleted.stderr);
    const after = JSON.parse((await sluice('provision', 'list', 'f', '--json')).stdout) as {
      qualifier: string;
    }[];
    assert.deepEqual(
      after.map((p) => p.qualifier),
      ['live', 'wave'],
    );
  } finally {
    await work.remove();
  }
});
