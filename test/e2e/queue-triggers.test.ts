import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { NatsError } from 'nats';
import { type ApiCall, errorCode } from '../support/api-client.js';
import type { Collector } from '../support/collector.js';
import { maxOverlap, QUEUE_HANDLER, runs } from '../support/queue-handler.js';
import { zipOf } from '../support/code.js';
import { runSluice } from '../support/cli.js';
import { makeStream, NATS_URL, type TestStream } from '../support/nats.js';
import { startReportingServer, type ReportingServer } from '../support/reporting-server.js';
import type { SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25, item 3: a queue trigger is a JetStream durable consumer bound to a qualifier. These tests need
// NATS with JetStream (the machine's, at 127.0.0.1:4222) and fail, never skip, without it.

describe('queue triggers on one node', () => {
  let collector: Collector;
  let fixture: ReportingServer;
  let server: SluiceProcess;
  let api: ApiCall;
  let stream: TestStream;

  before(async () => {
    stream = await makeStream();
    fixture = await startReportingServer(QUEUE_HANDLER, { timeout: 60, environment: { SLEEP_MS: '50' } });
    ({ collector, server, api } = fixture);
    assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
    assert.equal((await api('PUT', '/v1/functions/f/aliases/live', { version: '1' })).status, 201);
  });

  after(async () => {
    await fixture.close();
    await stream.remove();
  });

  it('with a handler that fails on one message in ten, leaves no message unprocessed, at most `concurrency` at once', async (t) => {
    const env = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
    const cli = await runSluice(
      [
        'trigger',
        'create',
        'f',
        'orders',
        '--queue',
        NATS_URL,
        '--stream',
        stream.name,
        '--subject',
        `${stream.prefix}.orders.>`,
        '--concurrency',
        '3',
        '-q',
        'live',
      ],
      fixture.dataDir,
      env,
    );
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /invokes: +live/);
    const view = (await api('GET', '/v1/functions/f/triggers/orders')).body as Record<string, unknown>;
    assert.equal(view.kind, 'queue');
    assert.equal(view.concurrency, 3);

    const count = 100;
    for (let n = 1; n <= count; n++) await stream.publish(`${stream.prefix}.orders.n${n}`, { n });
    // Not the trigger's subject: never delivered to it.
    await stream.publish(`${stream.prefix}.other`, { n: 0 });
    const all = await waitFor(
      () => {
        const list = runs(collector, 'orders');
        const done = new Set(list.filter((r) => !r.failed).map((r) => r.n));
        return done.size === count && list;
      },
      { timeout: 120_000, interval: 200, what: 'every message to be processed' },
    );
    const failures = all.filter((r) => r.failed);
    assert.deepEqual(
      failures.map((r) => r.n).sort((x, y) => x - y),
      [10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
      'the first delivery of every tenth message failed, and only that',
    );
    for (const failure of failures) {
      const again = all.filter((r) => r.n === failure.n && !r.failed);
      const [retried] = again;
      assert.ok(retried && again.length === 1, `message ${failure.n} ran once more`);
      assert.equal(retried.deliveries, 2);
      assert.equal(retried.id, failure.id, 'a redelivery keeps its request id');
    }
    assert.equal(all.filter((r) => !r.failed).length, count, 'each message succeeded once');
    assert.ok(
      all.every((r) => r.version === '1'),
      'through the alias',
    );
    assert.ok(!all.some((r) => r.n === 0), 'nothing of another subject');
    const most = maxOverlap(all);
    t.diagnostic(`at most ${most} messages ran at once`);
    assert.ok(most <= 3, `at most 3 at once, not ${most}`);
    assert.equal(most, 3, 'the bound was reached');

    // The broker's side: nothing left to deliver or to acknowledge.
    const info = await waitFor(
      async () => {
        const i = await stream.manager.consumers.info(stream.name, 'sluice_f_orders');
        return i.num_pending === 0 && i.num_ack_pending === 0 && i;
      },
      { timeout: 10_000, interval: 200, what: 'the consumer to have nothing pending' },
    );
    assert.equal(info.num_redelivered, 0, 'no message is awaiting redelivery');
  });

  it('moving the alias moves the messages; a disabled trigger takes none until enabled again', async () => {
    assert.equal(
      (await api('PUT', '/v1/functions/f/code', await zipOf({ 'index.js': `${QUEUE_HANDLER}//2\n` }))).status,
      200,
    );
    assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
    assert.equal((await api('PUT', '/v1/functions/f/aliases/live', { version: '2' })).status, 200);
    await stream.publish(`${stream.prefix}.orders.moved`, { n: 1001 });
    await waitFor(() => runs(collector, 'orders').find((r) => r.n === 1001 && !r.failed), {
      timeout: 30_000,
      what: 'the message after the move',
    });
    assert.equal(runs(collector, 'orders').find((r) => r.n === 1001)?.version, '2');

    const body = {
      kind: 'queue',
      url: NATS_URL,
      stream: stream.name,
      subject: `${stream.prefix}.orders.>`,
      concurrency: 3,
      qualifier: 'live',
      enabled: false,
    };
    assert.equal((await api('PUT', '/v1/functions/f/triggers/orders', body)).status, 200);
    for (let n = 2001; n <= 2005; n++) await stream.publish(`${stream.prefix}.orders.off`, { n });
    await delay(3000);
    assert.ok(!runs(collector, 'orders').some((r) => r.n > 2000), 'nothing ran while disabled');
    assert.equal(
      (await api('PUT', '/v1/functions/f/triggers/orders', { ...body, enabled: true })).status,
      200,
    );
    await waitFor(
      () =>
        new Set(
          runs(collector, 'orders')
            .filter((r) => r.n > 2000 && !r.failed)
            .map((r) => r.n),
        ).size === 5,
      { timeout: 30_000, what: 'what was published while disabled to run once enabled' },
    );
  });

  it('a message that fails every delivery is given up after the retries and reaches the failure destination', async () => {
    const config = await api('PUT', '/v1/functions/f/async-config', {
      maxRetries: 1,
      onFailure: { url: `${collector.url}/failed` },
    });
    assert.equal(config.status, 200, JSON.stringify(config.body));
    await stream.publish(`${stream.prefix}.orders.bad`, { n: 3001, fail: true });
    const record = await waitFor(
      () => collector.on('/failed').find((p) => p.body.source === 'queue:orders'),
      {
        timeout: 30_000,
        what: 'the failure record',
      },
    );
    assert.equal(record.body.status, 'failed');
    assert.equal(record.body.deliveries, 2);
    assert.equal(record.body.version, '2');
    assert.equal((record.body.error as { code: string }).code, 'UnhandledInvocationError');
    assert.equal(
      runs(collector, 'orders').filter((r) => r.n === 3001).length,
      2,
      'maxRetries 1: two deliveries',
    );
    await delay(2000);
    assert.equal(runs(collector, 'orders').filter((r) => r.n === 3001).length, 2, 'and no more');
  });

  it("counts a queue's and a timer's invocations under their source and the version that ran", async () => {
    const timer = await api('POST', '/v1/functions/f/triggers', {
      name: 'tick',
      kind: 'timer',
      schedule: '@every 1s',
      qualifier: 'live',
      payload: JSON.stringify({ n: 0 }),
    });
    assert.equal(timer.status, 201, JSON.stringify(timer.body));
    /** `sluice_invocations_total` of f by version and source. */
    const totals = async () => {
      const text = (await api('GET', '/metrics')).bytes.toString('utf8');
      const out = new Map<string, number>();
      for (const [, version, source, value] of text.matchAll(
        /^sluice_invocations_total\{function="f",version="([^"]*)",qualifier="live",source="([^"]*)"\} (\d+)$/gm,
      ))
        out.set(`${version}/${source}`, Number(value));
      return out;
    };
    const seen = await waitFor(
      async () => {
        const t = await totals();
        return (t.get('2/timer') ?? 0) > 0 && t;
      },
      { timeout: 20_000, interval: 250, what: "the timer's invocations under source timer" },
    );
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/tick')).status, 204);
    const queued = runs(collector, 'orders');
    const of = (version: string) => queued.filter((r) => r.version === version).length;
    assert.equal(seen.get('1/queue'), of('1'), 'every run of version 1 counted under queue');
    assert.equal(seen.get('2/queue'), of('2'), 'every run of version 2 counted under queue');
    assert.ok((seen.get('2/sync') ?? 0) === 0 && !seen.has('1/sync'), 'none under sync');
  });

  it("a deleted trigger's durable consumer leaves the broker, whether it ran or was disabled; a disabled one keeps it", async () => {
    const onBroker = (trigger: string) =>
      stream.manager.consumers.info(stream.name, `sluice_f_${trigger}`).then(
        () => true,
        (error: unknown) => {
          if (error instanceof NatsError && error.api_error?.code === 404) return false;
          throw error;
        },
      );
    const queue = (name: string, enabled: boolean) => ({
      kind: 'queue',
      url: NATS_URL,
      stream: stream.name,
      subject: `${stream.prefix}.${name}.>`,
      qualifier: 'live',
      enabled,
    });
    assert.equal((await api('PUT', '/v1/functions/f/triggers/orders', queue('orders', false))).status, 200);
    await delay(1000);
    assert.equal(await onBroker('orders'), true, 'a disabled trigger keeps its place on the broker');
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/orders')).status, 204);
    await waitFor(async () => !(await onBroker('orders')), {
      timeout: 10_000,
      interval: 100,
      what: "the disabled trigger's consumer to leave the broker",
    });

    const created = await api('POST', '/v1/functions/f/triggers', {
      name: 'refunds',
      ...queue('refunds', true),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await stream.publish(`${stream.prefix}.refunds.a`, { n: 4001 });
    await waitFor(() => runs(collector, 'refunds').some((r) => r.n === 4001 && !r.failed), {
      timeout: 30_000,
      what: 'a message through the new trigger',
    });
    assert.equal(await onBroker('refunds'), true);
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/refunds')).status, 204);
    await waitFor(async () => !(await onBroker('refunds')), {
      timeout: 10_000,
      interval: 100,
      what: "the running trigger's consumer to leave the broker",
    });
    await delay(2000);
    assert.equal(await onBroker('refunds'), false, 'made again after it was deleted');
  });

  it('refuses a queue trigger it could not serve, storing nothing', async () => {
    const base = { kind: 'queue', url: NATS_URL, stream: stream.name, subject: 'x.>' };
    const cases: [string, Record<string, unknown>, string][] = [
      ['no stream', { ...base, stream: undefined }, 'stream'],
      ['no subject', { ...base, subject: undefined }, 'subject'],
      ['a URL of another scheme', { ...base, url: 'amqp://127.0.0.1:5672' }, 'url'],
      ['no URL at all', { ...base, url: 'not a url' }, 'url'],
    ];
    for (const [what, body, path] of cases) {
      const res = await api('POST', '/v1/functions/f/triggers', { name: 'bad', ...body });
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'InvalidArgument');
      const paths = (res.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path);
      assert.ok(paths.includes(path), `${what}: ${paths.join(', ')}`);
    }
    assert.equal((await api('GET', '/v1/functions/f/triggers/bad')).status, 404);
  });

  it('a broker that cannot be reached neither blocks nor ends the server', async () => {
    const created = await api('POST', '/v1/functions/f/triggers', {
      name: 'nowhere',
      kind: 'queue',
      url: 'nats://127.0.0.1:1',
      stream: 'S',
      subject: 'x.>',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await delay(1500);
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
    const sync = await api('POST', '/v1/functions/f/invocations?qualifier=live', { data: '{"n": 1}' });
    assert.equal(sync.status, 200);
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/nowhere')).status, 204);
  });
});
