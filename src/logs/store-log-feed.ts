import type { InvocationLog, LogFilter } from '../core/telemetry.js';
import type { Store } from '../store/store.js';

export interface StoreLogFeedOptions {
  /** How often each follower asks the store for new rows. */
  pollMs: number;
  /**
   * How long a log id may stay uncommitted below one already seen. Ids come from one sequence shared by the
   * nodes, so a batch that took its ids first may commit after one that took them later; rows above the
   * last id seen this long ago are asked for again, and those already sent are skipped.
   */
  settleMs: number;
  /** The most rows one query returns; a poll pages on until it has them all. */
  pageSize: number;
}

export const DEFAULT_STORE_LOG_FEED_OPTIONS: StoreLogFeedOptions = {
  pollMs: 500,
  settleMs: 3000,
  pageSize: 500,
};

type Listener = (log: InvocationLog) => void;

/**
 * Followers of a function's logs on a store shared by several nodes: each follower polls the store, so that
 * the lines of every node arrive (about a flush interval and a poll after they were written), each once.
 */
export class StoreLogFeed {
  constructor(
    private readonly store: Store,
    private readonly options: StoreLogFeedOptions = DEFAULT_STORE_LOG_FEED_OPTIONS,
    private readonly log: (line: string) => void = () => undefined,
  ) {}

  /**
   * Calls `listener` with each log of the function that matches `filter` and comes after those `shown`
   * (already sent to the follower), until the returned function is called.
   */
  follow(
    functionName: string,
    filter: LogFilter,
    shown: readonly InvocationLog[],
    listener: Listener,
  ): () => void {
    const follower = new Follower(this.store, this.options, this.log, functionName, filter, shown, listener);
    follower.start();
    return () => {
      follower.stop();
    };
  }
}

class Follower {
  /** Every row with an id up to here has been sent, or never will match. */
  private watermark: number | undefined;
  /** Ids above the watermark that were sent. */
  private readonly seen = new Set<number>();
  /** The highest id each poll reached, with when it began: the watermark follows them, `settleMs` late. */
  private readonly reached: { at: number; id: number }[] = [];
  private readonly query: LogFilter;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly store: Store,
    private readonly options: StoreLogFeedOptions,
    private readonly log: (line: string) => void,
    private readonly functionName: string,
    filter: LogFilter,
    shown: readonly InvocationLog[],
    private readonly listener: Listener,
  ) {
    // Time bounds and the page size of the first answer do not apply to what follows.
    this.query = {
      limit: options.pageSize,
      ...(filter.qualifier !== undefined && { qualifier: filter.qualifier }),
      ...(filter.versionId !== undefined && { versionId: filter.versionId }),
      ...(filter.requestId !== undefined && { requestId: filter.requestId }),
      ...(filter.text !== undefined && { text: filter.text }),
    };
    const ids = shown.flatMap((log) => (log.id === undefined ? [] : [log.id]));
    if (ids.length > 0) {
      // Rows between those shown that commit late are still to come; those below were left out on purpose.
      this.watermark = Math.min(...ids) - 1;
      for (const id of ids) this.seen.add(id);
      this.reached.push({ at: Date.now(), id: Math.max(...ids) });
    } else if (filter.afterId !== undefined) {
      this.watermark = filter.afterId;
    }
  }

  start(): void {
    void this.poll();
  }

  /** Whether the follower went (a method: the flag changes behind the awaits). */
  private over(): boolean {
    return this.stopped;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const began = Date.now();
    try {
      if (this.watermark === undefined) {
        // Nothing shown: follow from the function's newest row.
        const newest = await this.store.queryLogs(this.functionName, { limit: 1, newestFirst: true });
        this.watermark = newest[0]?.id ?? 0;
      }
      let after = this.watermark;
      for (;;) {
        const rows = await this.store.queryLogs(this.functionName, { ...this.query, afterId: after });
        for (const row of rows) {
          if (this.over()) return;
          const id = row.id ?? 0;
          after = Math.max(after, id);
          if (this.seen.has(id)) continue;
          this.seen.add(id);
          this.listener(row);
        }
        if (rows.length < this.options.pageSize) break;
      }
      // Ids up to `after` were all taken before now: past `settleMs` from now, all of them are committed.
      this.reached.push({ at: Date.now(), id: after });
      this.settle(began);
      this.failing = false;
    } catch (error) {
      if (!this.failing)
        this.log(`logs: following ${this.functionName} from the store failed, retrying: ${String(error)}`);
      this.failing = true;
    }
    if (this.over()) return;
    this.timer = setTimeout(() => void this.poll(), this.options.pollMs);
    this.timer.unref();
  }

  /** Moves the watermark to the highest id reached by a poll that ended `settleMs` before this one began. */
  private settle(now: number): void {
    let watermark = this.watermark ?? 0;
    while (this.reached.length > 0 && (this.reached[0]?.at ?? now) <= now - this.options.settleMs) {
      watermark = Math.max(watermark, this.reached.shift()?.id ?? 0);
    }
    this.watermark = watermark;
    for (const id of this.seen) if (id <= watermark) this.seen.delete(id);
  }
}
