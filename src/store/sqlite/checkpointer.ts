import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';

const INTERVAL_MS = 1000;

/**
 * Checkpoints a WAL-mode database from a worker thread. SQLite otherwise checkpoints inside whichever commit
 * finds the WAL long, on the event loop: copying pages back and waiting for the disk there held up every
 * request, once a second under load, for milliseconds. Should the worker fail, the connection goes back
 * to checkpointing itself.
 */
export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;

  constructor(db: Database.Database, file: string, log: (line: string) => void) {
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), {
      workerData: { file, intervalMs: INTERVAL_MS },
    });
    this.worker.unref();
    this.worker.on('error', (error) => {
      log(`sqlite: the checkpoint thread failed, checkpointing on the main thread: ${String(error)}`);
      if (db.open) db.pragma('wal_autocheckpoint = 1000');
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', () => {
        resolve();
      });
    });
  }

  /** Lets the thread finish its checkpoint and close its connection. */
  async stop(): Promise<void> {
    // Unreferenced while it runs (it must not keep a process alive), but waited for now.
    this.worker.ref();
    this.worker.postMessage('stop');
    await this.exited;
  }
}
