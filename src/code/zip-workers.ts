import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CodeLimits } from '../core/code-package.js';
import { SluiceError } from '../core/errors.js';
import { errorOf, type ZipJob, type ZipReply } from './zip-jobs.js';
import type { NormalizedCode } from './zip.js';

/** Beside dist/src/code/zip-workers.js once built, as the package is run. */
const WORKER_SCRIPT = new URL('./zip-worker.js', import.meta.url);

interface Task {
  job: ZipJob;
  resolve: (value: NormalizedCode | number) => void;
  reject: (error: Error) => void;
}

/**
 * A few worker threads that normalize uploads and extract code packages, so that inflating and deflating never
 * hold the event loop: at most `size` jobs run at once (each with one package and one file of it in memory), the
 * others wait their turn. Workers start when first needed and, while idle, do not keep the process alive.
 * `close()` lets the jobs given so far finish; `destroy()` fails them.
 */
export class ZipWorkers {
  private readonly workers = new Set<Worker>();
  private readonly idle: Worker[] = [];
  private readonly running = new Map<Worker, Task>();
  private readonly queue: Task[] = [];
  private closed = false;
  private onDrained: (() => void) | undefined;

  /** By default two, and one core left to the event loop where there are only two. */
  constructor(private readonly size = Math.max(1, Math.min(2, availableParallelism() - 1))) {}

  /** Jobs running, jobs waiting for a worker, and workers started with nothing to do. */
  stats(): { running: number; pending: number; free: number } {
    return { running: this.running.size, pending: this.queue.length, free: this.idle.length };
  }

  /** `normalizeCodePackage` on a worker. */
  async normalize(zip: Buffer, limits: CodeLimits): Promise<NormalizedCode> {
    const { zip: canonical, ...rest } = (await this.run({
      kind: 'normalize',
      zip,
      limits,
    })) as NormalizedCode;
    return { zip: Buffer.from(canonical.buffer, canonical.byteOffset, canonical.byteLength), ...rest };
  }

  /** `extractCodeZip` on a worker: the bytes written. */
  async extract(zip: Buffer, dir: string): Promise<number> {
    return (await this.run({ kind: 'extract', zip, dir })) as number;
  }

  /** Takes no new jobs, lets those given so far finish, then stops the workers. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.running.size > 0 || this.queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.onDrained = resolve;
      });
    }
    await this.stopWorkers();
  }

  /** Fails every job given so far, then stops the workers. */
  async destroy(): Promise<void> {
    this.closed = true;
    const stopped = new SluiceError('ServiceUnavailable', 'the server is shutting down');
    for (const task of [...this.queue.splice(0), ...this.running.values()]) task.reject(stopped);
    this.running.clear();
    await this.stopWorkers();
  }

  private run(job: ZipJob): Promise<NormalizedCode | number> {
    if (this.closed) {
      return Promise.reject(new SluiceError('ServiceUnavailable', 'the server is shutting down'));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length > 0 && (this.idle.length > 0 || this.workers.size < this.size)) {
      const worker = this.idle.pop() ?? this.spawn();
      const task = this.queue.shift() as Task;
      this.running.set(worker, task);
      worker.ref();
      worker.postMessage(task.job);
    }
    if (this.running.size === 0 && this.queue.length === 0) this.onDrained?.();
  }

  private spawn(): Worker {
    // The process's own flags are not the worker's business, and some (--eval) would stop it starting.
    const worker = new Worker(WORKER_SCRIPT, { execArgv: [] });
    let failure: Error | undefined;
    this.workers.add(worker);
    worker.on('message', (reply: ZipReply) => {
      const task = this.running.get(worker);
      this.running.delete(worker);
      worker.unref();
      this.idle.push(worker);
      if ('error' in reply) task?.reject(errorOf(reply.error));
      else task?.resolve(reply.value);
      this.dispatch();
    });
    worker.on('error', (error) => {
      failure = error;
    });
    worker.on('exit', (status) => {
      this.workers.delete(worker);
      const at = this.idle.indexOf(worker);
      if (at !== -1) this.idle.splice(at, 1);
      const task = this.running.get(worker);
      this.running.delete(worker);
      const why = failure ? `: ${failure.message}` : ` with status ${status}`;
      task?.reject(new SluiceError('InternalError', `the zip worker stopped${why}`));
      // A worker lost while jobs wait is replaced (after destroy() none wait).
      this.dispatch();
    });
    return worker;
  }

  private async stopWorkers(): Promise<void> {
    await Promise.all([...this.workers].map((worker) => worker.terminate()));
  }
}
