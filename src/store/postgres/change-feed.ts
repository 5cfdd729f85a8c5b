import pg from 'pg';
import { backoffDelay } from '../../core/backoff.js';
import {
  parseChange,
  type ChangeFeed,
  type ChangeFeedHandlers,
  type ChangeFeedStatus,
  type StoreChange,
} from '../changes.js';

/** The channel every node listens on; one per database (the payload names the schema, when there is one). */
export const CHANGES_CHANNEL = 'sluice_changes';
/** Where the store announces each queued asynchronous invocation; the payload is the schema ('' for none). */
export const QUEUED_CHANNEL = 'sluice_queued';

export interface PostgresChangeFeedOptions {
  /** The store's connection string (its `application_name` names the node). */
  url: string;
  /** The store's schema, when it has one of its own: changes to other schemas are not ours. */
  schema?: string;
  /** This node, carried in its notifications for the logs of the others. */
  node: string;
  log: (line: string) => void;
  /** How often the idle connection is checked, so that a silently broken one is found. */
  heartbeatMs?: number;
  /** Waits between attempts to reconnect: doubling from the first to the most, with ±20 % jitter. */
  retry?: { firstMs: number; maxMs: number };
}

const DEFAULTS = { heartbeatMs: 10_000, retry: { firstMs: 200, maxMs: 10_000 } };
/** A statement on the feed's connection (LISTEN, NOTIFY, the heartbeat) taking longer means the link is gone. */
const STATEMENT_TIMEOUT_MS = 5_000;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Changes through PostgreSQL's LISTEN/NOTIFY, on one dedicated connection per node (pooled connections cannot
 * hold a LISTEN). A node announces each change it committed with `NOTIFY sluice_changes, '{"kind","name"}'`
 * right after the commit, and every node, itself included, hears it. When the connection breaks the node
 * keeps serving what it has, reconnects with backoff, and reports the changes as possibly missed, so that
 * its table is reloaded; changes it could not announce meanwhile are announced once connected again.
 */
export class PostgresChangeFeed implements ChangeFeed {
  readonly mayMiss = true;
  private readonly options: Required<Omit<PostgresChangeFeedOptions, 'schema'>> & { schema?: string };
  private handlers: ChangeFeedHandlers | undefined;
  private readonly queuedListeners: (() => void)[] = [];
  private client: pg.Client | undefined;
  private connectedAt: number | undefined;
  private disconnectedAt: number | undefined;
  private everConnected = false;
  private reconnects = 0;
  private attempt = 0;
  private lastError: string | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** Changes of this node not announced yet, by kind and name (announcing one once is enough). */
  private readonly unannounced = new Map<string, StoreChange>();

  constructor(options: PostgresChangeFeedOptions) {
    this.options = { ...DEFAULTS, ...options };
  }

  async start(handlers: ChangeFeedHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  onQueued(listener: () => void): void {
    this.queuedListeners.push(listener);
  }

  async publish(change: StoreChange): Promise<void> {
    const client = this.client;
    if (!client) {
      this.unannounced.set(`${change.kind}:${change.name}`, change);
      return;
    }
    const payload = JSON.stringify({
      kind: change.kind,
      name: change.name,
      ...(this.options.schema !== undefined && { schema: this.options.schema }),
      node: this.options.node,
    });
    try {
      await client.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]);
    } catch (error) {
      this.unannounced.set(`${change.kind}:${change.name}`, change);
      this.lost(client, error);
    }
  }

  status(): ChangeFeedStatus {
    return {
      kind: 'postgres',
      connected: this.client !== undefined,
      connectedAt: this.connectedAt,
      reconnects: this.reconnects,
      unannounced: this.unannounced.size,
      lastError: this.lastError,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    const client = this.client;
    this.client = undefined;
    this.connectedAt = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.options.url,
      connectionTimeoutMillis: STATEMENT_TIMEOUT_MS,
      query_timeout: STATEMENT_TIMEOUT_MS,
      keepAlive: true,
    });
    // Errors after connecting end the connection: 'error' and 'end' both mean it is lost.
    client.on('error', (error) => {
      this.lost(client, error);
    });
    client.on('end', () => {
      this.lost(client, new Error('the connection ended'));
    });
    client.on('notification', (note) => {
      if (note.channel === CHANGES_CHANNEL && note.payload !== undefined) this.receive(note.payload);
      else if (note.channel === QUEUED_CHANNEL && note.payload === (this.options.schema ?? '')) this.queued();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      await client.query(`LISTEN ${QUEUED_CHANNEL}`);
    } catch (error) {
      void client.end().catch(() => undefined);
      this.failed(error);
      return;
    }
    if (this.isClosed()) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.connectedAt = Date.now();
    this.attempt = 0;
    this.lastError = undefined;
    if (this.everConnected) {
      this.reconnects++;
      const outage = this.disconnectedAt === undefined ? 0 : this.connectedAt - this.disconnectedAt;
      this.options.log(
        `change feed: reconnected to PostgreSQL after ${(outage / 1000).toFixed(1)} s; reloading the routing table`,
      );
    } else {
      this.options.log(`change feed: subscribed to PostgreSQL channel ${CHANGES_CHANNEL}`);
    }
    // Anything connected after the table's first load may have missed changes in between.
    if (this.everConnected || this.disconnectedAt !== undefined) {
      this.handlers?.missed();
      this.queued();
    }
    this.everConnected = true;
    this.disconnectedAt = undefined;
    this.heartbeat = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => {
        this.lost(client, error);
      });
    }, this.options.heartbeatMs);
    this.heartbeat.unref();
    const pending = [...this.unannounced.values()];
    this.unannounced.clear();
    for (const change of pending) await this.publish(change);
  }

  /** A method, not the field: `closed` changes behind the awaits of `connect`. */
  private isClosed(): boolean {
    return this.closed;
  }

  private receive(payload: string): void {
    const change = parseChange(payload);
    if (!change || change.schema !== this.options.schema) return;
    this.handlers?.change({ kind: change.kind, name: change.name });
  }

  private queued(): void {
    for (const listener of this.queuedListeners) listener();
  }

  /** The current connection broke: serve on from memory, and connect again. */
  private lost(client: pg.Client, error: unknown): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.connectedAt = undefined;
    this.disconnectedAt = Date.now();
    clearInterval(this.heartbeat);
    this.lastError = message(error);
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.log(
      `change feed: lost the PostgreSQL connection (${this.lastError}); serving from memory, reconnecting`,
    );
    this.scheduleReconnect();
  }

  private failed(error: unknown): void {
    this.lastError = message(error);
    this.disconnectedAt ??= Date.now();
    if (this.closed) return;
    const delay = this.scheduleReconnect();
    this.options.log(
      `change feed: could not connect to PostgreSQL (${this.lastError}); trying again in ${delay} ms`,
    );
  }

  private scheduleReconnect(): number {
    const delay = backoffDelay({ ...this.options.retry, jitter: 0.2 }, this.attempt);
    this.attempt++;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, delay);
    this.retryTimer.unref();
    return delay;
  }
}
