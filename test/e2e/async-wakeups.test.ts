import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCollector, type Collector } from '../support/collector.js';
import { createFunctions, zipOf } from '../support/code.js';
import { pgNodes, type PgNode } from '../support/postgres.js';
import { quietWindow } from '../support/store-operations.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25 item 1: on PostgreSQL an idle node sleeps until the next due time it knows of (a queued event's, or
// the end of another node's lease) and is woken by the notice of each event queued anywhere. Every node here
// looks at the queue unprompted only every 600 s, so that whatever runs within the test's deadlines was woken
// by a notice or planned from the store, never found by that look.

const cluster = pgNodes('sluice_wake');
const LEASE_SECONDS = 4;

interface Node extends PgNode {
  /** The name its async attempts carry. */
  id: string;
}

async function startNode(args: string[], token?: string): Promise<Node> {
  const node = await cluster.start(['--async-poll-seconds', '600', ...args], token);
  return { ...node, id: (await readFile(join(node.dataDir, 'node-id'), 'utf8')).trim() };
}

/** Posts `/started` with its request id; waits a minute if the collector answers 299, else at once posts `/ran`. */
const STARTING_HANDLER = `
const http = require('http');
const post = (path, body) => new Promise((resolve, reject) => {
  const req = http.request({ host: '127.0.0.1', port: Number(process.env.COLLECTOR), method: 'POST', path,
    headers: { 'content-type': 'application/json' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  req.on('error', reject);
  req.end(JSON.stringify(body));
});
exports.handler = async (event, context) => {
  const hold = (await post('/started', { id: context.requestId })) === 299;
  if (hold) await new Promise((resolve) => setTimeout(resolve, 60_000));
  await post('/ran', { id: context.requestId });
  return 'done';
};
`;

interface Record_ {
  status: string;
  attempts: { node: string; versionId: string | null }[];
}

const record = async (node: Node, fn: string, id: string) =>
  (await node.api('GET', `/v1/functions/${fn}/async-invocations/${id}`)).body as Record_;

describe('asynchronous invocation on PostgreSQL without polling', () => {
  let collector: Collector;
  /** The next starts are held (answered 299): the runs they belong to last a minute, long enough to be killed. */
  let hold = 0;

  before(async () => {
    collector = await startCollector((path) => {
      if (path !== '/started' || hold === 0) return 200;
      hold--;
      return 299;
    });
  });

  after(async () => {
    await cluster.close();
    await collector.close();
  });

  it('a node that runs nothing queues an event; an idle node is woken by the notice and runs it', async () => {
    const worker = await startNode([]);
    const front = await startNode(['--async-concurrency', '0'], worker.token);
    await createFunctions(worker.api, [
      [
        'quick',
        await zipOf({ 'index.js': STARTING_HANDLER }),
        { runtime: 'nodejs20', environmentVariables: { COLLECTOR: String(collector.port) } },
      ],
    ]);
    // Idle: the queue, the timers and the rollouts read nothing (the nodes' heartbeats aside) once the
    // function's creation has been read back, which a loaded machine may deliver after a second or more.
    const watched = ['claimAsync', 'nextAsyncDue', 'listTriggers', 'listActiveRollouts', 'fireTimer'];
    const settling = await quietWindow(worker.api, { windowMs: 4000, timeout: 30_000, watched });
    assert.ok(settling.length <= 1, `an idle node kept asking: ${JSON.stringify(settling)}`);

    const queued = await front.api('POST', '/v1/functions/quick/invocations?async=true', {});
    assert.equal(queued.status, 202);
    const id = queued.headers.get('x-fc-request-id') ?? '';
    const ended = await waitFor(
      async () => {
        const r = await record(front, 'quick', id);
        return r.status === 'succeeded' && r;
      },
      { timeout: 15_000, what: 'the event queued on the other node to run' },
    );
    assert.deepEqual(
      ended.attempts.map((a) => a.node),
      [worker.id],
      'the worker ran it: the node that queued it runs nothing',
    );
  });

  it('a node SIGKILLed while it runs events: once their leases end, another runs each to success, once', async () => {
    // Only the doomed node runs while the events are queued; the heir starts once they are running there.
    const token = (cluster.nodes[0] as PgNode).token;
    for (const node of cluster.nodes) await node.kill('SIGTERM');
    const doomed = await startNode(['--async-lease-seconds', String(LEASE_SECONDS)], token);
    await createFunctions(doomed.api, [
      [
        'slow',
        await zipOf({ 'index.js': STARTING_HANDLER }),
        { runtime: 'nodejs20', timeout: 120, environmentVariables: { COLLECTOR: String(collector.port) } },
      ],
    ]);
    const count = 5;
    hold = count;
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const queued = await doomed.api('POST', '/v1/functions/slow/invocations?async=true', {});
      assert.equal(queued.status, 202);
      ids.push(queued.headers.get('x-fc-request-id') ?? '');
    }
    const started = (id: string) => collector.on('/started').filter((p) => p.body.id === id).length;
    await waitFor(() => ids.every((id) => started(id) === 1), {
      timeout: 30_000,
      what: 'the doomed node to start every event',
    });
    const heir = await startNode([], token);
    for (const id of ids)
      assert.equal((await record(heir, 'slow', id)).status, 'running', 'the doomed node holds it');
    await doomed.kill('SIGKILL');
    const killedAt = Date.now();
    const ended = await waitFor(
      async () => {
        const all = await Promise.all(ids.map((id) => record(heir, 'slow', id)));
        return all.every((r) => r.status === 'succeeded') && all;
      },
      { timeout: 30_000, what: 'the heir to run every event once their leases ended' },
    );
    const tookMs = Date.now() - killedAt;
    for (const r of ended)
      assert.deepEqual(
        r.attempts.map((a) => a.node),
        [heir.id],
        "the attempt that ended is the heir's (the killed one never ended, and is not recorded)",
      );
    for (const id of ids) {
      assert.equal(started(id), 2, 'started twice');
      assert.equal(collector.on('/ran').filter((p) => p.body.id === id).length, 1, 'ran to its end once');
    }
    assert.ok(
      tookMs < 20_000,
      `taken over ${tookMs} ms after the kill: at the leases' end (${LEASE_SECONDS} s), not at a poll (600 s)`,
    );
  });
});
