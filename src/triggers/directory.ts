import { backoffDelay } from '../core/backoff.js';
import { isSluiceError } from '../core/errors.js';
import type { TriggerRecord } from '../core/triggers.js';
import type { Store } from '../store/store.js';

const RETRY = { firstMs: 500, maxMs: 30_000, jitter: 0.2 };

/**
 * Every function's triggers as this node knows them, for the timers and queue consumers that run them: read
 * whole at start and after each full reload of the routing table, one function's again when the change feed
 * says it changed (a trigger's write is a change of its function). Nothing is read while nothing changes. A
 * read that fails is made good by a full one, retried with backoff until it succeeds.
 */
export class TriggerDirectory {
  private readonly byFunction = new Map<string, readonly TriggerRecord[]>();
  private readonly listeners: (() => void)[] = [];
  /** One read at a time, in the order they were asked for: a later change is never overwritten by an earlier read. */
  private reads: Promise<void> = Promise.resolve();
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'listTriggers'>,
    private readonly log: (line: string) => void,
  ) {}

  /** The first read: rejects if it fails, as the server's start does. Changes told meanwhile are read after it. */
  async start(): Promise<void> {
    const first = this.store.listTriggers().then((triggers) => {
      this.fill(triggers);
    });
    this.reads = first.catch(() => undefined);
    await first;
  }

  /** Every trigger of every function. */
  all(): TriggerRecord[] {
    return [...this.byFunction.values()].flat();
  }

  /** Calls `listener` after each read that may have changed what `all` returns. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** A function changed (its triggers, or the function itself, maybe deleted): its triggers are read again. */
  functionChanged(name: string): void {
    this.enqueue(async () => {
      try {
        this.byFunction.set(name, await this.store.listTriggers(name));
      } catch (error) {
        if (!isSluiceError(error) || error.code !== 'FunctionNotFound') throw error;
        this.byFunction.delete(name);
      }
    });
  }

  /** Changes may have been missed: everything is read again. */
  reload(): void {
    this.enqueue(async () => {
      this.fill(await this.store.listTriggers());
    });
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    return this.reads;
  }

  private fill(triggers: readonly TriggerRecord[]): void {
    this.byFunction.clear();
    for (const trigger of triggers) {
      const list = this.byFunction.get(trigger.functionName) ?? [];
      this.byFunction.set(trigger.functionName, [...list, trigger]);
    }
  }

  private enqueue(read: () => Promise<void>): void {
    this.reads = this.reads.then(async () => {
      if (this.closed) return;
      try {
        await read();
        this.failures = 0;
      } catch (error) {
        const delay = backoffDelay(RETRY, this.failures++);
        this.log(`triggers: could not read the triggers (${String(error)}); reading all in ${delay} ms`);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          this.reload();
        }, delay);
        this.retryTimer.unref();
        return;
      }
      for (const listener of this.listeners) listener();
    });
  }
}
