import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { startCollector, type Collector } from '../support/collector.js';
import { createFunctions, zipOf } from '../support/code.js';
import { makeStream, NATS_URL, type TestStream } from '../support/nats.js';
import { maxOverlap, QUEUE_HANDLER, runs } from '../support/queue-handler.js';
import { spawnServer } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25, item 3 on several nodes: two `sluice server` processes on one PostgreSQL schema consume one queue
// trigger through its one durable JetStream consumer. Needs PostgreSQL and NATS with JetStream.

const PG_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `sluice_queue_${randomBytes(5).toString('hex')}`;

interface Node {
  url: string;
  api: ApiCall;
  token: string;
  /** Ends it at once, as a crash would. */
  kill(): void;
  stop(): Promise<void>;
}

async function startNode(token?: string): Promise<Node> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-node-'));
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  const env = { ...process.env };
  delete env.SLUICE_STORE;
  const server = await spawnServer(['--data-dir', dataDir, '--store', url.href], env);
  const adminToken = token ?? (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    url: server.url,
    token: adminToken,
    api: apiClient(server.url, adminToken),
    kill: () => server.child.kill('SIGKILL'),
    stop: async () => {
      if (server.child.exitCode === null && server.child.signalCode === null) {
        const exited = new Promise((resolve) => server.child.once('exit', resolve));
        server.child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A node's `sluice_invocations_total` of f under source `queue`, over its versions. */
async function queueInvocations(node: Node): Promise<number> {
  const text = (await node.api('GET', '/metrics')).bytes.toString('utf8');
  let total = 0;
  for (const [, value] of text.matchAll(
    /^sluice_invocations_total\{function="f",[^}]*source="queue"\} (\d+)$/gm,
  ))
    total += Number(value);
  return total;
}

describe('a queue trigger on two nodes', () => {
  let collector: Collector;
  let stream: TestStream;
  const nodes: Node[] = [];

  before(async () => {
    stream = await makeStream();
    collector = await startCollector();
    const a = await startNode();
    nodes.push(a, await startNode(a.token));
    await createFunctions(a.api, [
      [
        'f',
        await zipOf({ 'index.js': QUEUE_HANDLER }),
        {
          runtime: 'nodejs20',
          timeout: 60,
          environmentVariables: { COLLECTOR: String(collector.port), SLEEP_MS: '20' },
        },
      ],
    ]);
  });

  after(async () => {
    for (const node of nodes) await node.stop();
    await collector.close();
    await stream.remove();
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
    } finally {
      await client.end();
    }
  });

  it('share its durable consumer: every message runs on one node, once, both nodes take some, each at most `concurrency` at once', async (t) => {
    const [a, b] = nodes as [Node, Node];
    const created = await a.api('POST', '/v1/functions/f/triggers', {
      name: 'orders',
      kind: 'queue',
      url: NATS_URL,
      stream: stream.name,
      subject: `${stream.prefix}.>`,
      concurrency: 4,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // Both nodes consume (each has made the consumer, or found it) before anything is published.
    await waitFor(
      async () => {
        const info = await stream.manager.consumers
          .info(stream.name, 'sluice_f_orders')
          .catch(() => undefined);
        return info !== undefined && info.num_waiting >= 2;
      },
      { timeout: 20_000, interval: 100, what: 'both nodes to pull from the consumer' },
    );
    // Every tenth message is left out: its handler would fail its first delivery, and this test counts runs.
    const ns = Array.from({ length: 220 }, (_, i) => i + 1).filter((n) => n % 10 !== 0);
    for (const n of ns) await stream.publish(`${stream.prefix}.n${n}`, { n });
    const all = await waitFor(
      () => {
        const list = runs(collector, 'orders');
        return new Set(list.map((r) => r.n)).size === ns.length && list;
      },
      { timeout: 120_000, interval: 200, what: 'every message to run' },
    );
    const perMessage = new Map<number, number>();
    for (const r of all) perMessage.set(r.n, (perMessage.get(r.n) ?? 0) + 1);
    const twice = [...perMessage].filter(([, count]) => count > 1);
    assert.deepEqual(twice, [], 'no message ran twice');
    assert.ok(
      all.every((r) => !r.failed && r.deliveries === 1),
      'each on its first delivery',
    );

    const counts = await waitFor(
      async () => {
        const c: [number, number] = [await queueInvocations(a), await queueInvocations(b)];
        return c[0] + c[1] === ns.length && c;
      },
      { timeout: 10_000, interval: 200, what: "the nodes' queue counts to add up to the messages" },
    );
    t.diagnostic(`messages run per node: ${counts.join(', ')}; at most ${maxOverlap(all)} at once overall`);
    assert.ok(
      counts.every((c) => c > 0),
      `both nodes ran messages (${counts.join(', ')})`,
    );
    assert.ok(maxOverlap(all) <= 8, 'at most 4 at once on each of the two nodes');
  });

  it('a node SIGKILLed while it runs messages: the broker gives them to the other node once their ack wait ends', async (t) => {
    const [a, b] = nodes as [Node, Node];
    const created = await a.api('POST', '/v1/functions/f/triggers', {
      name: 'held',
      kind: 'queue',
      url: NATS_URL,
      stream: stream.name,
      subject: `${stream.prefix}.held.>`,
      concurrency: 2,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor(
      async () => {
        const info = await stream.manager.consumers.info(stream.name, 'sluice_f_held').catch(() => undefined);
        return info !== undefined && info.num_waiting >= 2;
      },
      { timeout: 20_000, interval: 100, what: 'both nodes to pull from the consumer' },
    );
    // Four slots in all, two a node: each node holds two of the four messages.
    const ns = [1, 2, 3, 4];
    for (const n of ns) await stream.publish(`${stream.prefix}.held.n${n}`, { n, holdMs: 4000 });
    const started = () => collector.on('/started').filter((p) => p.body.trigger === 'held');
    await waitFor(() => started().length === 4, { timeout: 20_000, what: 'all four to start' });
    b.kill();
    const killedAt = Date.now();
    const all = await waitFor(
      () => {
        const list = runs(collector, 'held');
        return new Set(list.map((r) => r.n)).size === ns.length && list;
      },
      { timeout: 90_000, interval: 250, what: 'every message to run to its end' },
    );
    t.diagnostic(`the killed node's messages ended ${Date.now() - killedAt} ms after the kill`);
    for (const n of ns)
      assert.equal(all.filter((r) => r.n === n).length, 1, `message ${n} ran to its end once`);
    const redelivered = all.filter((r) => r.deliveries === 2).map((r) => r.n);
    assert.equal(redelivered.length, 2, "the killed node's two messages were delivered again");
    assert.equal(all.filter((r) => r.deliveries === 1).length, 2, "the survivor's own two ended at first");
    for (const n of redelivered)
      assert.equal(started().filter((p) => p.body.n === n).length, 2, `message ${n} started on both nodes`);
  });
});
