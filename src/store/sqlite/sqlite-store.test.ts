import assert from 'node:assert/strict';
import { existsSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { waitFor } from '../../../test/support/wait-for.js';
import { config } from '../../../test/support/config.js';
import { invocationLog } from '../../../test/support/telemetry.js';
import { assertLogsMigrated, LOGS_BEFORE_RUNS, storeContract } from '../store.contract.js';
import { blob, type OpenedStore } from '../contract-support.js';
import { provisionedContract } from '../provisioned.contract.js';
import { credentialsContract } from '../credentials.contract.js';
import { vendorApiContract } from '../vendor-api.contract.js';
import { asyncContract } from '../async.contract.js';
import { triggersContract } from '../triggers.contract.js';
import { migrations } from './migrations.js';
import { SqliteStore } from './sqlite-store.js';

const change = { actor: 'tester', now: '2024-01-01T00:00:00.000Z' };

/** Runs `fn` on a second connection to the store's file, as another process would see it. */
function withConnection<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** How many descriptors this process holds on `file` (or its -wal, -shm), where the system tells (Linux). */
function handlesOn(file: string): number | undefined {
  if (!existsSync('/proc/self/fd')) return undefined;
  const target = realpathSync(file);
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(target);
    } catch {
      return false;
    }
  }).length;
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-store-'));
}

/** Runs `fn` in a directory of its own, removed after whatever happened. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The schema version a database file records. */
function schemaVersion(db: Database.Database): number {
  return (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number }).v;
}

