import type Database from 'better-sqlite3';
import { Worker } from 'node:worker_threads';
import { runWrite, type TelemetryWrite, TelemetryWrites } from './telemetry-writes.js';

const CHECKPOINT_MS = 1000;

interface Waiting {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Where the SQLite store's telemetry goes: to a worker thread with a connection of its own, which also
 * checkpoints the WAL. Both would otherwise run on the event loop: encoding is all a flush costs it now,
 * and SQLite no longer checkpoints inside whichever commit finds the WAL long, which held up every request
 * for milliseconds once a second under load. Without a file (in memory), or should the thread fail, the
 * writes run on the store's own connection, which then checkpoints itself.
 */
export class TelemetryWriter {
  /** The thread while it takes writes; `thread` stays, so that stop() can wait for it to exit. */
  private worker: Worker | undefined;
  private thread: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private onMainThread = false;
  /** The store connection's own statements, prepared at its first write there. */
  private local: TelemetryWrites | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private lastId = 0;

  constructor(
    private readonly db: Database.Database,
    file: string | undefined,
    private readonly log: (line: string) => void,
  ) {
    if (file === undefined) {
      this.onMainThread = true;
      return;
    }
    db.pragma('wal_autocheckpoint = 0');
    const worker = new Worker(new URL('./telemetry-worker.js', import.meta.url), {
      workerData: { file, checkpointMs: CHECKPOINT_MS },
    });
    this.worker = worker;
    this.thread = worker;
    worker.unref();
    worker.on('message', ({ id, error }: { id: number; error?: string }) => {
      const waiting = this.waiting.get(id);
      this.waiting.delete(id);
      // Unreferenced when idle (it must not keep a process alive), unless it is being waited for to stop.
      if (this.waiting.size === 0 && this.worker === worker) worker.unref();
      if (error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(error));
    });
    worker.on('error', (error) => {
      this.fail(`the telemetry thread failed: ${String(error)}`);
    });
    this.exited = new Promise((resolve) => {
      worker.once('exit', () => {
        if (this.worker === worker) this.fail('the telemetry thread exited');
        resolve();
      });
    });
  }

  /** Resolves once the write is committed, so that a read made after it sees it. */
  write(write: TelemetryWrite): Promise<void> {
    const { worker } = this;
    if (this.onMainThread) {
      return Promise.resolve().then(() => {
        this.local ??= new TelemetryWrites(this.db);
        runWrite(this.local, write);
      });
    }
    if (worker === undefined) return Promise.reject(new Error('the store is closed'));
    return new Promise((resolve, reject) => {
      const id = ++this.lastId;
      this.waiting.set(id, { resolve, reject });
      // Referenced while a write is out, so that the process waits for it.
      if (this.waiting.size === 1) worker.ref();
      worker.postMessage({ id, write });
    });
  }

  private fail(why: string): void {
    this.worker = undefined;
    for (const waiting of this.waiting.values()) waiting.reject(new Error(why));
    this.waiting.clear();
    if (!this.db.open) return;
    this.log(`sqlite: ${why}; telemetry is written and checkpointed on the main thread`);
    this.db.pragma('wal_autocheckpoint = 1000');
    this.onMainThread = true;
  }

  /** Lets the thread finish what was sent to it and close its connection. */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.onMainThread = false;
    // Unreferenced while it runs (it must not keep a process alive), but waited for now.
    this.thread?.ref();
    // Messages arrive in order: every write sent is done and answered before the thread stops.
    worker?.postMessage('stop');
    await this.exited;
    for (const waiting of this.waiting.values()) waiting.reject(new Error('the store is closed'));
    this.waiting.clear();
  }
}
