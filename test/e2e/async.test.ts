import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiCall, errorCode } from '../support/api-client.js';
import { REPORTING_HANDLER, startCollector, type Collector } from '../support/collector.js';
import { createFunctions, zipOf } from '../support/code.js';
import { runSluice } from '../support/cli.js';
import { makeDataDir, type SluiceProcess, startSluice } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25: asynchronous invocation through an alias's routing, on one node with the embedded store.

interface Record_ {
  requestId: string;
  status: string;
  version: string | null;
  qualifier: string;
  source: string;
  attempts: { version: string | null; errorCode?: string }[];
  result?: string;
  error?: { code: string; message: string };
  destination?: { target: string; status: string; requestId?: string; error?: string };
}

async function queue(api: ApiCall, fn: string, qualifier: string, payload: unknown): Promise<string> {
  const res = await api('POST', `/v1/functions/${fn}/invocations?qualifier=${qualifier}`, payload, {
    'x-fc-invocation-type': 'Async',
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  const id = res.headers.get('x-fc-request-id') ?? '';
  assert.deepEqual(res.body, { requestId: id, status: 'queued' });
  return id;
}

async function records(api: ApiCall, fn: string): Promise<Record_[]> {
  const all: Record_[] = [];
  let token: string | null = null;
  do {
    const res = await api(
      'GET',
      `/v1/functions/${fn}/async-invocations?limit=100${token ? `&nextToken=${token}` : ''}`,
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const page = res.body as { invocations: Record_[]; nextToken: string | null };
    all.push(...page.invocations);
    token = page.nextToken;
  } while (token);
  return all;
}

/** Runs per request id, from the handlers' own reports. */
function runsById(collector: Collector): Map<string, { version: string; failed: boolean }[]> {
  const runs = new Map<string, { version: string; failed: boolean }[]>();
  for (const post of collector.on('/ran')) {
    const id = String(post.body.id);
    runs.set(id, [
      ...(runs.get(id) ?? []),
      { version: String(post.body.version), failed: post.body.failed === true },
    ]);
  }
  return runs;
}

/** Function `f`: versions 1 and 2 of the reporting handler, alias `live` on 1 with 2 at `weight`. */
async function releaseWithCanary(api: ApiCall, collector: Collector, sleepMs = 0): Promise<void> {
  const env = { COLLECTOR: String(collector.port), SLEEP_MS: String(sleepMs) };
  await createFunctions(api, [
    [
      'f',
      await zipOf({ 'index.js': REPORTING_HANDLER }),
      // A generous timeout: an attempt timed out on a loaded machine after it ran would be run again by a retry.
      { runtime: 'nodejs20', timeout: 60, environmentVariables: env },
    ],
  ]);
  assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
  const v2 = await zipOf({ 'index.js': `${REPORTING_HANDLER}\n// release 2\n` });
  assert.equal((await api('PUT', '/v1/functions/f/code', v2)).status, 200);
  assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
  const alias = await api('PUT', '/v1/functions/f/aliases/live', {
    version: '1',
    canary: { version: '2', weight: 0.2 },
  });
  assert.equal(alias.status, 201, JSON.stringify(alias.body));
}

describe('asynchronous invocation', () => {
  let collector: Collector;
  let dir: Awaited<ReturnType<typeof makeDataDir>>;
  let server: SluiceProcess;
  let api: ApiCall;

  before(async () => {
    collector = await startCollector((path) => (path === '/refuse' ? 503 : 200));
    dir = await makeDataDir();
    server = await startSluice(dir.dataDir);
    api = apiClient(server.url, server.token);
    await releaseWithCanary(api, collector);
  });

  after(async () => {
    await server.stop().catch(() => undefined);
    await collector.close();
    await dir.remove();
  });

  it('1,000 invocations through a 20 % canary: each runs once, its record names the version, the split is within 4σ', async (t) => {
    const ids: string[] = [];
    for (let batch = 0; batch < 1000; batch += 50) {
      ids.push(
        ...(await Promise.all(
          Array.from({ length: 50 }, (_, i) => queue(api, 'f', 'live', { n: batch + i })),
        )),
      );
    }
    assert.equal(new Set(ids).size, 1000);
    const ended = await waitFor(
      async () => {
        const all = await records(api, 'f');
        return all.length === 1000 && all.every((r) => r.status === 'succeeded') && all;
      },
      { timeout: 180_000, interval: 500, what: '1,000 invocations to succeed' },
    );
    const runs = runsById(collector);
    for (const record of ended) {
      const ran = runs.get(record.requestId) ?? [];
      assert.equal(ran.length, 1, `${record.requestId} ran ${ran.length} times`);
      assert.equal(record.attempts.length, 1);
      assert.equal(record.version, ran[0]?.version, 'the record names the version that ran');
      assert.equal(record.attempts[0]?.version, record.version);
      assert.equal(record.result, `ok ${record.version}`);
      assert.equal(record.qualifier, 'live');
      assert.equal(record.source, 'async');
    }
    // Logged per version with its source, under the alias: what a rollout's guardrails count.
    const sample = ended[0] as Record_;
    const logged = await waitFor(
      async () => {
        const res = await api('GET', `/v1/functions/f/logs?requestId=${sample.requestId}`);
        return (res.body as { logs: { source?: string; versionId: string; qualifier: string }[] }).logs[0];
      },
      { timeout: 10_000, what: 'the log of an asynchronous invocation' },
    );
    assert.deepEqual([logged.source, logged.versionId, logged.qualifier], ['async', sample.version, 'live']);
    const canary = ended.filter((r) => r.version === '2').length;
    const sigma = Math.sqrt(1000 * 0.2 * 0.8);
    t.diagnostic(`canary ran ${canary} of 1000 (expected 200 ± ${(4 * sigma).toFixed(1)})`);
    assert.ok(Math.abs(canary - 200) <= 4 * sigma, `canary share ${canary} / 1000`);
    assert.equal(ended.filter((r) => r.version === '1').length, 1000 - canary);
  });

  it("a failing version's events are retried, then reach the failure destination with every attempt's version", async () => {
    await createFunctions(api, [
      [
        'dlq',
        await zipOf({ 'index.js': REPORTING_HANDLER }),
        { runtime: 'nodejs20', environmentVariables: { COLLECTOR: String(collector.port) } },
      ],
    ]);
    // Version 3 fails: its configuration lists itself.
    const patched = await api('PATCH', '/v1/functions/f', {
      environmentVariables: { COLLECTOR: String(collector.port), FAIL_VERSIONS: '3' },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
    assert.equal((await api('PUT', '/v1/functions/f/aliases/bad', { version: '3' })).status, 201);
    const config = await api('PUT', '/v1/functions/f/async-config', {
      maxRetries: 1,
      onFailure: { function: 'dlq' },
      onSuccess: { url: `${collector.url}/success` },
    });
    assert.equal(config.status, 200, JSON.stringify(config.body));
    const failing = await Promise.all(Array.from({ length: 5 }, (_, n) => queue(api, 'f', 'bad', { n })));
    const passing = await queue(api, 'f', '1', { n: 'one' });
    const ended = await waitFor(
      async () => {
        const all = await Promise.all(
          [...failing, passing].map(
            async (id) => (await api('GET', `/v1/functions/f/async-invocations/${id}`)).body as Record_,
          ),
        );
        return (
          all.every(
            (r) => (r.status === 'failed' || r.status === 'succeeded') && r.destination?.status !== 'pending',
          ) && all
        );
      },
      { timeout: 60_000, interval: 300, what: 'the failing events to fail after their retry' },
    );
    for (const record of ended.slice(0, 5)) {
      assert.equal(record.status, 'failed');
      assert.deepEqual(
        record.attempts.map((a) => [a.version, a.errorCode]),
        [
          ['3', 'UnhandledInvocationError'],
          ['3', 'UnhandledInvocationError'],
        ],
      );
      assert.equal(record.destination?.status, 'delivered');
      assert.equal(record.destination.target, 'function:dlq:$DEFAULT');
    }
    const dead = await waitFor(
      () => {
        const got = collector
          .on('/ran')
          .filter((p) => (p.body.payload as { status?: string }).status === 'failed');
        return got.length === 5 && got;
      },
      { timeout: 30_000, what: 'five records at the failure destination' },
    );
    assert.deepEqual(
      new Set(dead.map((p) => (p.body.payload as { requestId: string }).requestId)),
      new Set(failing),
    );
    for (const post of dead) {
      const record = post.body.payload as Record_;
      assert.equal(record.version, '3');
      assert.equal(record.attempts.length, 2);
      assert.equal(record.error?.code, 'UnhandledInvocationError');
    }
    const success = ended[5] as Record_;
    assert.equal(success.status, 'succeeded');
    assert.equal(success.destination?.status, 'delivered');
    const hook = collector.on('/success').find((p) => p.body.requestId === passing);
    assert.equal(hook?.body.version, '1');
    assert.equal(hook.body.result, 'ok 1');
  });

  it('refuses bad asynchronous requests with a clear error, and queues nothing', async () => {
    const before = (await records(api, 'f')).length;
    const post = (qualifier: string, headers: Record<string, string>, body: unknown = '{}', query = '') =>
      api('POST', `/v1/functions/f/invocations?qualifier=${qualifier}${query}`, body, headers);
    const cases: [string, Promise<Awaited<ReturnType<ApiCall>>>, number, string][] = [
      [
        'an unknown invocation type',
        post('live', { 'x-fc-invocation-type': 'Later' }),
        400,
        'InvalidArgument',
      ],
      ['async=maybe', post('live', {}, '{}', '&async=maybe'), 400, 'InvalidArgument'],
      [
        'a contradiction',
        post('live', { 'x-fc-invocation-type': 'Sync' }, '{}', '&async=true'),
        400,
        'InvalidArgument',
      ],
      ['a missing alias', post('nope', { 'x-fc-invocation-type': 'Async' }), 404, 'AliasNotFound'],
      ['a missing version', post('99', { 'x-fc-invocation-type': 'Async' }), 404, 'VersionNotFound'],
      [
        'a pin',
        post('live', { 'x-fc-invocation-type': 'Async', 'x-sluice-version': '2' }),
        400,
        'InvalidArgument',
      ],
      [
        'a log tail',
        post('live', { 'x-fc-invocation-type': 'Async', 'x-fc-log-type': 'Tail' }),
        400,
        'InvalidArgument',
      ],
      [
        'a bad routing key',
        post('live', { 'x-fc-invocation-type': 'Async', 'x-sluice-routing-key': '{' }),
        400,
        'InvalidArgument',
      ],
      [
        'too large a payload',
        post('live', { 'x-fc-invocation-type': 'Async' }, 'x'.repeat(256 * 1024 + 1)),
        413,
        'PayloadTooLarge',
      ],
      ['no token', post('live', { 'x-fc-invocation-type': 'Async', authorization: '' }), 401, 'Unauthorized'],
      [
        'a missing function',
        api('POST', '/v1/functions/nope/invocations?async=true', '{}'),
        404,
        'FunctionNotFound',
      ],
    ];
    for (const [what, call, status, code] of cases) {
      const res = await call;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), code, what);
    }
    assert.equal((await records(api, 'f')).length, before, 'nothing was queued');

    const settingsBefore = (await api('GET', '/v1/functions/f/async-config')).body;
    const bad = await api('PUT', '/v1/functions/f/async-config', {
      maxRetries: 9,
      maxEventAgeSeconds: 0,
      onSuccess: { url: 'ftp://x' },
      onFailure: { function: 'f', extra: 1 },
      colour: 'red',
    });
    assert.equal(bad.status, 400);
    const paths = (bad.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path);
    for (const path of ['maxRetries', 'maxEventAgeSeconds', 'onSuccess', 'colour'])
      assert.ok(paths.includes(path), `${path} named in ${paths.join(', ')}`);
    const credentials = await api('PUT', '/v1/functions/f/async-config', {
      onSuccess: { url: 'http://u:p@127.0.0.1/' },
    });
    assert.equal(errorCode(credentials), 'InvalidArgument');
    const gone = await api('PUT', '/v1/functions/f/async-config', { onFailure: { function: 'ghost' } });
    assert.equal(errorCode(gone), 'FunctionNotFound');
    const noAlias = await api('PUT', '/v1/functions/f/async-config', {
      onFailure: { function: 'dlq', qualifier: 'nope' },
    });
    assert.equal(errorCode(noAlias), 'AliasNotFound');
    assert.deepEqual((await api('GET', '/v1/functions/f/async-config')).body, settingsBefore, 'unchanged');

    assert.equal(
      errorCode(await api('GET', '/v1/functions/f/async-invocations/nope')),
      'AsyncInvocationNotFound',
    );
    assert.equal(
      errorCode(await api('GET', '/v1/functions/f/async-invocations?status=done')),
      'InvalidArgument',
    );
    assert.equal(
      errorCode(await api('GET', '/v1/functions/f/async-invocations?nextToken=forged')),
      'InvalidArgument',
    );
    assert.equal(errorCode(await api('GET', '/v1/functions/ghost/async-invocations')), 'FunctionNotFound');
    const anonymous = apiClient(server.url, undefined);
    assert.equal((await anonymous('GET', '/v1/functions/f/async-invocations')).status, 401);
  });

  it('the CLI queues with invoke --async and reads the record with async get and list', async () => {
    const env = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
    const queued = await runSluice(
      ['invoke', 'f', '--qualifier', '1', '--payload', '{"cli":true}', '--async'],
      dir.dataDir,
      env,
    );
    assert.equal(queued.code, 0, queued.stderr);
    const id = queued.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    const record = await waitFor(
      async () => {
        const got = await runSluice(['async', 'get', 'f', id, '--json'], dir.dataDir, env);
        const view = JSON.parse(got.stdout) as Record_;
        return view.status === 'succeeded' && view;
      },
      { timeout: 30_000, interval: 200, what: 'the CLI’s invocation to succeed' },
    );
    assert.equal(record.version, '1');
    const shown = await runSluice(['async', 'get', 'f', id], dir.dataDir, env);
    assert.match(shown.stdout, /status: +succeeded/);
    assert.match(shown.stdout, /version: +1/);
    const listed = await runSluice(
      ['async', 'list', 'f', '--status', 'succeeded', '--limit', '5'],
      dir.dataDir,
      env,
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(id));
    const usage = await runSluice(['invoke', 'f', '--async', '--log'], dir.dataDir, env);
    assert.equal(usage.code, 2);
    const set = await runSluice(
      ['async', 'config', 'f', '--max-retries', '0', '--on-failure', 'none'],
      dir.dataDir,
      env,
    );
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /max retries: +0/);
  });
});

describe('asynchronous invocation across a crash', () => {
  it('a server SIGKILLed while 500 events are queued runs every one of them after its restart', async (t) => {
    const collector = await startCollector();
    const dir = await makeDataDir();
    let server = await startSluice(dir.dataDir);
    try {
      let api = apiClient(server.url, server.token);
      await releaseWithCanary(api, collector, 100);
      const ids: string[] = [];
      for (let batch = 0; batch < 500; batch += 50)
        ids.push(
          ...(await Promise.all(
            Array.from({ length: 50 }, (_, i) => queue(api, 'f', 'live', { n: batch + i })),
          )),
        );
      await server.kill();
      const ranBefore = runsById(collector).size;
      t.diagnostic(`${ranBefore} of 500 had run when the server was killed`);
      assert.ok(ranBefore < 500, 'the kill came while events were queued');
      server = await startSluice(dir.dataDir);
      api = apiClient(server.url, server.token);
      const ended = await waitFor(
        async () => {
          const all = await records(api, 'f');
          return all.length === 500 && all.every((r) => r.status === 'succeeded') && all;
        },
        { timeout: 120_000, interval: 500, what: 'all 500 to succeed after the restart' },
      );
      const runs = runsById(collector);
      for (const id of ids) assert.ok((runs.get(id)?.length ?? 0) >= 1, `${id} never ran`);
      const twice = ids.filter((id) => (runs.get(id)?.length ?? 0) > 1);
      t.diagnostic(`${twice.length} ran twice: they were running when the server was killed (at least once)`);
      assert.ok(twice.length <= 10, 'only those in flight at the kill (10 at most) may run again');
      for (const record of ended) assert.equal(record.version, runs.get(record.requestId)?.at(-1)?.version);
    } finally {
      await server.stop().catch(() => undefined);
      await collector.close();
      await dir.remove();
    }
  });
});
