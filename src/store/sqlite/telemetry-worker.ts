import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { runWrite, type TelemetryWrite, TelemetryWrites } from './telemetry-writes.js';

/** Writes telemetry and checkpoints the WAL, on a connection and a thread of its own (see telemetry-writer.ts). */
const { file, checkpointMs } = workerData as { file: string; checkpointMs: number };
const port = parentPort as NonNullable<typeof parentPort>;
const db = new Database(file);
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.pragma('wal_autocheckpoint = 0');
const writes = new TelemetryWrites(db);
/** Whether anything was written since the last checkpoint: an idle server does not touch its database. */
let written = false;
const timer = setInterval(() => {
  if (!written) return;
  written = false;
  // PASSIVE: copies what no reader still needs, never waits for the writer nor holds it up.
  db.pragma('wal_checkpoint(PASSIVE)');
}, checkpointMs);

port.on('message', (message: 'stop' | { id: number; write: TelemetryWrite }) => {
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    port.close();
    return;
  }
  try {
    runWrite(writes, message.write);
    written = true;
    port.postMessage({ id: message.id });
  } catch (error) {
    port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
