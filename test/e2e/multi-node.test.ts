import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test, type TestContext } from 'node:test';
import pg from 'pg';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { PG_URL, withPgClient } from '../support/postgres.js';
import { makeDataDir, spawnServer, startSluice } from '../support/server-process.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';

// Issue 8 end to end: several `sluice server` processes on one PostgreSQL database. Each test has a schema
// of its own, dropped after it. These tests need PostgreSQL and fail (never skip) when it is not there.

/**
 * How long a change may take to reach another node: LISTEN/NOTIFY delivers in milliseconds (the propagation
 * test reports its p50 and p99), so 5 s leaves a busy machine room and still fails a node that only learns
 * of changes from its periodic resync (30 s).
 */
const PROPAGATION_MS = 5000;
const CREDENTIAL_KEY = randomBytes(32).toString('base64');

before(async () => {
  try {
    await withPgClient((c) => c.query('SELECT 1'));
  } catch (error) {
    throw new Error(
      `PostgreSQL is unreachable at ${PG_URL} (${error instanceof Error ? error.message : String(error)}). ` +
        'The multi-node tests need a running server; set SLUICE_TEST_POSTGRES_URL to use another one.',
    );
  }
});

const schemas = new Set<string>();

async function dropSchema(schema: string): Promise<void> {
  await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`));
  schemas.delete(schema);
}

after(async () => {
  for (const schema of [...schemas]) await dropSchema(schema).catch(() => undefined);
});

/** The store URL of a fresh schema, through `via` (`host:port`) instead of the server itself if given. */
function storeUrl(schema: string, via?: string): string {
  const url = new URL(PG_URL);
  url.searchParams.set('schema', schema);
  if (via !== undefined) url.host = via;
  return url.href;
}

interface Node {
  url: string;
  /** The node's id, from `/readyz`; its PostgreSQL connections are named `sluice-<id>`. */
  id: string;
  token: string;
  /** Whether this node created the admin token (and wrote it to its data directory). */
  wroteToken: boolean;
  api: ApiCall;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** The schema of the store it runs on. */
  schema: string;
  /** Its id as a rollout's lease holder, kept in its data directory across restarts (`node-id`). */
  leaseId(): Promise<string>;
  /** Ends it at once, as a crash would: nothing of its own shutdown runs. */
  kill(): void;
  stop(): Promise<void>;
}

/** Starts `sluice server --store <store>` as a real process, with a data directory of its own. */
async function startNode(store: string, token?: string): Promise<Node> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-node-'));
  // Nodes sharing a store share the key that seals access-key secrets.
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_CREDENTIAL_KEY: CREDENTIAL_KEY };
  delete env.SLUICE_STORE;
  const { child, url, output } = await spawnServer(['--data-dir', dataDir, '--store', store], env);
  const tokenFile = join(dataDir, 'admin-token');
  const wroteToken = existsSync(tokenFile);
  const adminToken = wroteToken ? (await readFile(tokenFile, 'utf8')).trim() : (token ?? '');
  const ready = (await (await fetch(`${url}/readyz`)).json()) as { node: string };
  return {
    url,
    id: ready.node,
    token: adminToken,
    wroteToken,
    api: apiClient(url, adminToken),
    output,
    schema: new URL(store).searchParams.get('schema') ?? '',
    leaseId: async () => (await readFile(join(dataDir, 'node-id'), 'utf8')).trim(),
    kill: () => child.kill('SIGKILL'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * `count` nodes on a fresh schema (node i through `via(i)` if given): the first creates the admin token, the
 * others are given it. Stopped, and the schema dropped, when `t` ends.
 */
async function cluster(
  t: TestContext,
  count: number,
  via: (i: number) => string | undefined = () => undefined,
): Promise<Node[]> {
  const schema = `sluice_nodes_${randomBytes(5).toString('hex')}`;
  schemas.add(schema);
  const nodes: Node[] = [];
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await dropSchema(schema);
  });
  nodes.push(await startNode(storeUrl(schema, via(0))));
  const token = (nodes[0] as Node).token;
  assert.ok((nodes[0] as Node).wroteToken, 'the first node writes the admin token');
  for (let i = 1; i < count; i++) {
    nodes.push(await startNode(storeUrl(schema, via(i)), token));
    assert.equal(nodes[i]?.wroteToken, false, 'only the first node creates a token');
  }
  return nodes;
}

/** Reports the version that ran; logs its event, so that its log lines can be told apart. */
const HANDLER = (build: number) =>
  `exports.handler = async (event, context) => {
  console.log('event ' + event.toString());
  return context.service.versionId;
};
// build ${build}
`;

/** Creates a function on `node` and publishes versions 1 … `versions`, each with its own code. */
async function createFunction(node: Node, name: string, versions: number): Promise<void> {
  const created = await node.api('POST', '/v1/functions', {
    name,
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: (await zipOf({ 'index.js': HANDLER(0) })).toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (let v = 1; v <= versions; v++) {
    const code = await node.api('PUT', `/v1/functions/${name}/code`, await zipOf({ 'index.js': HANDLER(v) }));
    assert.equal(code.status, 200, JSON.stringify(code.body));
    const published = await node.api('POST', `/v1/functions/${name}/versions`);
    assert.equal(published.status, 201, JSON.stringify(published.body));
  }
}

async function setAlias(node: Node, fn: string, alias: string, version: string): Promise<void> {
  const res = await node.api('PUT', `/v1/functions/${fn}/aliases/${alias}`, { version });
  assert.ok(res.status === 200 || res.status === 201, `${res.status} ${JSON.stringify(res.body)}`);
}

interface Invocation {
  status: number;
  /** `x-fc-invocation-function-version`: the version that ran. */
  version: string | null;
  body: string;
}

async function invoke(node: Node, fn: string, qualifier: string, payload = '{}'): Promise<Invocation> {
  const res = await node.api(
    'POST',
    `/v1/functions/${fn}/invocations?qualifier=${encodeURIComponent(qualifier)}`,
    payload,
  );
  return {
    status: res.status,
    version: res.headers.get('x-fc-invocation-function-version'),
    body: res.bytes.toString('utf8'),
  };
}

/** Starts `width` instances of each version on `node`, so that the traffic that follows finds them warm. */
async function warm(node: Node, fn: string, versions: string[], width: number): Promise<void> {
  for (const version of versions) {
    const results = await Promise.all(Array.from({ length: width }, () => invoke(node, fn, version)));
    for (const r of results) assert.equal(r.status, 200, r.body);
  }
}

/**
 * Waits until `node` routes `fn:qualifier` to `version` (a qualifier it does not know yet is asked again);
 * the time it took, in ms.
 */
async function routedTo(node: Node, fn: string, qualifier: string, version: string, withinMs: number) {
  const started = performance.now();
  for (;;) {
    const r = await invoke(node, fn, qualifier);
    if (r.status !== 404) assert.equal(r.status, 200, r.body);
    const elapsed = performance.now() - started;
    if (r.version === version) return elapsed;
    assert.ok(elapsed < withinMs, `${fn}:${qualifier} still runs version ${r.version}, not ${version}`);
  }
}

interface Readiness {
  status: string;
  node: string;
  store: { kind: string; reachable: boolean; error?: string };
  routing: {
    synced: boolean;
    lastSyncAt: string | null;
    syncAgeMs: number | null;
    functions: number;
    apis: number;
  };
  changeFeed: { kind: string; connected: boolean; reconnects: number; lastError: string | null };
  instances: { total: number; busy: number; provisioned: number; versions: number };
  provisioned: { nodes: string[]; instances: unknown[] };
}

async function readyz(url: string): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness };
}

/** Polls `/readyz` until `accept` holds; its last answer. */
async function readyzUntil(
  url: string,
  accept: (r: { status: number; body: Readiness }) => boolean,
  withinMs: number,
): Promise<{ status: number; body: Readiness }> {
  return waitFor(
    async () => {
      const r = await readyz(url);
      assert.ok(accept(r), `${r.status} ${JSON.stringify(r.body)}`);
      return r;
    },
    { timeout: withinMs, what: 'readyz to answer as expected', interval: 100 },
  );
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;

/** The connections of one node (`application_name` `sluice-<id>`), ended from the server's side. */
function terminateBackends(node: Node): Promise<number> {
  return withPgClient(async (c) => {
    // In the select list, not the WHERE clause: there it might be evaluated before the name is compared.
    const result = await c.query<{ ended: boolean }>(
      'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1',
      [`sluice-${node.id}`],
    );
    return result.rows.filter((r) => r.ended).length;
  });
}

describe('/healthz and /readyz', () => {
  test('on the embedded SQLite store', async (t) => {
    const { dataDir, remove } = await makeDataDir();
    const server = await startSluice(dataDir);
    t.after(async () => {
      await server.stop();
      await remove();
    });
    const live = await fetch(`${server.url}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    const { status, body } = await readyz(server.url);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ready');
    assert.deepEqual(body.store, { kind: 'sqlite', reachable: true });
    assert.equal(body.routing.synced, true);
    assert.ok(body.routing.lastSyncAt !== null && body.routing.syncAgeMs !== null);
    assert.ok(body.routing.syncAgeMs >= 0);
    assert.equal(body.changeFeed.kind, 'in-process');
    assert.equal(body.changeFeed.connected, true);
    assert.deepEqual(body.instances, { total: 0, busy: 0, provisioned: 0, versions: 0 });
    // Alone on its store, the node divides provisioned instances with nobody.
    assert.deepEqual(body.provisioned, { nodes: [body.node], instances: [] });
  });

  test('on PostgreSQL, with the connections named after the node', async (t) => {
    const [node] = (await cluster(t, 1)) as [Node];
    const live = await fetch(`${node.url}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'ok' });
    await createFunction(node, 'probe', 1);
    assert.equal((await invoke(node, 'probe', '1')).status, 200);
    const { status, body } = await readyz(node.url);
    assert.equal(status, 200, JSON.stringify(body));
    assert.deepEqual(body.store, { kind: 'postgres', reachable: true });
    assert.equal(body.routing.synced, true);
    assert.equal(body.routing.functions, 1);
    assert.equal(body.changeFeed.kind, 'postgres');
    assert.equal(body.changeFeed.connected, true);
    assert.equal(body.changeFeed.reconnects, 0);
    assert.equal(body.instances.total, 1);
    const named = await withPgClient((c) =>
      c.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [`sluice-${node.id}`]),
    );
    assert.ok((named.rowCount ?? 0) >= 2, 'the pool and the LISTEN connection carry the node name');
  });
});

describe('several nodes on one PostgreSQL database', () => {
  test('three nodes started at once on an empty database create one admin token, which all of them take', async (t) => {
    const schema = `sluice_nodes_${randomBytes(5).toString('hex')}`;
    schemas.add(schema);
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(storeUrl(schema))));
    t.after(async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      await dropSchema(schema);
    });
    const writers = nodes.filter((n) => n.wroteToken);
    assert.equal(writers.length, 1, 'exactly one node wrote an admin token');
    const stored = await withPgClient((c) =>
      c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${pg.escapeIdentifier(schema)}.api_tokens`),
    );
    assert.equal(stored.rows[0]?.n, 1, 'the database holds one token');
    for (const node of nodes) {
      const res = await apiClient(node.url, (writers[0] as Node).token)('GET', '/v1/functions');
      assert.equal(res.status, 200, `node ${node.id} takes the token`);
    }
  });

  test('an alias updated through node A is routed the new way by node B within a bounded time', async (t) => {
    const [a, b] = (await cluster(t, 2)) as [Node, Node];
    await createFunction(a, 'f', 2);
    await setAlias(a, 'f', 'live', '1');
    await routedTo(b, 'f', 'live', '1', PROPAGATION_MS);
    await warm(b, 'f', ['1', '2'], 1);
    const times: number[] = [];
    for (let i = 0; i < 100; i++) {
      const version = i % 2 === 0 ? '2' : '1';
      await setAlias(a, 'f', 'live', version);
      times.push(await routedTo(b, 'f', 'live', version, PROPAGATION_MS));
    }
    const sorted = [...times].sort((x, y) => x - y);
    t.diagnostic(
      `propagation A → B over ${times.length} alias updates: p50 ${percentile(sorted, 0.5).toFixed(1)} ms, ` +
        `p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${(sorted.at(-1) as number).toFixed(1)} ms ` +
        '(from A answering the update to B answering an invocation with the new version)',
    );
    assert.ok((sorted.at(-1) as number) < PROPAGATION_MS);
  });

  test('a token revoked through node A gets 401 on node B, which held it, within a bounded time', async (t) => {
    const [a, b] = (await cluster(t, 2)) as [Node, Node];
    await createFunction(a, 'f', 1);
    const created = await a.api('POST', '/v1/tokens', { name: 'app', scope: 'invoke' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { id, token } = created.body as { id: string; token: string };
    const app = { ...b, api: apiClient(b.url, token) };
    // B remembers the token once it has taken it.
    assert.equal((await invoke(app, 'f', '1')).status, 200);
    assert.equal((await a.api('DELETE', `/v1/tokens/${id}`)).status, 204);
    const started = performance.now();
    await waitFor(async () => (await invoke(app, 'f', '1')).status === 401, {
      timeout: PROPAGATION_MS,
      what: 'node B to refuse the revoked token',
      interval: 20,
    });
    t.diagnostic(`revocation A → B: ${(performance.now() - started).toFixed(1)} ms`);
    for (const node of [a, b]) {
      const refused = await apiClient(node.url, token)('GET', '/v1/server');
      assert.equal(refused.status, 401, `node ${node.id}`);
    }

    // The shared store holds no working secret: a token's hash, an access key's sealed secret.
    const key = (await b.api('POST', '/v1/access-keys', { name: 'sdk', scope: 'deploy' })).body as {
      id: string;
      secret: string;
    };
    // The cluster's schema: the one made last.
    const schema = pg.escapeIdentifier([...schemas].at(-1) ?? '');
    const rows = await withPgClient(async (c) => {
      const tokens = await c.query(`SELECT * FROM ${schema}.api_tokens`);
      const keys = await c.query(`SELECT * FROM ${schema}.access_keys`);
      return JSON.stringify([tokens.rows, keys.rows]);
    });
    assert.ok(rows.includes(key.id), 'the rows were read');
    for (const secret of [a.token, key.secret]) assert.ok(!rows.includes(secret), 'no secret in clear');
  });

  test('two nodes publishing one function at once: unique increasing numbers, and no version ever changes', async (t) => {
    const [a, b] = (await cluster(t, 2)) as [Node, Node];
    await createFunction(a, 'g', 0);
    const published: Record<string, unknown>[] = [];
    const publishFrom = async (node: Node, label: string) => {
      const mine: number[] = [];
      for (let i = 0; i < 50; i++) {
        const patched = await node.api('PATCH', '/v1/functions/g', { description: `${label} ${i}` });
        assert.equal(patched.status, 200, JSON.stringify(patched.body));
        const res = await node.api('POST', '/v1/functions/g/versions', { description: `${label} ${i}` });
        if (res.status === 409 && errorCode(res) === 'NothingToPublish') continue; // the other node took it
        assert.equal(res.status, 201, JSON.stringify(res.body));
        const version = res.body as { versionId: string };
        published.push(res.body as Record<string, unknown>);
        mine.push(Number(version.versionId));
      }
      return mine;
    };
    const [fromA, fromB] = await Promise.all([publishFrom(a, 'A'), publishFrom(b, 'B')]);
    for (const mine of [fromA, fromB]) {
      assert.deepEqual(
        mine,
        [...mine].sort((x, y) => x - y),
        'each node sees its numbers increase',
      );
    }
    const numbers = published.map((v) => Number(v.versionId)).sort((x, y) => x - y);
    assert.equal(new Set(numbers).size, numbers.length, 'no number is given twice');
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i + 1),
      'the numbers are 1 … n, without a gap',
    );
    t.diagnostic(`${fromA.length} versions published through A, ${fromB.length} through B`);
    assert.ok(fromA.length > 0 && fromB.length > 0);
    for (const node of [a, b]) {
      const listed = (await node.api('GET', '/v1/functions/g/versions?limit=100')).body as {
        versions: Record<string, unknown>[];
      };
      const byId = new Map(listed.versions.map((v) => [v.versionId, v]));
      assert.equal(byId.size, published.length);
      for (const version of published) {
        assert.deepEqual(byId.get(version.versionId), version, `version ${String(version.versionId)}`);
        const one = await node.api('GET', `/v1/functions/g/versions/${String(version.versionId)}`);
        assert.deepEqual(one.body, version);
      }
    }
  });

  test("node B's connections terminated under traffic: no request fails, B reconnects, resyncs and catches up", async (t) => {
    const target = new URL(PG_URL);
    const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    t.after(() => proxy.close());
    // B reaches PostgreSQL through the proxy, which keeps it away for a while after its backends are ended.
    const [a, b] = (await cluster(t, 2, (i) => (i === 1 ? proxy.address : undefined))) as [Node, Node];
    await createFunction(a, 'h', 2);
    await setAlias(a, 'h', 'live', '1');
    await routedTo(b, 'h', 'live', '1', PROPAGATION_MS);
    await warm(b, 'h', ['1', '2'], 4);

    let stop = false;
    const failures: string[] = [];
    const served = new Map<string, number>();
    const traffic = Array.from({ length: 3 }, async () => {
      while (!stop) {
        const r = await invoke(b, 'h', 'live').catch((error: unknown) => ({
          status: 0,
          version: null,
          body: String(error),
        }));
        if (r.status !== 200) failures.push(`${r.status} ${r.body}`);
        served.set(String(r.version), (served.get(String(r.version)) ?? 0) + 1);
      }
    });
    await waitFor(() => [...served.values()].reduce((n, c) => n + c, 0) >= 20, {
      timeout: 30_000,
      what: 'traffic through B before the outage',
    });

    proxy.pause();
    const outageStarted = Date.now();
    const terminated = await terminateBackends(b);
    assert.ok(terminated >= 2, `B's pool and LISTEN connections were ended (${terminated})`);
    const down = await readyzUntil(b.url, (r) => r.status === 503, 30_000);
    assert.equal(down.body.changeFeed.connected, false);
    assert.equal(down.body.store.reachable, false);
    // An update during the outage, through A, which B cannot hear of.
    await setAlias(a, 'h', 'live', '2');
    await routedTo(a, 'h', 'live', '2', PROPAGATION_MS);
    // B tries to reconnect, and fails: had it any way to hear of the update, it would have by then.
    const failedAttempts = () => b.output().split('change feed: could not connect to PostgreSQL').length - 1;
    await waitFor(() => failedAttempts() >= 2, { timeout: 30_000, what: 'B to fail to reconnect twice' });
    const during = await invoke(b, 'h', 'live');
    assert.equal(during.status, 200, during.body);
    assert.equal(during.version, '1', 'B serves from memory meanwhile');

    proxy.resume();
    const resumed = Date.now();
    const up = await readyzUntil(
      b.url,
      (r) =>
        r.status === 200 &&
        r.body.changeFeed.reconnects >= 1 &&
        r.body.routing.lastSyncAt !== null &&
        Date.parse(r.body.routing.lastSyncAt) >= resumed,
      20_000,
    );
    assert.equal(up.body.changeFeed.connected, true);
    assert.equal(up.body.store.reachable, true);
    assert.equal(up.body.routing.synced, true);
    await routedTo(b, 'h', 'live', '2', PROPAGATION_MS);
    const caughtUp = Date.now();
    const servedBy = (version: string) => served.get(version) ?? 0;
    const afterCatchUp = servedBy('2');
    await waitFor(() => servedBy('2') >= afterCatchUp + 20, {
      timeout: 30_000,
      what: 'traffic through B after it caught up',
    });
    stop = true;
    await Promise.all(traffic);

    const total = [...served.values()].reduce((n, c) => n + c, 0);
    t.diagnostic(
      `outage of B: ${((resumed - outageStarted) / 1000).toFixed(1)} s, back in sync ${caughtUp - resumed} ms ` +
        `after PostgreSQL was reachable again; ${total} invocations through B (${JSON.stringify(Object.fromEntries(served))})`,
    );
    assert.deepEqual(failures, [], 'no request failed');
    assert.ok(total > 100, `traffic flowed through B (${total} invocations)`);
    const told = b
      .output()
      .split('\n')
      .filter((line) => /^(change feed|sync):/.test(line));
    t.diagnostic(`what B logged:\n${told.join('\n')}`);
    assert.match(b.output(), /lost the PostgreSQL connection/);
    assert.match(b.output(), /reconnected to PostgreSQL after/);
  });

  test('alias writes on both nodes while their connections are ended again and again: each 2xx in the history once, no 5xx in it', async (t) => {
    const [a, b] = (await cluster(t, 2)) as [Node, Node];
    await createFunction(a, 'w', 2);
    const answers = new Map<string, number>();
    let writing = true;
    const writer = async (node: Node, label: string) => {
      for (let i = 0; writing; i++) {
        const description = `${label}-${i}`;
        const res = await node.api('PUT', '/v1/functions/w/aliases/live', {
          version: String((i % 2) + 1),
          description,
        });
        answers.set(description, res.status);
      }
    };
    const writers = [writer(a, 'a'), writer(b, 'b')];
    let terminations = 0;
    for (let round = 0; round < 20; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      terminations += (await terminateBackends(a)) + (await terminateBackends(b));
    }
    writing = false;
    await Promise.all(writers);

    const history = (await a.api('GET', '/v1/functions/w/aliases/live/history')).body as {
      history: { after: { description: string } | null }[];
    };
    const recorded = new Map<string, number>();
    for (const entry of history.history) {
      const description = entry.after?.description ?? '';
      recorded.set(description, (recorded.get(description) ?? 0) + 1);
    }
    const statuses = [...answers.values()];
    const failed = [...answers].filter(([, status]) => status >= 500);
    t.diagnostic(
      `${answers.size} writes, ${statuses.filter((s) => s < 300).length} answered 2xx and ${failed.length} 5xx, ` +
        `while ${terminations} connections were ended`,
    );
    assert.ok(terminations >= 20, `connections were ended (${terminations})`);
    for (const [description, status] of answers) {
      if (status < 300) assert.equal(recorded.get(description), 1, `${description} answered ${status}`);
      else
        assert.equal(recorded.get(description), undefined, `${description} answered ${status} yet was saved`);
    }
    assert.ok(
      statuses.every((s) => s < 300 || s >= 500),
      `a write was refused: ${statuses.join()}`,
    );
  });

  test("the node holding a rollout's lease is SIGKILLed: the other finishes it, and its status matches the alias", async (t) => {
    const [a, b] = (await cluster(t, 2)) as [Node, Node];
    await createFunction(a, 'r', 2);
    await setAlias(a, 'r', 'live', '1');
    const started = await a.api('POST', '/v1/functions/r/aliases/live/rollouts', {
      to: '2',
      steps: [0.5],
      interval: '2s',
      minInvocations: 1,
    });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const id = (started.body as { id: string }).id;
    const owner = () =>
      withPgClient(async (c) => {
        const found = await c.query<{ owner: string | null }>(
          `SELECT lease_owner AS owner FROM ${pg.escapeIdentifier(a.schema)}.rollouts WHERE id = $1`,
          [id],
        );
        return found.rows[0]?.owner ?? null;
      });
    const holderId = await waitFor(
      async () => {
        const found = await owner();
        assert.ok(found, 'no node holds the lease yet');
        return found;
      },
      { timeout: 30_000, what: 'a node to take the rollout' },
    );
    const [holder, survivor] = holderId === (await a.leaseId()) ? [a, b] : [b, a];
    assert.equal(holderId, await holder.leaseId());
    holder.kill();
    const killedAt = Date.now();

    const traffic = { on: true };
    const load = (async () => {
      while (traffic.on) {
        const r = await invoke(survivor, 'r', 'live');
        assert.equal(r.status, 200, r.body);
      }
    })();
    // Its lease (10 s) runs out, then the survivor takes the rollout on; generous for a busy machine.
    const done = await waitFor(
      async () => {
        const r = (await survivor.api('GET', `/v1/rollouts/${id}`)).body as {
          status: string;
          currentWeight: number;
          reason?: string;
        };
        assert.notEqual(r.status, 'running', 'the rollout is still running');
        return r;
      },
      { timeout: 90_000, what: 'the survivor to finish the rollout', interval: 250 },
    );
    traffic.on = false;
    await load;
    t.diagnostic(`finished by the survivor ${Date.now() - killedAt} ms after the holder was killed`);
    assert.equal(done.status, 'succeeded', done.reason ?? '');
    assert.equal(await owner(), await survivor.leaseId(), 'the survivor took the lease');
    const live = (await survivor.api('GET', '/v1/functions/r/aliases/live')).body as {
      version: string;
      canary?: unknown;
    };
    assert.deepEqual([live.version, live.canary], ['2', undefined]);
    assert.equal(done.currentWeight, 1, 'a finished rollout reports where its alias is');
  });

  test('metrics from both nodes add up, and logs --follow on one node shows the lines of both', async (t) => {
    const [a, b] = (await cluster(t, 2)) as [Node, Node];
    await createFunction(a, 'm', 1);
    await readyzUntil(b.url, (r) => r.body.routing.functions === 1, PROPAGATION_MS);

    // Follow the logs through A, from before any invocation.
    const events: { requestId: string | null; text: string }[] = [];
    const abort = new AbortController();
    const follow = await fetch(`${a.url}/v1/functions/m/logs?follow=true`, {
      headers: { authorization: `Bearer ${a.token}` },
      signal: abort.signal,
    });
    assert.equal(follow.status, 200);
    const reading = (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for await (const chunk of follow.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = /^event: log\ndata: (.*)$/m.exec(block);
            if (data)
              events.push(JSON.parse(data[1] as string) as { requestId: string | null; text: string });
          }
        }
      } catch {
        // aborted
      }
    })();
    t.after(async () => {
      abort.abort();
      await reading;
    });

    const expected: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await invoke(a, 'm', '1', `a-${i}`);
      assert.equal(r.status, 200, r.body);
      expected.push(`event a-${i}`);
    }
    for (let i = 0; i < 5; i++) {
      const r = await invoke(b, 'm', '1', `b-${i}`);
      assert.equal(r.status, 200, r.body);
      expected.push(`event b-${i}`);
    }

    // Each node flushes its own buckets; the API adds up the rows of both, whichever node answers.
    for (const node of [a, b]) {
      const body = await waitFor(
        async () => {
          const res = await node.api('GET', '/v1/functions/m/metrics?since=10m');
          assert.equal(res.status, 200, JSON.stringify(res.body));
          const body = res.body as {
            totals: { invocations: number };
            series: { version: string; totals: { invocations: number } }[];
          };
          assert.ok(body.totals.invocations <= 12, `more invocations than made: ${body.totals.invocations}`);
          return body.totals.invocations === 12 && body;
        },
        { timeout: 30_000, what: 'the metrics of both nodes to add up to 12', interval: 200 },
      );
      assert.deepEqual(
        body.series.map((s) => [s.version, s.totals.invocations]),
        [['1', 12]],
      );
    }

    const missed = () => expected.filter((line) => !events.some((e) => e.text.includes(line)));
    await waitFor(() => missed().length === 0, {
      timeout: 30_000,
      what: 'the follow on A to show every line',
    });
    // A follower sends rows in the order of their ids: once a line written after all the others has come, a
    // duplicate of any of them would have come before it.
    const last = await invoke(b, 'm', '1', 'last');
    assert.equal(last.status, 200, last.body);
    expected.push('event last');
    await waitFor(() => missed().length === 0, {
      timeout: 30_000,
      what: 'the follow on A to show the last line',
    });
    const requestIds = events.map((e) => e.requestId);
    assert.equal(new Set(requestIds).size, requestIds.length, 'each line once');
    assert.equal(events.length, expected.length);
  });
});