async function openFile(): Promise<OpenedStore> {
  const dir = await tempDir();
  const file = join(dir, 'sluice.db');
  let store = SqliteStore.open(dir);
  return {
    store,
    tamper: (sql) =>
      Promise.resolve().then(() => {
        withConnection(file, (db) => db.exec(sql));
      }),
    reopen: () => {
      store = SqliteStore.open(dir);
      return Promise.resolve(store);
    },
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

storeContract('SqliteStore', openFile);
provisionedContract('SqliteStore', openFile);
credentialsContract('SqliteStore', openFile);
vendorApiContract('SqliteStore', openFile);
asyncContract('SqliteStore', openFile);
triggersContract('SqliteStore', openFile);

storeContract('SqliteStore (:memory:)', () => {
  const store = SqliteStore.open(':memory:');
  return Promise.resolve({ store, cleanup: () => store.close() });
});

describe('SqliteStore only', () => {
  it('keeps its database in WAL mode, at the schema version of this code', async () => {
    await inTempDir(async (dir) => {
      const store = SqliteStore.open(dir);
      await store.createFunction('f', config(), blob('a'), change);
      await store.close();
      withConnection(join(dir, 'sluice.db'), (db) => {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
        assert.equal(schemaVersion(db), migrations.length);
      });
    });
  });

  it('refuses a database whose schema is newer than this code, and leaves it as it was', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'sluice.db');
      const store = SqliteStore.open(dir);
      await store.createFunction('f', config(), blob('a'), change);
      await store.close();
      withConnection(file, (db) =>
        db
          .prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)')
          .run(migrations.length + 1, change.now),
      );

      assert.throws(() => SqliteStore.open(dir), /newer/);
      withConnection(file, (db) => {
        assert.equal(schemaVersion(db), migrations.length + 1);
        assert.equal((db.prepare('SELECT COUNT(*) AS n FROM functions').get() as { n: number }).n, 1);
      });
      const handles = handlesOn(file);
      if (handles !== undefined) assert.equal(handles, 0, 'the refused open kept the database file open');
    });
  });

  it('brings a database of the first schema version up to date, keeping its data', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'sluice.db');
      const code = blob('a');
      withConnection(file, (db) => {
        db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
        db.exec(migrations[0]!);
        db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (1, ?)').run(change.now);
        db.prepare('INSERT INTO code_blobs (sha256, size, zip) VALUES (?, ?, ?)').run(
          code.sha256,
          code.size,
          code.zip,
        );
        db.prepare('INSERT INTO functions VALUES (?, ?, ?, ?, ?)').run(
          'f',
          JSON.stringify(config()),
          code.sha256,
          change.now,
          change.now,
        );
      });
      const store = SqliteStore.open(dir);
      assert.deepEqual((await store.getFunction('f'))?.code, { sha256: code.sha256, size: code.size });
      assert.deepEqual(await store.getCode(code.sha256), code.zip);
      await store.close();
      withConnection(file, (db) => {
        assert.equal(schemaVersion(db), migrations.length);
      });
    });
  });

  it('brings logs of the schema before runs into runs, keeping ids, fields and the id counter', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'sluice.db');
      withConnection(file, (db) => {
        db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
        migrations
          .slice(
            0,
            migrations.findIndex((m) => m.includes('CREATE TABLE log_runs')),
          )
          .forEach((sql, i) => {
            db.exec(sql);
            db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
              i + 1,
              change.now,
            );
          });
        db.exec(LOGS_BEFORE_RUNS);
      });
      const store = SqliteStore.open(dir);
      try {
        await assertLogsMigrated(store);
      } finally {
        await store.close();
      }
    });
  });

  it('checkpoints from its own thread: commits leave the database file alone, the thread copies them in', async () => {
    const dir = await tempDir();
    const file = join(dir, 'sluice.db');
    const store = SqliteStore.open(dir);
    try {
      const before = statSync(file).size;
      const text = 'x'.repeat(2000);
      await store.appendLogs(
        Array.from({ length: 2000 }, (_, i) => invocationLog({ requestId: `r${i}`, at: 1000 + i, text })),
      );
      assert.ok(statSync(`${file}-wal`).size > 4_000_000, 'the commit went to the WAL');
      assert.equal(statSync(file).size, before, 'and the commit itself checkpointed nothing');
      await waitFor(() => statSync(file).size >= 4_000_000, {
        timeout: 30_000,
        what: 'the checkpoint thread (once a second) to copy the WAL into the database',
        interval: 50,
      });
      assert.equal((await store.queryLogs('f', { limit: 5000 })).length, 2000);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writes telemetry from its own thread: a write that waits for the database holds up nothing else', async () => {
    const dir = await tempDir();
    const store = SqliteStore.open(dir);
    try {
      const other = new Database(join(dir, 'sluice.db'));
      try {
        other.exec('BEGIN IMMEDIATE');
        const written = store.appendLogs([invocationLog({ requestId: 'r1', at: 1000, text: 'waited\n' })]);
        // On the event loop, the write would have waited out the lock inside appendLogs and failed (the lock
        // is this thread's own); from its thread it waits, and this thread goes on.
        const settled = await Promise.race([
          written.then(
            () => 'written',
            (error: unknown) => `failed: ${String(error)}`,
          ),
          new Promise((resolve) => setImmediate(resolve, 'pending')),
        ]);
        assert.equal(settled, 'pending', 'the write waits for the lock, off the event loop');
        assert.deepEqual(
          await store.queryLogs('f', { limit: 10 }),
          [],
          'nothing is written while the lock is held',
        );
        other.exec('COMMIT');
        await written;
      } finally {
        other.close();
      }
      assert.deepEqual(
        (await store.queryLogs('f', { limit: 10 })).map((l) => l.text),
        ['waited\n'],
      );
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses INSERT OR REPLACE over a version, a history entry or a code blob', async () => {
    await inTempDir(async (dir) => {
      const file = join(dir, 'sluice.db');
      const store = SqliteStore.open(dir);
      await store.createFunction('f', config(), blob('a'), change);
      const v1 = await store.publishVersion('f', 'first', change);
      const history = await store.aliasHistory('f', '$DEFAULT');

      const tamper = (sql: string) => withConnection(file, (db) => db.exec(sql));
      assert.throws(() => {
        tamper(
          `INSERT OR REPLACE INTO versions (function_name, version, description, config_json, code_sha256, created_at)
           SELECT function_name, version, 'tampered', config_json, code_sha256, created_at FROM versions`,
        );
      }, /immutable/);
      assert.throws(() => {
        tamper(
          `REPLACE INTO alias_history (function_name, alias, revision, action, actor, at, before_json, after_json)
           SELECT function_name, alias, revision, action, 'mallory', at, before_json, after_json FROM alias_history`,
        );
      }, /append-only/);
      tamper(`INSERT OR REPLACE INTO code_blobs (sha256, size, zip) SELECT sha256, 1, X'00' FROM code_blobs`);

      assert.deepEqual(await store.getVersion('f', 1), v1);
      assert.deepEqual(await store.aliasHistory('f', '$DEFAULT'), history);
      assert.deepEqual(await store.getCode(blob('a').sha256), blob('a').zip);
      assert.deepEqual((await store.getFunction('f'))?.code.size, blob('a').size);
      await store.close();
    });
  });
});
