import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { apiClient, type ApiCall, errorCode } from '../support/api-client.js';
import { REPORTING_HANDLER, type Collector } from '../support/collector.js';
import { zipOf } from '../support/code.js';
import { runSluice } from '../support/cli.js';
import { startReportingServer, type ReportingServer } from '../support/reporting-server.js';
import type { SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25: triggers are resources bound to a qualifier; timers fire through the asynchronous queue.

/** A timer's firings as its handler saw them: the event's trigger time and the version that ran. */
function firings(collector: Collector, trigger: string): { at: number; version: string }[] {
  return collector
    .on('/ran')
    .map((p) => ({
      payload: p.body.payload as { triggerName?: string; triggerTime?: string },
      version: String(p.body.version),
    }))
    .filter((p) => p.payload.triggerName === trigger)
    .map((p) => ({ at: Date.parse(p.payload.triggerTime ?? ''), version: p.version }));
}

describe('triggers on one node', () => {
  let collector: Collector;
  let fixture: ReportingServer;
  let server: SluiceProcess;
  let api: ApiCall;

  before(async () => {
    fixture = await startReportingServer(REPORTING_HANDLER);
    ({ collector, server, api } = fixture);
    assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
    assert.equal(
      (await api('PUT', '/v1/functions/f/code', await zipOf({ 'index.js': `${REPORTING_HANDLER}//2\n` })))
        .status,
      200,
    );
    assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
    assert.equal((await api('PUT', '/v1/functions/f/aliases/live', { version: '1' })).status, 201);
  });

  after(async () => {
    await fixture.close();
  });

  it('a timer bound to an alias fires through it; moving the alias moves its firings; the alias cannot be deleted under it', async () => {
    const created = await api('POST', '/v1/functions/f/triggers', {
      name: 'tick',
      kind: 'timer',
      schedule: '@every 1s',
      qualifier: 'live',
      payload: 'hello',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.get('location'), '/v1/functions/f/triggers/tick');
    await waitFor(() => firings(collector, 'tick').some((f) => f.version === '1'), {
      timeout: 20_000,
      what: 'the timer to fire version 1',
    });
    const ran = collector
      .on('/ran')
      .find((p) => (p.body.payload as { triggerName?: string }).triggerName === 'tick');
    assert.equal((ran?.body.payload as { payload: string }).payload, 'hello');
    assert.equal(ran?.body.qualifier, 'live');

    const refused = await api('DELETE', '/v1/functions/f/aliases/live');
    assert.equal(refused.status, 409);
    assert.equal(errorCode(refused), 'AliasInUse');
    assert.deepEqual((refused.body as { error: { details: unknown } }).error.details, { triggers: ['tick'] });
    assert.equal((await api('GET', '/v1/functions/f/aliases/live')).status, 200, 'the alias is still there');

    assert.equal((await api('PUT', '/v1/functions/f/aliases/live', { version: '2' })).status, 200);
    const moved = Date.now();
    await waitFor(() => firings(collector, 'tick').some((f) => f.version === '2' && f.at > moved), {
      timeout: 20_000,
      what: 'the timer to follow the alias to version 2',
    });
    const records = (await api('GET', '/v1/functions/f/async-invocations?limit=100')).body as {
      invocations: { source: string; version: string | null; qualifier: string }[];
    };
    const timerRecords = records.invocations.filter((r) => r.source === 'timer:tick');
    assert.ok(timerRecords.length >= 2);
    assert.ok(timerRecords.every((r) => r.qualifier === 'live'));

    const view = (await api('GET', '/v1/functions/f/triggers/tick')).body as { lastFiredAt: string | null };
    assert.ok(view.lastFiredAt !== null);
    const disabled = await api('PUT', '/v1/functions/f/triggers/tick', {
      kind: 'timer',
      schedule: '@every 1s',
      qualifier: 'live',
      enabled: false,
    });
    assert.equal(disabled.status, 200, JSON.stringify(disabled.body));
    await delay(1500);
    const count = firings(collector, 'tick').length;
    await delay(2500);
    assert.equal(firings(collector, 'tick').length, count, 'a disabled timer fires nothing');
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/tick')).status, 204);
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/tick')).status, 404);
  });

  it('refuses bad triggers with every problem named, and stores nothing', async () => {
    const cases: [string, unknown, number, string, string?][] = [
      [
        'a bad schedule',
        { name: 'a', kind: 'timer', schedule: '61 * * * *' },
        400,
        'InvalidArgument',
        'schedule',
      ],
      [
        'too short a period',
        { name: 'a', kind: 'timer', schedule: '@every 10ms' },
        400,
        'InvalidArgument',
        'schedule',
      ],
      [
        'a missing alias',
        { name: 'a', kind: 'timer', schedule: '@daily', qualifier: 'nope' },
        404,
        'AliasNotFound',
      ],
      [
        'a missing version',
        { name: 'a', kind: 'timer', schedule: '@daily', qualifier: '9' },
        404,
        'VersionNotFound',
      ],
      [
        'a bad qualifier',
        { name: 'a', kind: 'timer', schedule: '@daily', qualifier: 'a b' },
        400,
        'InvalidArgument',
        'qualifier',
      ],
      ['a bad name', { name: '1a', kind: 'timer', schedule: '@daily' }, 400, 'InvalidArgument'],
      ['an unknown kind', { name: 'a', kind: 'cron', schedule: '@daily' }, 400, 'InvalidArgument'],
      [
        'an unknown field',
        { name: 'a', kind: 'timer', schedule: '@daily', colour: 'red' },
        400,
        'InvalidArgument',
      ],
      [
        'a queue without a stream',
        { name: 'a', kind: 'queue', url: 'nats://127.0.0.1:4222', subject: 'x' },
        400,
        'InvalidArgument',
      ],
      [
        'a queue without a subject',
        { name: 'a', kind: 'queue', url: 'nats://127.0.0.1:4222', stream: 'S' },
        400,
        'InvalidArgument',
        'subject',
      ],
      [
        'a queue at a URL that is not nats://',
        { name: 'a', kind: 'queue', url: 'http://127.0.0.1:4222', stream: 'S', subject: 'x' },
        400,
        'InvalidArgument',
        'url',
      ],
      [
        'a queue at no URL',
        { name: 'a', kind: 'queue', url: 'nats//nowhere', stream: 'S', subject: 'x' },
        400,
        'InvalidArgument',
        'url',
      ],
      [
        'a queue whose subject has > before its end',
        { name: 'a', kind: 'queue', url: 'nats://127.0.0.1:4222', stream: 'S', subject: 'orders.>.x' },
        400,
        'InvalidArgument',
        'subject',
      ],
      [
        'a queue stream with a dot',
        { name: 'a', kind: 'queue', url: 'nats://127.0.0.1:4222', stream: 'S.1', subject: 'x' },
        400,
        'InvalidArgument',
      ],
      [
        'a queue with a timer field',
        {
          name: 'a',
          kind: 'queue',
          url: 'nats://127.0.0.1:4222',
          stream: 'S',
          subject: 'x',
          schedule: '@daily',
        },
        400,
        'InvalidArgument',
        'schedule',
      ],
      [
        'a queue with no concurrency',
        { name: 'a', kind: 'queue', url: 'nats://127.0.0.1:4222', stream: 'S', subject: 'x', concurrency: 0 },
        400,
        'InvalidArgument',
      ],
    ];
    for (const [what, body, status, code, path] of cases) {
      const res = await api('POST', '/v1/functions/f/triggers', body);
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), code, what);
      if (path !== undefined) {
        const paths = (res.body as { error: { details: { path: string }[] } }).error.details.map(
          (d) => d.path,
        );
        assert.ok(paths.includes(path), `${what}: ${paths.join(', ')}`);
      }
    }
    assert.deepEqual((await api('GET', '/v1/functions/f/triggers')).body, { triggers: [] });
    assert.equal(errorCode(await api('GET', '/v1/functions/ghost/triggers')), 'FunctionNotFound');
    assert.equal(errorCode(await api('GET', '/v1/functions/f/triggers/ghost')), 'TriggerNotFound');
    assert.equal(
      errorCode(await api('PUT', '/v1/functions/f/triggers/ghost', { kind: 'timer', schedule: '@daily' })),
      'TriggerNotFound',
    );
    assert.equal((await apiClient(server.url, undefined)('GET', '/v1/functions/f/triggers')).status, 401);
    const first = await api('POST', '/v1/functions/f/triggers', {
      name: 'daily',
      kind: 'timer',
      schedule: '0 3 * * *',
    });
    assert.equal(first.status, 201);
    const again = await api('POST', '/v1/functions/f/triggers', {
      name: 'daily',
      kind: 'timer',
      schedule: '@hourly',
    });
    assert.equal(errorCode(again), 'TriggerAlreadyExists');
    assert.equal(
      ((await api('GET', '/v1/functions/f/triggers/daily')).body as { schedule: string }).schedule,
      '0 3 * * *',
    );
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/daily')).status, 204);
  });

  it('the CLI creates, lists, updates and deletes a trigger', async () => {
    const env = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
    const run = (...args: string[]) => runSluice(args, fixture.dataDir, env);
    const created = await run(
      'trigger',
      'create',
      'f',
      'nightly',
      '--timer',
      '0 2 * * *',
      '-q',
      'live',
      '--payload',
      'p',
    );
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /invokes: +live/);
    const listed = await run('trigger', 'list', 'f');
    assert.match(listed.stdout, /nightly +live +timer 0 2 \* \* \*/);
    const updated = await run('trigger', 'update', 'f', 'nightly', '--timer', '@daily', '-q', '1', '--json');
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal((JSON.parse(updated.stdout) as { qualifier: string }).qualifier, '1');
    assert.equal(
      (await run('trigger', 'create', 'f', 'x', '--timer', '@daily', '--queue', 'nats://127.0.0.1:4222'))
        .code,
      2,
    );
    const deleted = await run('trigger', 'delete', 'f', 'nightly');
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await run('trigger', 'get', 'f', 'nightly');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /TriggerNotFound/);
  });

  it('a timer whose server was down fires what it missed at most once when it is back', async () => {
    const created = await api('POST', '/v1/functions/f/triggers', {
      name: 'beat',
      kind: 'timer',
      schedule: '@every 1s',
      qualifier: 'live',
    });
    assert.equal(created.status, 201);
    await waitFor(() => firings(collector, 'beat').length >= 2, {
      timeout: 20_000,
      what: 'the timer to fire twice',
    });
    await server.stop();
    const down = Date.now();
    await delay(5000);
    await fixture.restart();
    ({ server, api } = fixture);
    const up = Date.now();
    await waitFor(() => firings(collector, 'beat').some((f) => f.at >= up), {
      timeout: 20_000,
      what: 'the timer to fire after the restart',
    });
    const missed = firings(collector, 'beat').filter((f) => f.at > down + 1000 && f.at < up - 1000);
    assert.ok(missed.length <= 1, `fired ${missed.length} of the times missed while down`);
    const times = firings(collector, 'beat').map((f) => f.at);
    assert.equal(new Set(times).size, times.length, 'no time fired twice');
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/beat')).status, 204);
  });
});
