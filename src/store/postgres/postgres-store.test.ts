import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { isSluiceError } from '../../core/errors.js';
import { emptyHistogram } from '../../core/histogram.js';
import type { VersionRecord } from '../../core/model.js';
import type { InvocationLog, MetricRow } from '../../core/telemetry.js';
import { LATEST } from '../../core/names.js';
import { config } from '../../../test/support/config.js';
import { invocationLog } from '../../../test/support/telemetry.js';
import { assertLogsMigrated, LOGS_BEFORE_RUNS, storeContract } from '../store.contract.js';
import { blob, type OpenedStore } from '../contract-support.js';
import { provisionedContract } from '../provisioned.contract.js';
import { credentialsContract } from '../credentials.contract.js';
import { vendorApiContract } from '../vendor-api.contract.js';
import { asyncContract } from '../async.contract.js';
import { triggersContract } from '../triggers.contract.js';
import type { Change, Store } from '../store.js';
import { migrations } from './migrations.js';
import { PostgresStore } from './postgres-store.js';
import { encodePageToken } from '../paging.js';
import { startTcpProxy } from '../../../test/support/tcp-proxy.js';
import { waitFor } from '../../../test/support/wait-for.js';

/** CI and every machine of this kind run PostgreSQL here; these tests fail, never skip, when it is absent. */
const URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachability: Promise<void> | undefined;

/** Checks once that the server answers, so that every test fails with the same clear message when it does not. */
function requirePostgres(): Promise<void> {
  reachability ??= (async () => {
    const client = new pg.Client({ connectionString: URL, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
    } catch (error) {
      throw new Error(
        `PostgreSQL is unreachable at ${URL} (${error instanceof Error ? error.message : String(error)}). ` +
          'The PostgresStore tests need a running server; set SLUICE_TEST_POSTGRES_URL to use another one.',
      );
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return reachability;
}

const schemas = new Set<string>();

/** A schema of its own for one test, dropped by `dropSchema` (or, at the latest, when the file ends). */
function freshSchema(): string {
  const schema = `sluice_test_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

/** Runs `fn` on a connection of its own, on `schema` when one is given: another process, as it were. */
async function withClient<T>(schema: string | undefined, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: URL,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function dropSchema(schema: string): Promise<void> {
  await withClient(undefined, (c) => c.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`));
  schemas.delete(schema);
}

after(async () => {
  for (const schema of [...schemas]) await dropSchema(schema).catch(() => undefined);
});

/** The simple-query protocol's COMMIT as the client sends it, and the server's CommandComplete for it. */
const COMMIT_QUERY = Buffer.from('Q\0\0\0\x0bCOMMIT\0', 'latin1');
const COMMIT_DONE = Buffer.from('C\0\0\0\x0bCOMMIT\0', 'latin1');

type CommitMoment = 'before the server saw it' | 'after the server committed';

/**
 * A relay to PostgreSQL that, once armed, breaks the next connection that commits: before the server sees its
 * COMMIT, or after the server committed and before the node hears so. Disarms itself when it has.
 */
async function commitBreaker(target: globalThis.URL) {
  let armed: CommitMoment | undefined;
  const at = (moment: CommitMoment, marker: Buffer) => (chunk: Buffer) => {
    if (armed !== moment || !chunk.includes(marker)) return false;
    armed = undefined;
    return true;
  };
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432), {
    fromClient: at('before the server saw it', COMMIT_QUERY),
    fromServer: at('after the server committed', COMMIT_DONE),
  });
  return {
    port: Number(proxy.address.split(':')[1]),
    arm: (moment: CommitMoment) => {
      armed = moment;
    },
    get armed() {
      return armed;
    },
    close: () => proxy.close(),
  };
}

async function closeQuietly(store: Store): Promise<void> {
  await store.close().catch(() => undefined);
}

async function openSchema(): Promise<OpenedStore> {
  await requirePostgres();
  const schema = freshSchema();
  let store = await PostgresStore.open(URL, { schema });
  return {
    store,
    tamper: async (sql) => {
      await withClient(schema, (c) => c.query(sql));
    },
    reopen: async () => {
      store = await PostgresStore.open(URL, { schema });
      return store;
    },
    cleanup: async () => {
      await closeQuietly(store);
      await dropSchema(schema);
    },
  };
}

