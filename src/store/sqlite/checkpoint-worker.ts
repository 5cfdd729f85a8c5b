import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/** Copies the WAL back into the database file, on a connection and a thread of its own (see checkpointer.ts). */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file);
const timer = setInterval(() => {
  // PASSIVE: copies what no reader still needs, never waits for the writer nor holds it up.
  db.pragma('wal_checkpoint(PASSIVE)');
}, intervalMs);

parentPort?.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
