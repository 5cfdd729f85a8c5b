import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startCollector, type Collector } from '../support/collector.js';
import { makeStream, NATS_URL, type TestStream } from '../support/nats.js';
import { maxOverlap, QUEUE_HANDLER, runs } from '../support/queue-handler.js';
import { pgNodes, type PgNode } from '../support/postgres.js';
import { createReportingFunction } from '../support/reporting-server.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25, item 3 on several nodes: two `sluice server` processes on one PostgreSQL schema consume one queue
// trigger through its one durable JetStream consumer. Needs PostgreSQL and NATS with JetStream.

const cluster = pgNodes('sluice_queue');

/** A node's `sluice_invocations_total` of f under source `queue`, over its versions. */
async function queueInvocations(node: PgNode): Promise<number> {
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

  /**
   * Creates queue trigger `name` of f on `subject` through `node`, and waits until both nodes pull from its
   * consumer (each has made it, or found it), so that nothing is published before both consume.
   */
  async function createTrigger(
    node: PgNode,
    name: string,
    subject: string,
    concurrency: number,
  ): Promise<void> {
    const created = await node.api('POST', '/v1/functions/f/triggers', {
      name,
      kind: 'queue',
      url: NATS_URL,
      stream: stream.name,
      subject,
      concurrency,
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await waitFor(
      async () => {
        const info = await stream.manager.consumers
          .info(stream.name, `sluice_f_${name}`)
          .catch(() => undefined);
        return info !== undefined && info.num_waiting >= 2;
      },
      { timeout: 20_000, interval: 100, what: 'both nodes to pull from the consumer' },
    );
  }

  before(async () => {
    stream = await makeStream();
    collector = await startCollector();
    const a = await cluster.start();
    await cluster.start([], a.token);
    await createReportingFunction(a.api, collector, QUEUE_HANDLER, {
      timeout: 60,
      environment: { SLEEP_MS: '20' },
    });
  });

  after(async () => {
    await cluster.close();
    await collector.close();
    await stream.remove();
  });

  it('share its durable consumer: every message runs on one node, once, both nodes take some, each at most `concurrency` at once', async (t) => {
    const [a, b] = cluster.nodes as [PgNode, PgNode];
    await createTrigger(a, 'orders', `${stream.prefix}.>`, 4);
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

  it('deleted through one node while both pull from it: its durable consumer leaves the broker, and neither node makes it again', async () => {
    const [a, b] = cluster.nodes as [PgNode, PgNode];
    await createTrigger(a, 'gone', `${stream.prefix}.gone.>`, 2);
    assert.equal((await b.api('DELETE', '/v1/functions/f/triggers/gone')).status, 204);
    const onBroker = () =>
      stream.manager.consumers.info(stream.name, 'sluice_f_gone').then(
        () => true,
        () => false,
      );
    await waitFor(async () => !(await onBroker()), {
      timeout: 20_000,
      interval: 100,
      what: 'the consumer to leave the broker',
    });
    // Past the first retry of a node whose pull failed as the consumer went (1 s).
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(await onBroker(), false, 'a node made the consumer again');
  });

  it('a node SIGKILLed while it runs messages: the broker gives them to the other node once their ack wait ends', async (t) => {
    const [a, b] = cluster.nodes as [PgNode, PgNode];
    await createTrigger(a, 'held', `${stream.prefix}.held.>`, 2);
    // Four slots in all, two a node: each node holds two of the four messages.
    const ns = [1, 2, 3, 4];
    for (const n of ns) await stream.publish(`${stream.prefix}.held.n${n}`, { n, holdMs: 4000 });
    const started = () => collector.on('/started').filter((p) => p.body.trigger === 'held');
    await waitFor(() => started().length === 4, { timeout: 20_000, what: 'all four to start' });
    await b.kill('SIGKILL');
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
