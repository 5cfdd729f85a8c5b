import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { apiClient } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { PG_URL, withPgClient } from '../support/postgres.js';
import { spawnServer, type SpawnedServer } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Every PostgreSQL connection of a node ended from the server's side, again and again, while it serves: the
// node must log, reconnect and go on. An error a pg client emits with no listener ends the process; the
// window that once did (a FATAL arriving in the same read as a new pooled connection's readyForQuery, after
// the pool took its own listener off and before ours was on) is hit only by many terminations, hence the loop.

/** A database of this test's own: terminating every backend of `test` would end other suites' connections. */
const DATABASE = `sluice_terminated_${randomBytes(5).toString('hex')}`;
const TERMINATIONS = 300;
/**
 * A loaded machine reconnects slowly, and a round may find no backend to end: rounds go on until TERMINATIONS
 * backends were ended, for as long as this.
 */
const TERMINATING_MS = 180_000;

let server: SpawnedServer | undefined;
let dataDir = '';
let exit: string | undefined;

before(async () => {
  await withPgClient((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(DATABASE)}`));
  dataDir = await mkdtemp(join(tmpdir(), 'sluice-terminated-'));
  const store = new URL(PG_URL);
  store.pathname = `/${DATABASE}`;
  server = await spawnServer(['--data-dir', dataDir, '--store', store.href]);
  server.child.once('exit', (code, signal) => {
    exit = signal ?? `status ${code}`;
  });
});

after(async () => {
  if (server && exit === undefined) {
    const exited = new Promise((resolve) => server?.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await exited;
  }
  await rm(dataDir, { recursive: true, force: true });
  await withPgClient((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(DATABASE)} WITH (FORCE)`));
});

interface Readiness {
  changeFeed: { connected: boolean; reconnects: number };
}

test('a node whose connections are terminated again and again stays up, serves, and its change feed recovers', async () => {
  assert.ok(server);
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const api = apiClient(server.url, token);
  const created = await api('POST', '/v1/functions', {
    name: 'f',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: {
      zipFile: (await zipOf({ 'index.js': 'exports.handler = async () => "ok";' })).toString('base64'),
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));

  // Store reads and writes keep the pool opening connections while they are being ended.
  const loaded = new AbortController();
  const loader = (async () => {
    for (let i = 0; !loaded.signal.aborted && exit === undefined; i++) {
      await api('PATCH', '/v1/functions/f', { description: `round ${i}` }).catch(() => undefined);
      await api('GET', '/v1/functions').catch(() => undefined);
    }
  })();
  let ended = 0;
  const deadline = performance.now() + TERMINATING_MS;
  await withPgClient(async (c) => {
    for (let i = 0; ended < TERMINATIONS && exit === undefined && performance.now() < deadline; i++) {
      const result = await c.query<{ ended: boolean }>(
        'SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [DATABASE],
      );
      ended += result.rows.filter((r) => r.ended).length;
      await delay(i % 3 === 0 ? 1 : 5 + Math.random() * 40);
    }
  });
  loaded.abort();
  await loader;
  assert.equal(exit, undefined, `the node ended (${exit}):\n${server.output().slice(-3000)}`);
  assert.ok(ended >= TERMINATIONS, `backends were terminated (${ended})`);

  const ready = await waitFor(
    async () => {
      const res = await fetch(`${server?.url}/readyz`);
      const body = (await res.json()) as Readiness;
      return res.status === 200 && body.changeFeed.connected && body.changeFeed.reconnects > 0 && body;
    },
    { timeout: 30_000, interval: 200, what: 'the node to be ready with its change feed connected again' },
  );
  assert.ok(ready.changeFeed.reconnects > 0);
  const written = await api('PATCH', '/v1/functions/f', { description: 'after' });
  assert.equal(written.status, 200, JSON.stringify(written.body));
  const read = await api('GET', '/v1/functions/f');
  assert.equal((read.body as { description: string }).description, 'after');
});