storeContract('PostgresStore', openSchema);
provisionedContract('PostgresStore', openSchema);
credentialsContract('PostgresStore', openSchema);
vendorApiContract('PostgresStore', openSchema);
asyncContract('PostgresStore', openSchema);
triggersContract('PostgresStore', openSchema);

let tick = 0;
const change = (actor = 'tester'): Change => ({
  actor,
  now: new Date(Date.UTC(2024, 0, 1) + tick++ * 1000).toISOString(),
});

/** Opens `count` stores ("nodes", each its own pool) on one fresh schema, and closes and drops it all after. */
async function withNodes(
  count: number,
  body: (nodes: PostgresStore[], schema: string) => Promise<void>,
): Promise<void> {
  await requirePostgres();
  const schema = freshSchema();
  const nodes: PostgresStore[] = [];
  try {
    for (let i = 0; i < count; i++) nodes.push(await PostgresStore.open(URL, { schema }));
    await body(nodes, schema);
  } finally {
    for (const node of nodes) await closeQuietly(node);
    await dropSchema(schema);
  }
}

describe('PostgresStore only', () => {
  it(`reaches PostgreSQL at ${URL}`, async () => {
    await requirePostgres();
  });

  it('two nodes publishing one function concurrently 50 times get unique, increasing numbers, and no version changes', async () => {
    await withNodes(2, async (nodes) => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      await a.createFunction('f', config(), blob('start'), change());
      const target = 50;
      const won: VersionRecord[] = [];
      const refusals: string[] = [];
      let code = 0;

      // Four workers per node, each a loop of "update $LATEST, publish": publishes of both nodes interleave.
      const worker = async (node: PostgresStore, label: string): Promise<number[]> => {
        const mine: number[] = [];
        while (won.length < target) {
          await node.updateFunction('f', { code: blob(`code-${code++}`) }, change(label));
          try {
            const version = await node.publishVersion('f', label, change(label));
            won.push(version);
            mine.push(version.version);
          } catch (error) {
            // Another worker published the same $LATEST first: refused, and no number is used up.
            assert.ok(isSluiceError(error) && error.code === 'NothingToPublish', String(error));
            refusals.push(label);
          }
        }
        return mine;
      };

      // A reader on node B notes each version when first seen, and fails if it ever reads it otherwise.
      const seen = new Map<number, string>();
      let watching = true;
      const watch = async (): Promise<number> => {
        let reads = 0;
        while (watching) {
          const page = await b.listVersions('f', { limit: 1000 });
          for (const v of page.items) {
            const text = JSON.stringify(v);
            const first = seen.get(v.version);
            if (first === undefined) seen.set(v.version, text);
            else assert.equal(text, first, `version ${v.version} changed after it was published`);
          }
          reads++;
          await sleep(2);
        }
        return reads;
      };
      const started = Date.now();
      const publishing = Promise.all([
        ...[0, 1, 2, 3].map((i) => worker(a, `a${i}`)),
        ...[0, 1, 2, 3].map((i) => worker(b, `b${i}`)),
      ]).finally(() => {
        watching = false;
      });
      const [sequences, reads] = await Promise.all([publishing, watch()]);
      const elapsed = Date.now() - started;

      assert.ok(won.length >= target, `only ${won.length} publishes succeeded`);
      const numbers = won.map((v) => v.version).sort((x, y) => x - y);
      assert.deepEqual(
        numbers,
        numbers.map((_, i) => i + 1),
        'numbers are not 1..n without gaps or repeats',
      );
      for (const sequence of sequences) {
        assert.deepEqual(
          sequence,
          [...sequence].sort((x, y) => x - y),
          'a worker saw its numbers go back',
        );
      }
      assert.ok(
        sequences.slice(0, 4).flat().length > 0 && sequences.slice(4).flat().length > 0,
        'one node published nothing',
      );

      const expected = [...won].sort((x, y) => x.version - y.version);
      for (const node of [a, b]) {
        const stored = (await node.listVersions('f', { limit: 1000 })).items;
        assert.deepEqual(stored, expected, 'a stored version differs from what its publish returned');
      }
      for (const v of expected) {
        assert.equal(seen.get(v.version) ?? JSON.stringify(v), JSON.stringify(v));
        const zip = await a.getCode(v.code.sha256);
        assert.ok(zip, `the code of version ${v.version} is missing`);
        assert.deepEqual(blob(zip).sha256, v.code.sha256, `the code of version ${v.version} changed`);
      }
      assert.deepEqual(
        [a.transactionsRetried, b.transactionsRetried],
        [0, 0],
        'the function lock should queue publishes, not make them fail and retry',
      );
      // Next numbers continue past everything issued, on either node.
      await b.updateFunction('f', { code: blob('after') }, change());
      assert.equal((await b.publishVersion('f', 'after', change())).version, numbers.length + 1);
      console.log(
        `# ${won.length} publishes (${refusals.length} refused as NothingToPublish) on 2 nodes in ${elapsed} ms; ${reads} concurrent reads saw no change`,
      );
    });
  });

  it('three nodes claiming one queue at once (FOR UPDATE SKIP LOCKED) each take different events, and all of them', async () => {
    await withNodes(3, async (nodes) => {
      const first = nodes[0]!;
      await first.createFunction('f', config(), blob('f'), change());
      const at = Date.UTC(2024, 0, 1);
      for (let i = 0; i < 300; i++)
        await first.enqueueAsync({
          id: `e${i}`,
          functionName: 'f',
          qualifier: '$DEFAULT',
          payload: Buffer.from('x'),
          source: 'async',
          createdAt: at,
        });
      const taken = new Map<string, string>();
      await Promise.all(
        nodes.map(async (node, n) => {
          for (;;) {
            const claimed = await node.claimAsync(`node${n}`, at, 60_000, 7);
            if (claimed.length === 0) return;
            for (const e of claimed) {
              assert.equal(taken.get(e.id), undefined, `${e.id} claimed twice`);
              taken.set(e.id, `node${n}`);
            }
          }
        }),
      );
      assert.equal(taken.size, 300);
      assert.ok(new Set(taken.values()).size > 1, 'the nodes shared the work');
    });
  });

  it('two nodes updating one alias with the same expectedRevision: exactly one wins, every time', async () => {
    await withNodes(2, async (nodes) => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      await a.createFunction('f', config(), blob('one'), change());
      await a.publishVersion('f', '', change());
      await a.updateFunction('f', { code: blob('two') }, change());
      await a.publishVersion('f', '', change());
      await a.putAlias('f', 'live', { version: 1, description: '' }, change());

      const rounds = 25;
      for (let round = 0; round < rounds; round++) {
        const current = await b.getAlias('f', 'live');
        assert.ok(current);
        const specs = [
          { version: 2, description: `a${round}` },
          { version: 1, description: `b${round}`, canary: { version: 2, weight: 0.5 } },
        ];
        const results = await Promise.allSettled(
          [a, b].map((node, i) =>
            node.putAlias('f', 'live', specs[i]!, {
              ...change(`node${i}`),
              expectedRevision: current.revision,
            }),
          ),
        );
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} writers won`);
        const loser = results.find((r) => r.status === 'rejected');
        assert.ok(
          loser && isSluiceError(loser.reason) && loser.reason.code === 'AliasConflict',
          String(loser?.reason),
        );
        const now = await a.getAlias('f', 'live');
        assert.deepEqual([now?.revision, now?.spec], [current.revision + 1, specs[winners[0]!]]);
      }
      assert.deepEqual([a.transactionsRetried, b.transactionsRetried], [0, 0]);
      const history = await b.aliasHistory('f', 'live');
      assert.deepEqual(
        history.map((e) => e.revision),
        Array.from({ length: rounds + 1 }, (_, i) => i + 1),
      );

      // Creating with createOnly on both nodes at once: one creates, the other is told it exists.
      const creators = await Promise.allSettled(
        [a, b].map((node) =>
          node.putAlias('f', 'new', { version: LATEST, description: '' }, { ...change(), createOnly: true }),
        ),
      );
      assert.deepEqual(creators.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const refused = creators.find((r) => r.status === 'rejected');
      assert.ok(refused && isSluiceError(refused.reason) && refused.reason.code === 'AliasAlreadyExists');
    });
  });

  it('stores opening a fresh schema at once all succeed, and migrate it once', async () => {
    await requirePostgres();
    const schema = freshSchema();
    const opened = await Promise.allSettled(
      Array.from({ length: 4 }, () => PostgresStore.open(URL, { schema })),
    );
    const stores = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    try {
      assert.deepEqual(
        opened.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : [])),
        [],
      );
      const rows = await withClient(schema, (c) =>
        c.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version'),
      );
      assert.deepEqual(
        rows.rows.map((r) => r.version),
        migrations.map((_, i) => i + 1),
      );
      // All of them work on the one schema.
      await stores[0]!.createFunction('f', config(), blob('a'), change());
      for (const store of stores) assert.equal((await store.getFunction('f'))?.name, 'f');
    } finally {
      for (const store of stores) await closeQuietly(store);
      await dropSchema(schema);
    }
  });

  it('refuses a schema newer than this code, leaves it as it was, and keeps no connection open', async () => {
    await requirePostgres();
    const schema = freshSchema();
    const app = `sluice_test_${randomBytes(4).toString('hex')}`;
    const url = `${URL}${URL.includes('?') ? '&' : '?'}application_name=${app}`;
    try {
      const store = await PostgresStore.open(url, { schema });
      await store.createFunction('f', config(), blob('a'), change());
      await store.close();
      await withClient(schema, (c) =>
        c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [migrations.length + 1]),
      );

      await assert.rejects(PostgresStore.open(url, { schema }), /newer/);
      await withClient(schema, async (c) => {
        const version = await c.query<{ v: number }>('SELECT MAX(version) AS v FROM schema_migrations');
        assert.equal(version.rows[0]?.v, migrations.length + 1);
        const count = await c.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM functions');
        assert.equal(count.rows[0]?.n, 1);
        const left = await c.query<{ n: number }>(
          'SELECT COUNT(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [app],
        );
        assert.equal(left.rows[0]?.n, 0, 'the refused open left connections behind');
      });
    } finally {
      await dropSchema(schema);
    }
  });

  it('refuses, in the database, to replace or renumber a version or history entry, or to reset a counter', async () => {
    await withNodes(1, async (nodes, schema) => {
      const store = nodes[0]!;
      await store.createFunction('f', config(), blob('a'), change());
      const v1 = await store.publishVersion('f', 'first', change());
      const history = await store.aliasHistory('f', '$DEFAULT');
      const tamper = (sql: string) => withClient(schema, (c) => c.query(sql));

      const refusals: [string, RegExp][] = [
        [
          `INSERT INTO versions (function_name, version, description, config_json, code_sha256, created_at)
           SELECT function_name, version, 'tampered', config_json, code_sha256, created_at FROM versions
           ON CONFLICT (function_name, version) DO UPDATE SET description = excluded.description`,
          /immutable/,
        ],
        [
          `INSERT INTO versions (function_name, version, description, config_json, code_sha256, created_at)
           SELECT function_name, version, 'tampered', config_json, code_sha256, created_at FROM versions
           ON CONFLICT DO NOTHING`,
          /immutable/,
        ],
        [
          `INSERT INTO alias_history (function_name, alias, revision, action, actor, at, before_json, after_json)
           SELECT function_name, alias, revision, action, 'mallory', at, before_json, after_json FROM alias_history
           ON CONFLICT (function_name, alias, revision) DO UPDATE SET actor = excluded.actor`,
          /append-only/,
        ],
        [
          `INSERT INTO alias_history (function_name, alias, revision, action, actor, at, before_json, after_json)
           SELECT function_name, alias, revision, action, 'mallory', at, before_json, after_json FROM alias_history
           ON CONFLICT DO NOTHING`,
          /append-only/,
        ],
        [
          `INSERT INTO code_blobs (sha256, size, zip) SELECT sha256, 1, '\\x00' FROM code_blobs
           ON CONFLICT (sha256) DO UPDATE SET zip = excluded.zip, size = excluded.size`,
          /immutable/,
        ],
        ["UPDATE versions SET description = 'x' WHERE false", /immutable/],
        ['UPDATE version_counters SET last_version = last_version - 1', /never reused/],
        ['UPDATE version_counters SET last_version = last_version', /never reused/],
        ['DELETE FROM version_counters', /never reused/],
        ['TRUNCATE version_counters', /never reused/],
      ];
      for (const [sql, message] of refusals) await assert.rejects(tamper(sql), message, sql);

      // What the store does itself is unaffected: the counter still grows, the blob is still collected.
      assert.deepEqual(await store.getVersion('f', 1), v1);
      assert.deepEqual(await store.aliasHistory('f', '$DEFAULT'), history);
      assert.deepEqual(await store.getCode(blob('a').sha256), blob('a').zip);
      await store.updateFunction('f', { code: blob('b') }, change());
      assert.equal((await store.publishVersion('f', '', change())).version, 2);
      await store.deleteFunction('f');
      await store.createFunction('f', config(), blob('c'), change());
      assert.equal((await store.publishVersion('f', '', change())).version, 3);
    });
  });

  it('keeps shared code exactly while nodes collect it and reuse it at the same time', async () => {
    await withNodes(2, async (nodes) => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      const shared = blob('shared');
      await a.createFunction('f', config(), blob('own'), change());
      const rounds = 30;
      // Node A keeps switching f onto the shared code and off it, which frees (collects) it each time...
      const switcher = async (): Promise<void> => {
        for (let i = 0; i < rounds; i++) {
          await a.updateFunction('f', { code: shared }, change());
          await a.updateFunction('f', { code: blob('own') }, change());
        }
      };
      // ...while both nodes create functions that use it (and publish it), check it is there, and delete them.
      const user = async (node: PostgresStore, prefix: string): Promise<void> => {
        for (let i = 0; i < rounds; i++) {
          await node.createFunction(`${prefix}${i}`, config(), shared, change());
          assert.deepEqual(await a.getCode(shared.sha256), shared.zip, 'code in use was collected');
          if (i % 2 === 0) await node.publishVersion(`${prefix}${i}`, '', change());
          assert.deepEqual(await b.getCode(shared.sha256), shared.zip, 'code in use was collected');
          await node.deleteFunction(`${prefix}${i}`);
        }
      };
      await Promise.all([switcher(), user(b, 'g'), user(a, 'h'), user(b, 'k')]);

      assert.deepEqual(
        (await a.listFunctions({ limit: 10 })).items.map((f) => f.name),
        ['f'],
      );
      assert.equal(await b.getCode(shared.sha256), undefined, 'code nothing uses was kept');
      // The blob locks prevented every race; none was left to the retry (a reference to a collected blob).
      assert.deepEqual([a.transactionsRetried, b.transactionsRetried], [0, 0]);
      assert.deepEqual(await b.getCode(blob('own').sha256), blob('own').zip);
    });
  });

  it('survives its connections being terminated: the next reads and writes reconnect', async () => {
    await requirePostgres();
    const schema = freshSchema();
    const app = `sluice_test_${randomBytes(4).toString('hex')}`;
    const url = `${URL}${URL.includes('?') ? '&' : '?'}application_name=${app}`;
    const idleErrors: Error[] = [];
    const store = await PostgresStore.open(url, { schema, onError: (e) => idleErrors.push(e) });
    try {
      await store.createFunction('f', config(), blob('a'), change());
      // Fill the pool with several idle connections, then end them all from the server's side.
      await Promise.all(Array.from({ length: 5 }, () => store.getFunction('f')));
      const terminated = await withClient(undefined, (c) =>
        c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [app]),
      );
      assert.ok((terminated.rowCount ?? 0) > 0, 'no connection of the store was found to terminate');

      assert.equal((await store.getFunction('f'))?.name, 'f');
      await store.updateFunction('f', { code: blob('b') }, change());
      assert.equal((await store.publishVersion('f', '', change())).version, 1);
      assert.equal((await store.listVersions('f', { limit: 10 })).items.length, 1);
      await waitFor(() => idleErrors.length > 0, {
        timeout: 10_000,
        what: 'the idle connections to be reported broken',
      });
    } finally {
      await closeQuietly(store);
      await dropSchema(schema);
    }
  });

  it('a read meeting pooled connections that all died finds a live one: each dead one is dropped in turn', async () => {
    await requirePostgres();
    const schema = freshSchema();
    const target = new globalThis.URL(URL);
    // Connections up to `doomed` break when next used, as backends ended while the pool held them idle.
    let doomed = 0;
    let made = 0;
    const relay = await startTcpProxy(target.hostname, Number(target.port || 5432), {
      fromClient: (_chunk, connection) => {
        made = Math.max(made, connection);
        return connection <= doomed;
      },
    });
    const url = new globalThis.URL(URL);
    url.host = relay.address;
    const store = await PostgresStore.open(url.href, { schema });
    try {
      await store.createFunction('f', config(), blob('a'), change());
      // A pool full of idle connections (the relay's first ones, made while opening and by these reads).
      await Promise.all(Array.from({ length: 10 }, () => store.getFunction('f')));
      doomed = made;
      const before = store.transactionsRetried;
      assert.equal(await store.countTokens(), 0, 'the readiness probe reads the tokens');
      assert.ok(store.transactionsRetried - before >= 3, 'it met dead connections first');
      // And a write, the same.
      await Promise.all(Array.from({ length: 10 }, () => store.getFunction('f')));
      doomed = made;
      const beforeWrite = store.transactionsRetried;
      assert.equal((await store.publishVersion('f', '', change())).version, 1);
      assert.ok(store.transactionsRetried - beforeWrite >= 3, 'it met dead connections first');
    } finally {
      await closeQuietly(store);
      await relay.close();
      await dropSchema(schema);
    }
  });

  it('a COMMIT whose connection breaks answers what happened: saved once when the server committed, run again when it did not', async () => {
    await requirePostgres();
    const schema = freshSchema();
    const breaker = await commitBreaker(new globalThis.URL(URL));
    const url = new globalThis.URL(URL);
    url.port = String(breaker.port);
    const store = await PostgresStore.open(url.href, { schema });
    try {
      await store.createFunction('f', config(), blob('a'), change());
      // The server commits, and the connection breaks before the answer reaches the node.
      breaker.arm('after the server committed');
      assert.equal((await store.publishVersion('f', 'one', change())).version, 1);
      assert.equal(breaker.armed, undefined, 'the COMMIT was broken');
      assert.equal(store.transactionsRetried, 0, 'a committed change is not made again');
      // The connection breaks before the server sees the COMMIT: nothing was saved, and the write runs again.
      await store.updateFunction('f', { code: blob('b') }, change());
      breaker.arm('before the server saw it');
      assert.equal((await store.publishVersion('f', 'two', change())).version, 2);
      assert.equal(breaker.armed, undefined, 'the COMMIT was broken');
      assert.equal(store.transactionsRetried, 1);
      breaker.arm('after the server committed');
      const first = await store.putAlias('f', 'live', { version: 1, description: '' }, change());
      assert.equal(first.alias.revision, 1);
      breaker.arm('before the server saw it');
      const second = await store.putAlias('f', 'live', { version: 2, description: '' }, change());
      assert.equal(second.alias.revision, 2);
      assert.deepEqual(
        (await store.listVersions('f', { limit: 10 })).items.map((v) => [v.version, v.description]),
        [
          [1, 'one'],
          [2, 'two'],
        ],
      );
      assert.deepEqual(
        (await store.aliasHistory('f', 'live')).map((h) => h.revision),
        [1, 2],
        'each change in the history exactly once',
      );
    } finally {
      await closeQuietly(store);
      await breaker.close();
      await dropSchema(schema);
    }
  });

  it('APIs and stages: bindings are checked, revisions guarded, and a bound alias cannot be deleted by another node meanwhile', async () => {
    await withNodes(2, async (nodes) => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      await a.createFunction('f', config(), blob('one'), change());
      await a.publishVersion('f', '', change());
      const definition = { description: 'shop', routes: [{ method: 'GET' as const, path: '/items' }] };
      const api = await a.createApi('shop', definition, change());
      assert.deepEqual(await b.getApi('shop'), api);
      await assert.rejects(
        a.createApi('shop', definition, change()),
        (e) => isSluiceError(e) && e.code === 'ApiAlreadyExists',
      );
      const spec = (qualifier: string) => ({ function: 'f', qualifier, variables: {}, routes: {} });
      await assert.rejects(
        b.putStage('shop', 'release', spec('live'), change()),
        (e) => isSluiceError(e) && e.code === 'StageBindingInvalid',
      );
      const first = await b.putStage('shop', 'release', spec('1'), change());
      assert.deepEqual([first.created, first.stage.revision], [true, 1]);
      await assert.rejects(
        a.putStage('shop', 'release', spec('$LATEST'), { ...change(), expectedRevision: 2 }),
        (e) => isSluiceError(e) && e.code === 'StageConflict',
      );
      await assert.rejects(a.deleteVersion('f', 1), (e) => isSluiceError(e) && e.code === 'VersionInUse');
      await assert.rejects(a.deleteFunction('f'), (e) => isSluiceError(e) && e.code === 'FunctionInUse');

      // Node A binds the stage to alias r<i> while node B deletes that alias: never both.
      for (let i = 0; i < 15; i++) {
        await a.putAlias('f', `r${i}`, { version: 1, description: '' }, change());
        const [bind, drop] = await Promise.allSettled([
          a.putStage('shop', 'release', spec(`r${i}`), change()),
          b.deleteAlias('f', `r${i}`, change()),
        ]);
        const stage = await b.getStage('shop', 'release');
        const alias = await a.getAlias('f', `r${i}`);
        if (bind.status === 'fulfilled') {
          assert.equal(drop.status, 'rejected', `round ${i}: the alias a stage binds was deleted`);
          assert.ok(isSluiceError(drop.reason) && drop.reason.code === 'AliasInUse', String(drop.reason));
          assert.ok(alias && stage?.spec.qualifier === `r${i}`);
        } else {
          assert.ok(
            isSluiceError(bind.reason) && bind.reason.code === 'StageBindingInvalid',
            String(bind.reason),
          );
          assert.equal(drop.status, 'fulfilled');
          assert.equal(alias, undefined);
        }
        await a.putStage('shop', 'release', spec('1'), change());
        await a.deleteAlias('f', `r${i}`, change()).catch(() => undefined);
      }

      const routed = { ...spec('1'), routes: { 'GET /items': { function: 'f', qualifier: '1' } } };
      await a.putStage('shop', 'release', routed, change());
      await assert.rejects(
        b.updateApi('shop', { description: '', routes: [] }, change()),
        (e) => isSluiceError(e) && e.code === 'RouteInUse',
      );
      const renamed = await b.updateApi('shop', { ...definition, description: 'v2' }, change());
      assert.equal(renamed.definition.description, 'v2');
      const history = await a.stageHistory('shop', 'release');
      assert.deepEqual(
        history.map((h) => h.revision),
        history.map((_, i) => i + 1),
      );
      assert.deepEqual(
        (await b.listStages('shop')).map((st) => st.name),
        ['release'],
      );
      await b.deleteApi('shop');
      assert.equal(await a.getApi('shop'), undefined);
      assert.deepEqual(await a.listStages(), []);
      await a.deleteVersion('f', 1);
    });
  });

  it('keeps telemetry per node: metric rows add up across nodes, logs filter and prune', async () => {
    await withNodes(2, async (nodes) => {
      const [a, b] = [nodes[0]!, nodes[1]!];
      const metric = (node: string, bucketStart: number, invocations: number): MetricRow => {
        const histogram = emptyHistogram();
        histogram[3] = invocations;
        return {
          resolution: 10,
          functionName: 'f',
          versionId: '1',
          qualifier: 'live',
          bucketStart,
          node,
          invocations,
          functionErrors: 1,
          platformErrors: 0,
          throttles: 0,
          coldStarts: 1,
          durationSumMs: invocations * 1.5,
          histogram,
        };
      };
      await a.writeMetrics([metric('a', 1_700_000_000, 5), metric('a', 1_700_000_010, 2)]);
      await b.writeMetrics([metric('b', 1_700_000_000, 7)]);
      await a.writeMetrics([metric('a', 1_700_000_000, 6)]); // replaces node a's row, not b's
      const rows = await b.queryMetrics('f', 10, 1_700_000_000, 1_700_000_010);
      assert.deepEqual(rows.map((r) => [r.node, r.invocations]).sort(), [
        ['a', 6],
        ['b', 7],
      ]);
      assert.deepEqual(
        rows.find((r) => r.node === 'a'),
        metric('a', 1_700_000_000, 6),
      );
      assert.equal((await a.queryMetrics('f', 60, 0, 2e9)).length, 0);

      const log = (at: number, qualifier: string, text: string): InvocationLog =>
        invocationLog({ qualifier, requestId: `r${at}`, at, durationMs: 1.25, text });
      await a.appendLogs([log(1000, 'live', 'Hello A'), log(2000, 'live', 'second')]);
      await b.appendLogs([log(3000, 'beta', 'hello B')]);
      const all = await a.queryLogs('f', { limit: 10 });
      assert.deepEqual(
        all.map((l) => l.text),
        ['Hello A', 'second', 'hello B'],
      );
      assert.deepEqual({ ...all[0], id: undefined }, { ...log(1000, 'live', 'Hello A'), id: undefined });
      assert.deepEqual(
        (await b.queryLogs('f', { limit: 10, text: 'HELLO' })).map((l) => l.text),
        ['Hello A', 'hello B'],
      );
      assert.deepEqual(
        (await b.queryLogs('f', { limit: 1, newestFirst: true, qualifier: 'live' })).map((l) => l.text),
        ['second'],
      );
      assert.deepEqual(
        (await b.queryLogs('f', { limit: 10, afterId: all[0]!.id!, since: 1500, until: 3000 })).map(
          (l) => l.text,
        ),
        ['second'],
      );
      await b.pruneTelemetry({ metrics10: 1_700_000_010, metrics60: 0, logs: 2500 });
      assert.deepEqual(
        (await a.queryMetrics('f', 10, 0, 2e9)).map((r) => r.bucketStart),
        [1_700_000_010],
      );
      assert.deepEqual(
        (await a.queryLogs('f', { limit: 10 })).map((l) => l.text),
        ['hello B'],
      );
    });
  });

  it('commits logs in the order of their ids: a reader that follows the highest id seen misses none', async () => {
    await withNodes(2, async (nodes) => {
      const log = (requestId: string, text: string): InvocationLog =>
        invocationLog({ requestId, at: Date.now(), text });
      const written: string[] = [];
      const state = { writing: true };
      const writers = nodes.map(async (node, n) => {
        for (let batch = 0; batch < 40; batch++) {
          // Batches of different sizes, so that the nodes' transactions overlap unevenly.
          const records = Array.from({ length: 1 + ((batch * 7 + n * 3) % 60) }, (_, i) =>
            log(`${n}-${batch}-${i}`, 'x'.repeat((i * 37) % 500)),
          );
          await node.appendLogs(records);
          written.push(...records.map((r) => r.requestId as string));
        }
      });
      const reader = (async () => {
        const seen: string[] = [];
        let after = 0;
        for (;;) {
          const done = !state.writing;
          const rows = await nodes[1]!.queryLogs('f', { limit: 1000, afterId: after });
          for (const row of rows) {
            after = row.id as number;
            seen.push(row.requestId as string);
          }
          if (done && rows.length === 0) return seen;
        }
      })();
      await Promise.all(writers);
      state.writing = false;
      const seen = await reader;
      assert.equal(new Set(seen).size, seen.length, 'none twice');
      assert.deepEqual([...seen].sort(), [...written].sort(), 'none missed');
    });
  });

  it('brings logs of the schema before runs into runs, keeping ids, fields and the id counter', async () => {
    await requirePostgres();
    const schema = freshSchema();
    try {
      await withClient(schema, async (c) => {
        await c.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
        await c.query(
          'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
        );
        for (const [i, sql] of migrations
          .slice(
            0,
            migrations.findIndex((m) => m.includes('CREATE TABLE log_runs')),
          )
          .entries()) {
          await c.query(sql);
          await c.query('INSERT INTO schema_migrations (version) VALUES ($1)', [i + 1]);
        }
        await c.query(LOGS_BEFORE_RUNS);
      });
      const store = await PostgresStore.open(URL, { schema });
      try {
        await assertLogsMigrated(store);
      } finally {
        await closeQuietly(store);
      }
    } finally {
      await dropSchema(schema);
    }
  });

  it('keeps each schema to itself', async () => {
    await withNodes(1, async ([first]) => {
      await withNodes(1, async ([second]) => {
        assert.ok(first && second);
        await first.createFunction('f', config(), blob('a'), change());
        assert.equal(await second.getFunction('f'), undefined);
        assert.deepEqual(await second.listFunctions({ limit: 10 }), { items: [] });
        assert.equal(await second.getCode(blob('a').sha256), undefined);
      });
    });
  });

  it('answers version numbers beyond what it stores as absent, not as a database error', async () => {
    await withNodes(1, async (nodes) => {
      const store = nodes[0]!;
      await store.createFunction('f', config(), blob('a'), change());
      for (const n of [2 ** 31, Number.MAX_SAFE_INTEGER, 1.5, -1]) {
        assert.equal(await store.getVersion('f', n), undefined);
        await assert.rejects(
          store.deleteVersion('f', n),
          (e) => isSluiceError(e) && e.code === 'VersionNotFound',
        );
      }
      const token = encodePageToken(String(2 ** 40));
      assert.deepEqual(await store.listVersions('f', { limit: 5, nextToken: token }), { items: [] });
    });
  });

  it('refuses a schema name that is not a plain identifier, and reports an unreachable server as a SluiceError', async () => {
    await assert.rejects(PostgresStore.open(URL, { schema: 'a; DROP TABLE x' }), (e) => {
      return isSluiceError(e) && e.code === 'InvalidArgument';
    });
    await assert.rejects(PostgresStore.open('postgres://postgres@127.0.0.1:1/test'), (e) => {
      return isSluiceError(e) && e.code === 'InternalError' && /unreachable/.test(e.message);
    });
  });
});
