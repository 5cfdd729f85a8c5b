import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { waitFor } from '../../../test/support/wait-for.js';
import { toLogRuns } from '../log-runs.js';
import { SqliteStore } from './sqlite-store.js';
import { TelemetryWriter } from './telemetry-writer.js';
import type { TelemetryWrite } from './telemetry-writes.js';
import { invocationLog } from '../../../test/support/telemetry.js';

function logs(count: number, from = 0): TelemetryWrite {
  const records = Array.from({ length: count }, (_, i) =>
    invocationLog({ requestId: `r${from + i}`, at: 1000 + from + i, text: `line ${from + i}\n` }),
  );
  return { op: 'appendLogs', arg: { count, runs: toLogRuns(records) } };
}

const storedIds = (db: Database.Database) =>
  (db.prepare('SELECT id_first, count FROM log_runs ORDER BY id_first').all() as { count: number }[]).reduce(
    (sum, row) => sum + row.count,
    0,
  );

describe('TelemetryWriter', () => {
  let dir: string;
  let file: string;
  let db: Database.Database;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-telemetry-'));
    file = join(dir, 'sluice.db');
    // The schema, as the store makes it.
    await SqliteStore.open(dir).close();
    db = new Database(file);
  });

  afterEach(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('commits on its thread before it answers, so that the caller reads what it wrote', async () => {
    const writer = new TelemetryWriter(db, file, () => undefined);
    try {
      await writer.write(logs(3));
      assert.equal(storedIds(db), 3);
    } finally {
      await writer.stop();
    }
  });

  it('finishes every write sent to it before it stops', async () => {
    const writer = new TelemetryWriter(db, file, () => undefined);
    const writes = [0, 1, 2, 3].map((i) => writer.write(logs(100, i * 100)));
    await writer.stop();
    await Promise.all(writes);
    assert.equal(storedIds(db), 400);
    await assert.rejects(writer.write(logs(1)), /the store is closed/);
  });

  it('answers a failed write with its error and goes on writing', async () => {
    const writer = new TelemetryWriter(db, file, () => undefined);
    try {
      await writer.write(logs(1));
      db.exec('ALTER TABLE log_runs RENAME TO log_runs_away');
      await assert.rejects(writer.write(logs(1)), /no such table: log_runs/);
      db.exec('ALTER TABLE log_runs_away RENAME TO log_runs');
      await writer.write(logs(2, 1));
      assert.equal(storedIds(db), 3);
    } finally {
      await writer.stop();
    }
  });

  it('writes and checkpoints on the main thread once its own thread has failed', async () => {
    const lines: string[] = [];
    // The thread cannot open a database in a directory that does not exist, and fails at once.
    const writer = new TelemetryWriter(db, join(dir, 'missing', 'sluice.db'), (line) => lines.push(line));
    try {
      await waitFor(() => lines.length > 0, { timeout: 20_000, what: 'the thread’s failure to be noticed' });
      assert.match(lines[0] as string, /telemetry thread failed.*main thread/);
      assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
      await writer.write(logs(5));
      assert.equal(storedIds(db), 5);
    } finally {
      await writer.stop();
    }
  });

  it('writes on the store connection itself when there is no file', async () => {
    const memory = new Database(':memory:');
    try {
      memory.exec('CREATE TABLE log_ids (next INTEGER NOT NULL); INSERT INTO log_ids VALUES (1);');
      memory.exec(
        'CREATE TABLE log_runs (id_first INTEGER PRIMARY KEY, count INTEGER, function_name TEXT, first_at INTEGER, last_at INTEGER, records TEXT)',
      );
      memory.exec(
        'CREATE TABLE metrics (resolution, function_name, bucket_start, version_id, qualifier, node, invocations, function_errors, platform_errors, throttles, cold_starts, duration_sum_ms, histogram)',
      );
      const writer = new TelemetryWriter(memory, undefined, () => undefined);
      await writer.write(logs(4));
      assert.equal(storedIds(memory), 4);
      await writer.stop();
    } finally {
      memory.close();
    }
  });
});
