import { Worker } from 'node:worker_threads';
import type { LogBatch, LogBatchDone, LogRow } from './log-writer.js';

/** The server's side of the log-writing thread: batches go out, each promise settles when its batch is stored. */
export class LogWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  private readonly inFlight = new Set<Promise<void>>();
  private next = 0;

  constructor(file: string) {
    this.worker = new Worker(new URL('./log-writer.js', import.meta.url), { workerData: { file } });
    this.worker.on('message', (done: LogBatchDone) => {
      const waiting = this.pending.get(done.id);
      this.pending.delete(done.id);
      if (this.pending.size === 0) this.worker.unref();
      if (done.error === undefined) waiting?.resolve();
      else waiting?.reject(new Error(`logs were not stored: ${done.error}`));
    });
    this.worker.on('error', (error) => {
      for (const waiting of this.pending.values()) waiting.reject(error);
      this.pending.clear();
    });
    // Idle, the thread holds nothing open; with a batch on its way it does, so that the batch is stored.
    this.worker.unref();
  }

  append(rows: LogRow[]): Promise<void> {
    const id = this.next++;
    const stored = new Promise<void>((resolve, reject) => {
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, rows } satisfies LogBatch);
    });
    this.inFlight.add(stored);
    const forget = () => this.inFlight.delete(stored);
    stored.then(forget, forget);
    return stored;
  }

  /** Lets the batches already sent finish, then ends the thread. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.worker.terminate();
  }
}
