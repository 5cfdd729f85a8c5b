/**
 * A worker thread that appends invocation logs to the SQLite file through its own connection. Under load
 * thousands of rows a second are written; written on the server's event loop, they would stall every request.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

export type LogRow = [
  functionName: string,
  versionId: string,
  qualifier: string | null,
  requestId: string | null,
  at: number,
  durationMs: number | null,
  outcome: string,
  errorCode: string | null,
  text: string,
];

export interface LogBatch {
  id: number;
  rows: LogRow[];
}

export interface LogBatchDone {
  id: number;
  error?: string;
}

export const INSERT_LOG = `INSERT INTO invocation_logs
  (function_name, version_id, qualifier, request_id, at, duration_ms, outcome, error_code, text)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

if (parentPort && (workerData as { file?: string } | null)?.file) {
  const port = parentPort;
  const db = new Database((workerData as { file: string }).file);
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  const insert = db.prepare(INSERT_LOG);
  const write = db.transaction((rows: LogRow[]) => {
    for (const row of rows) insert.run(...row);
  });
  port.on('message', (batch: LogBatch) => {
    try {
      write(batch.rows);
      port.postMessage({ id: batch.id } satisfies LogBatchDone);
    } catch (error) {
      port.postMessage({ id: batch.id, error: String(error) } satisfies LogBatchDone);
    }
  });
}
