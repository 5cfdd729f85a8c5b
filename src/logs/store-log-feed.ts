import type { InvocationLog, LogFilter } from '../core/telemetry.js';
import type { Store } from '../store/store.js';

export interface StoreLogFeedOptions {
  /** How often each follower asks the store for new rows. */
  pollMs: number;
  /** The most rows one query returns; a poll pages on until it has them all. */
  pageSize: number;
}

export const DEFAULT_STORE_LOG_FEED_OPTIONS: StoreLogFeedOptions = {
  pollMs: 500,
  pageSize: 500,
};

type Listener = (log: InvocationLog) => void;

/**
 * Followers of a function's logs on a store shared by several nodes: each follower polls the store, so that
 * the lines of every node arrive (about a flush interval and a poll after they were written), each once.
 * Stores commit logs in the order of their ids, so a follower only needs the last id it has seen.
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
  /** The id of the last log sent, or of the newest when the follow began. */
  private after: number | undefined;
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
    this.after = ids.length > 0 ? Math.max(...ids) : filter.afterId;
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
    try {
      if (this.after === undefined) {
        // Nothing shown: follow from the function's newest row.
        const newest = await this.store.queryLogs(this.functionName, { limit: 1, newestFirst: true });
        this.after = newest[0]?.id ?? 0;
      }
      for (;;) {
        const rows = await this.store.queryLogs(this.functionName, { ...this.query, afterId: this.after });
        for (const row of rows) {
          if (this.over()) return;
          this.after = Math.max(this.after, row.id ?? 0);
          this.listener(row);
        }
        if (rows.length < this.options.pageSize) break;
      }
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
}
