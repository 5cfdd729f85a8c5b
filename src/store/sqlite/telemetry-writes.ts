import type Database from 'better-sqlite3';
import type { MetricRow } from '../../core/telemetry.js';
import { LOG_RUN_COLUMNS, logRunValues, type NewLogRun } from '../log-runs.js';
import { METRIC_COLUMNS, metricValues } from '../metric-columns.js';

/** A batch of logs grouped into runs, ready to store: `count` ids are taken for it, in order. */
export interface LogRunBatch {
  count: number;
  runs: NewLogRun[];
}

export interface TelemetryBounds {
  metrics10: number;
  metrics60: number;
  logs: number;
}

/**
 * The SQLite store's telemetry writes, each one transaction, on whichever connection is given: the
 * telemetry thread's (telemetry-thread.ts), or the store's own when there is no thread.
 */
export class TelemetryWrites {
  private readonly takeIds: Database.Statement;
  private readonly insertRun: Database.Statement;
  private readonly upsertMetric: Database.Statement;
  private readonly pruneStatements: Database.Statement[];

  constructor(private readonly db: Database.Database) {
    // Prepared once: telemetry is written several times a second.
    this.takeIds = db.prepare('UPDATE log_ids SET next = next + ? RETURNING next');
    this.insertRun = db.prepare(`INSERT INTO log_runs (${LOG_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`);
    this.upsertMetric = db.prepare(
      `INSERT OR REPLACE INTO metrics (${METRIC_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.pruneStatements = [
      db.prepare('DELETE FROM metrics WHERE resolution = 10 AND bucket_start < @metrics10'),
      db.prepare('DELETE FROM metrics WHERE resolution = 60 AND bucket_start < @metrics60'),
      db.prepare('DELETE FROM log_runs WHERE last_at < @logs'),
    ];
  }

  /** Takes the batch's ids and stores its runs: ids are given in commit order, on every connection. */
  appendLogs({ count, runs }: LogRunBatch): void {
    this.db
      .transaction(() => {
        const { next } = this.takeIds.get(count) as { next: number };
        const first = next - count;
        for (const run of runs) this.insertRun.run(logRunValues(run, first));
      })
      .immediate();
  }

  writeMetrics(rows: readonly MetricRow[]): void {
    this.db
      .transaction(() => {
        for (const row of rows) this.upsertMetric.run(metricValues(row));
      })
      .immediate();
  }

  prune(before: TelemetryBounds): void {
    this.db
      .transaction(() => {
        for (const statement of this.pruneStatements) statement.run(before);
      })
      .immediate();
  }
}

export type TelemetryWrite =
  | { op: 'appendLogs'; arg: LogRunBatch }
  | { op: 'writeMetrics'; arg: readonly MetricRow[] }
  | { op: 'prune'; arg: TelemetryBounds };

export function runWrite(writes: TelemetryWrites, write: TelemetryWrite): void {
  switch (write.op) {
    case 'appendLogs':
      writes.appendLogs(write.arg);
      return;
    case 'writeMetrics':
      writes.writeMetrics(write.arg);
      return;
    case 'prune':
      writes.prune(write.arg);
  }
}
