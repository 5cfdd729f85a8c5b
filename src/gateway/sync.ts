import { backoffDelay } from '../core/backoff.js';
import type { ChangeFeed, StoreChange } from '../store/changes.js';
import type { Catalog } from './catalog.js';
import { CoalescedRun } from '../timing/coalesced-run.js';

export interface SyncOptions {
  /**
   * How often the whole table is reloaded, whatever the feed says: the safety net for a lost change, when the
   * feed may lose one (the embedded store's never does, and its idle node reads nothing).
   */
  resyncMs: number;
  /** Waits between reloads that failed: doubling from the first to the most. */
  retry?: { firstMs: number; maxMs: number };
  /** Called after a change was applied (the server forgets the metric series of deleted versions). */
  applied?: (change: StoreChange) => void;
  /** Called after each full reload: whatever changed before it is in the table now. */
  reloaded?: () => void;
  /**
   * What the node remembers of credentials: a revoked one is forgotten when its change arrives, and all of them
   * at every full reload, which covers a revocation whose notice was lost.
   */
  credentials?: { forget(credentialId: string): void; forgetAll(): void };
  log: (line: string) => void;
  /** The clock (epoch ms) that dates reloads against the feed's connection; tests pass a fake one. */
  now?: () => number;
}

export interface SyncStatus {
  /** The table holds every change committed before the feed last connected, and the feed delivers the rest. */
  synced: boolean;
  /** When the last full reload finished (epoch ms). */
  lastSyncAt: number | undefined;
  /** Full reloads done, and those that failed since the last one that succeeded. */
  resyncs: number;
  failing: number;
  lastError: string | undefined;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Keeps the data plane's catalog current with the store: applies each change the feed delivers (one
 * function or API), reloads everything when the feed may have missed changes, and reloads everything every
 * `resyncMs` anyway. A failed refresh or reload keeps what the table holds, so that the node serves on from
 * memory, and is made good by a reload, retried with backoff until one succeeds.
 */
export class CatalogSync {
  private readonly retry: { firstMs: number; maxMs: number };
  private readonly now: () => number;
  /** Reloads asked for because changes may be missing, and the number of those a finished reload covers. */
  private requested = 0;
  private covered = 0;
  private readonly reloads = new CoalescedRun(
    () => this.reload(),
    () => this.closed,
  );
  private lastSync: { startedAt: number; finishedAt: number } | undefined;
  private resyncs = 0;
  private failing = 0;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly catalog: Catalog,
    private readonly feed: ChangeFeed,
    private readonly options: SyncOptions,
  ) {
    this.retry = options.retry ?? { firstMs: 500, maxMs: 30_000 };
    this.now = options.now ?? Date.now;
  }

  /** Starts listening, then loads the whole table; rejects if that first load fails. */
  async start(): Promise<void> {
    await this.feed.start({
      change: (change) => {
        this.apply(change).catch(() => undefined);
      },
      missed: () => {
        this.requestResync();
      },
    });
    const startedAt = this.now();
    await this.catalog.loadAll();
    this.lastSync = { startedAt, finishedAt: this.now() };
    if (!this.feed.mayMiss) return;
    this.timer = setInterval(() => {
      void this.resync();
    }, this.options.resyncMs);
    this.timer.unref();
  }

  /**
   * Refreshes what one change touched. The writer's own path awaits it, and sees its failure; a failure also
   * asks for a full reload, so that the change is not lost to the table.
   */
  async apply(change: StoreChange): Promise<void> {
    if (change.kind === 'credential') {
      this.options.credentials?.forget(change.name);
      return;
    }
    try {
      if (change.kind === 'api') await this.catalog.refreshApi(change.name);
      else await this.catalog.refresh(change.name);
    } catch (error) {
      this.options.log(
        `sync: could not refresh ${change.kind} ${change.name} (${message(error)}); will reload`,
      );
      this.requestResync();
      throw error;
    }
    this.options.applied?.(change);
  }

  /**
   * A change this node committed: announced to every node, and in this node's table before its writer
   * answers. Never fails: the write is saved, whatever happens after. A refresh that fails falls back to the
   * reload it asks for; a change that could not be announced reaches the other nodes by their own reloads.
   */
  async committed(change: StoreChange): Promise<void> {
    await Promise.all([
      this.feed.publish(change).catch((error: unknown) => {
        this.options.log(
          `sync: could not announce the change of ${change.kind} ${change.name} (${message(error)}); other nodes will see it at their next reload`,
        );
      }),
      this.apply(change).catch(() => undefined),
    ]);
  }

  status(): SyncStatus {
    const feed = this.feed.status();
    const age = this.lastSync === undefined ? Infinity : this.now() - this.lastSync.finishedAt;
    const synced =
      this.lastSync !== undefined &&
      this.covered === this.requested &&
      feed.connected &&
      feed.connectedAt !== undefined &&
      this.lastSync.startedAt >= feed.connectedAt &&
      (!this.feed.mayMiss || age <= 3 * this.options.resyncMs);
    return {
      synced,
      lastSyncAt: this.lastSync?.finishedAt,
      resyncs: this.resyncs,
      failing: this.failing,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    await this.reloads.current?.catch(() => undefined);
    await this.feed.close();
  }

  private requestResync(): void {
    this.requested++;
    void this.resync();
  }

  /** One full reload at a time; one asked for while another runs runs after it (that one may be too early). */
  private resync(): Promise<void> {
    return this.reloads.request();
  }

  /** One reload; false when it failed (a retry is set, and reloads asked for meanwhile wait for it). */
  private async reload(): Promise<boolean> {
    const target = this.requested;
    const startedAt = this.now();
    try {
      await this.catalog.loadAll();
    } catch (error) {
      this.failing++;
      this.lastError = message(error);
      const delay = backoffDelay(this.retry, this.failing - 1);
      this.options.log(
        `sync: reloading the routing table failed (${this.lastError}); serving from memory, trying again in ${delay} ms`,
      );
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => {
        void this.resync();
      }, delay);
      this.retryTimer.unref();
      return false;
    }
    if (this.failing > 0)
      this.options.log(`sync: reloaded the routing table after ${this.failing} failed attempts`);
    else if (target > this.covered) this.options.log('sync: reloaded the routing table');
    this.options.credentials?.forgetAll();
    this.covered = Math.max(this.covered, target);
    this.lastSync = { startedAt, finishedAt: this.now() };
    this.resyncs++;
    this.failing = 0;
    this.lastError = undefined;
    this.options.reloaded?.();
    return true;
  }
}
