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
/** The checkpoint due after the last writes; none while nothing is written, so that an idle thread sleeps. */
let checkpoint: NodeJS.Timeout | undefined;
function checkpointSoon(): void {
  checkpoint ??= setTimeout(() => {
    checkpoint = undefined;
    // PASSIVE: copies what no reader still needs, never waits for the writer nor holds it up.
    db.pragma('wal_checkpoint(PASSIVE)');
  }, checkpointMs);
}

port.on('message', (message: 'stop' | { id: number; write: TelemetryWrite }) => {
  if (message === 'stop') {
    clearTimeout(checkpoint);
    db.close();
    port.close();
    return;
  }
  try {
    runWrite(writes, message.write);
    checkpointSoon();
    port.postMessage({ id: message.id });
  } catch (error) {
    port.postMessage({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
