import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { apiClient, type ApiCall } from './api-client.js';
import { spawnServer, type SpawnedServer } from './server-process.js';

/** The PostgreSQL the multi-node tests need; they fail (never skip) when it is not there. */
export const PG_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs `fn` on a connection of its own to PG_URL, ended after. */
export async function withPgClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A `sluice server` process on the schema of its `PgNodes`. */
export interface PgNode {
  server: SpawnedServer;
  url: string;
  dataDir: string;
  token: string;
  api: ApiCall;
  /** Sends `signal` unless it has ended, waits for it to end and removes its data directory. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `sluice server` processes on one PostgreSQL schema of their own, made by the first of them. */
export interface PgNodes {
  /** Every node started, in order, ended or not. */
  nodes: PgNode[];
  /**
   * Starts a node with `args` beside `--data-dir` and `--store`; `token` is the admin token of a node before
   * it (the first one on the schema makes it and writes it to its data directory, the others do not).
   */
  start(args?: readonly string[], token?: string): Promise<PgNode>;
  /** Ends every node (SIGTERM) and drops the schema. */
  close(): Promise<void>;
}

/** Nodes on the schema `<prefix>_<random>`, which the first of them creates. */
export function pgNodes(prefix: string): PgNodes {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const store = new URL(PG_URL);
  store.searchParams.set('schema', schema);
  // The store is the one given here, whatever the environment of the test run says.
  const env = { ...process.env };
  delete env.SLUICE_STORE;
  const nodes: PgNode[] = [];
  return {
    nodes,
    start: async (args = [], token) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'sluice-node-'));
      const server = await spawnServer(['--data-dir', dataDir, '--store', store.href, ...args], env);
      const adminToken = token ?? (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
      const node: PgNode = {
        server,
        url: server.url,
        dataDir,
        token: adminToken,
        api: apiClient(server.url, adminToken),
        kill: async (signal) => {
          const child = server.child;
          if (child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill(signal);
            await exited;
          }
          await rm(dataDir, { recursive: true, force: true });
        },
      };
      nodes.push(node);
      return node;
    },
    close: async () => {
      for (const node of nodes) await node.kill('SIGTERM');
      await withPgClient((c) => c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`));
    },
  };
}
