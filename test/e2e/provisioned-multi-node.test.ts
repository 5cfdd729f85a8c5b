import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { ApiCall } from '../support/api-client.js';
import { createFunctions, zipOf } from '../support/code.js';
import { pgNodes, type PgNode } from '../support/postgres.js';
import { waitFor } from '../support/wait-for.js';

// Issue 22 on several nodes: two `sluice server` processes on one PostgreSQL schema divide an alias's 10
// provisioned instances, 5 each, through heartbeats in the store; when one dies (SIGKILL: it cannot say so),
// the other runs all 10 within one resync interval. Needs PostgreSQL, as multi-node.test.ts does.

const RESYNC_SECONDS = 3;
const cluster = pgNodes('sluice_prov');

after(() => cluster.close());

interface Node extends PgNode {
  /** Its id, from `/readyz`, as its heartbeats name it. */
  id: string;
}

async function startNode(token?: string): Promise<Node> {
  const node = await cluster.start(['--resync-seconds', String(RESYNC_SECONDS)], token);
  const ready = (await (await fetch(`${node.url}/readyz`)).json()) as { node: string };
  return { ...node, id: ready.node };
}

/** Node → version → ready instances, from the nodes' heartbeats as the API shows them. */
async function perNode(api: ApiCall): Promise<Record<string, Record<string, number>>> {
  const res = await api('GET', '/v1/functions/f/provisioned/live');
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = res.body as { nodes: { node: string; versions: { version: string; ready: number }[] }[] };
  return Object.fromEntries(
    body.nodes.map((n) => [n.node, Object.fromEntries(n.versions.map((v) => [v.version, v.ready]))]),
  );
}

/** Version → ready instances on one node this instant, from its own `/readyz`. */
async function readyOn(node: Node): Promise<Record<string, number>> {
  const body = (await (await fetch(`${node.url}/readyz`)).json()) as {
    provisioned: { nodes: string[]; instances: { versionId: string; ready: number }[] };
  };
  return Object.fromEntries(body.provisioned.instances.map((r) => [r.versionId, r.ready]));
}

test('two nodes on PostgreSQL run 5 each; when one dies the other runs all 10 within the resync interval', async () => {
  const a = await startNode();
  const b = await startNode(a.token);
  const code = (v: number) => zipOf({ 'index.js': `exports.handler = async () => ${v};` });
  await createFunctions(a.api, [['f', await code(1), { runtime: 'nodejs20' }]]);
  assert.equal((await a.api('POST', '/v1/functions/f/versions')).status, 201);
  assert.equal((await a.api('PUT', '/v1/functions/f/code', await code(2))).status, 200);
  assert.equal((await a.api('POST', '/v1/functions/f/versions')).status, 201);
  const alias = { version: '1', canary: { version: '2', weight: 0.2 } };
  assert.equal((await a.api('PUT', '/v1/functions/f/aliases/live', alias)).status, 201);
  // Written on one node, run by both.
  const put = await b.api('PUT', '/v1/functions/f/provisioned/live', { target: 10, canaryRatio: 0.2 });
  assert.equal(put.status, 201, JSON.stringify(put.body));
  await waitFor(
    async () => {
      assert.deepEqual(await perNode(a.api), {
        [a.id]: { '1': 4, '2': 1 },
        [b.id]: { '1': 4, '2': 1 },
      });
      return true;
    },
    { timeout: 30_000, what: 'both nodes to run 4 + 1' },
  );
  assert.deepEqual(await readyOn(a), { '1': 4, '2': 1 });
  assert.deepEqual(await readyOn(b), { '1': 4, '2': 1 });

  const killedAt = performance.now();
  await b.kill('SIGKILL');
  await waitFor(
    async () => {
      assert.deepEqual(await readyOn(a), { '1': 8, '2': 2 });
      return true;
    },
    { timeout: 30_000, what: 'the surviving node to run all 10', interval: 20 },
  );
  const tookMs = performance.now() - killedAt;
  console.log(
    `a node's share was taken over ${tookMs.toFixed(0)} ms after it died (resync ${RESYNC_SECONDS} s)`,
  );
  assert.ok(tookMs < RESYNC_SECONDS * 1000, `took ${tookMs} ms`);
  await waitFor(
    async () => {
      assert.deepEqual(await perNode(a.api), { [a.id]: { '1': 8, '2': 2 } });
      return true;
    },
    { timeout: 10_000, what: 'the API to show one node running 10' },
  );
});
