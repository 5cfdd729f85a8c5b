import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { ApiCall } from '../support/api-client.js';
import type { Collector } from '../support/collector.js';
import { makeStream, type TestStream } from '../support/nats.js';
import { QUEUE_HANDLER, runs } from '../support/queue-handler.js';
import { startReportingServer, type ReportingServer } from '../support/reporting-server.js';
import type { SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// A queue trigger's broker that goes away: the server goes on serving, and consumes again once it is back.
// The broker is a NATS server of this test's own (the machine's nats-server binary, on a free port, with its
// JetStream store in a temporary directory), so that stopping it touches no other test.

const NATS_SERVER = process.env.SLUICE_TEST_NATS_SERVER ?? '/usr/sbin/nats-server';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address && typeof address === 'object');
  return address.port;
}

describe('a queue trigger whose broker stops and comes back', () => {
  let port: number;
  let storeDir: string;
  let broker: ChildProcess | undefined;
  let collector: Collector;
  let fixture: ReportingServer;
  let server: SluiceProcess;
  let api: ApiCall;

  const url = () => `nats://127.0.0.1:${port}`;
  const startBroker = async (id?: string) => {
    broker = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
      stdio: 'ignore',
    });
    // Until it takes connections.
    return waitFor(() => makeStream(url(), id).catch(() => undefined), {
      timeout: 15_000,
      interval: 100,
      what: `nats-server to listen on ${port}`,
    });
  };
  const stopBroker = async () => {
    const child = broker;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  before(async () => {
    port = await freePort();
    storeDir = await mkdtemp(join(tmpdir(), 'sluice-nats-'));
    fixture = await startReportingServer(QUEUE_HANDLER);
    ({ collector, server, api } = fixture);
  });

  after(async () => {
    await fixture.close();
    await stopBroker();
    await rm(storeDir, { recursive: true, force: true });
  });

  it('serves while the broker is down, consumes again once it is back, and stops cleanly without it', async () => {
    let stream: TestStream = await startBroker();
    const created = await api('POST', '/v1/functions/f/triggers', {
      name: 'orders',
      kind: 'queue',
      url: url(),
      stream: stream.name,
      subject: `${stream.prefix}.>`,
      concurrency: 2,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (let n = 1; n <= 5; n++) await stream.publish(`${stream.prefix}.n${n}`, { n });
    await waitFor(() => new Set(runs(collector, 'orders').map((r) => r.n)).size === 5, {
      timeout: 30_000,
      what: 'the first messages to run',
    });
    await stream.connection.close();

    await stopBroker();
    await delay(2000);
    const started = performance.now();
    const sync = await api('POST', '/v1/functions/f/invocations', { data: '{"n": 0}' });
    assert.equal(sync.status, 200, 'an invocation is served while the broker is down');
    assert.ok(performance.now() - started < 5000, 'and not held up by it');
    assert.equal((await fetch(`${server.url}/readyz`)).status, 200);

    // The same store: the stream, its messages and the durable consumer come back with it.
    stream = await startBroker(stream.id);
    for (let n = 6; n <= 10; n++) await stream.publish(`${stream.prefix}.n${n}`, { n });
    await waitFor(
      () =>
        new Set(
          runs(collector, 'orders')
            .filter((r) => !r.failed)
            .map((r) => r.n),
        ).size === 10,
      { timeout: 60_000, interval: 200, what: 'the messages published once the broker is back to run' },
    );
    await stream.connection.close();

    await stopBroker();
    await server.stop();
  });
});
