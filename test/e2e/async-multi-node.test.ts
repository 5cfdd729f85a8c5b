import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { REPORTING_HANDLER, startCollector, type Collector } from '../support/collector.js';
import { pgNodes, type PgNode } from '../support/postgres.js';
import { createReportingFunction } from '../support/reporting-server.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25 on several nodes: two `sluice server` processes on one PostgreSQL schema share the asynchronous
// invocation queue (FOR UPDATE SKIP LOCKED under a lease), and never run one event at once.

const cluster = pgNodes('sluice_async');

interface Record_ {
  requestId: string;
  status: string;
  version: string | null;
  attempts: { version: string | null; node: string }[];
}

describe('asynchronous invocation on two nodes', () => {
  let collector: Collector;
  let a: PgNode;
  let b: PgNode;

  before(async () => {
    collector = await startCollector();
    a = await cluster.start(['--resync-seconds', '3']);
    b = await cluster.start(['--resync-seconds', '3'], a.token);
    await createReportingFunction(a.api, collector, REPORTING_HANDLER, {
      // Far beyond the 10 ms it sleeps: at the default 3 s a loaded machine timed an attempt out after
      // it ran, and its retries ran it again (at least once, as documented; this test counts exactly once).
      timeout: 60,
      environment: { SLEEP_MS: '10' },
    });
  });

  after(async () => {
    await cluster.close();
    await collector.close();
  });

  it('400 events queued on both nodes run once each, shared by the nodes, never one event at once', async (t) => {
    const ids: string[] = [];
    for (let batch = 0; batch < 400; batch += 40) {
      ids.push(
        ...(await Promise.all(
          Array.from({ length: 40 }, async (_, i) => {
            const node = i % 2 === 0 ? a : b;
            const res = await node.api('POST', '/v1/functions/f/invocations?async=true', { n: batch + i });
            assert.equal(res.status, 202, JSON.stringify(res.body));
            return res.headers.get('x-fc-request-id') ?? '';
          }),
        )),
      );
    }
    const records = await waitFor(
      async () => {
        const all = await Promise.all(
          ids.map(
            async (id) => (await a.api('GET', `/v1/functions/f/async-invocations/${id}`)).body as Record_,
          ),
        );
        return all.every((r) => r.status === 'succeeded') && all;
      },
      { timeout: 180_000, interval: 1000, what: 'every event to succeed' },
    );
    const runs = new Map<string, { start: number; end: number }[]>();
    for (const post of collector.on('/ran')) {
      const id = String(post.body.id);
      runs.set(id, [...(runs.get(id) ?? []), { start: Number(post.body.start), end: Number(post.body.end) }]);
    }
    for (const id of ids)
      assert.equal(runs.get(id)?.length, 1, `${id} ran ${runs.get(id)?.length ?? 0} times`);
    const byNode = new Map<string, number>();
    for (const record of records) {
      assert.equal(record.attempts.length, 1);
      const node = record.attempts[0]?.node ?? '';
      byNode.set(node, (byNode.get(node) ?? 0) + 1);
    }
    t.diagnostic(`events run per node: ${[...byNode.values()].join(', ')}`);
    assert.equal(byNode.size, 2, 'both nodes ran events');
  });
  it('a timer at @every 2s fires once per period with two nodes running', async (t) => {
    const created = await a.api('POST', '/v1/functions/f/triggers', {
      name: 'tick',
      kind: 'timer',
      schedule: '@every 2s',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const times = () =>
      collector
        .on('/ran')
        .map((p) => p.body.payload as { triggerName?: string; triggerTime?: string })
        .filter((p) => p.triggerName === 'tick')
        .map((p) => Date.parse(p.triggerTime ?? ''));
    await waitFor(() => times().length >= 7, { timeout: 60_000, interval: 200, what: 'seven firings' });
    const fired = times().sort((x, y) => x - y);
    t.diagnostic(`fired at ${fired.map((at) => new Date(at).toISOString().slice(17, 23)).join(', ')}`);
    assert.equal(new Set(fired).size, fired.length, 'no period fired twice');
    for (const [i, at] of fired.entries()) {
      assert.equal(at % 2000, 0, 'each firing is a period of the schedule');
      if (i > 0) assert.equal(at - (fired[i - 1] as number), 2000, 'no period skipped');
    }
    const records = (await b.api('GET', '/v1/functions/f/async-invocations?limit=100')).body as {
      invocations: { source: string; attempts: { node: string }[] }[];
    };
    const nodesThatRan = new Set(
      records.invocations
        .filter((r) => r.source === 'timer:tick')
        .flatMap((r) => r.attempts.map((x) => x.node)),
    );
    t.diagnostic(`timer events ran on ${nodesThatRan.size} node(s)`);
    assert.equal((await a.api('DELETE', '/v1/functions/f/triggers/tick')).status, 204);
  });
});
