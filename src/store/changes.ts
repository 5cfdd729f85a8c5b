/**
 * How the nodes sharing one store learn what another node changed, so that each keeps its in-memory routing
 * table current. A node publishes every change it commits; every node (the writer too) receives every change
 * and refreshes that one function or API. A feed may lose changes (a broken connection): it then says so,
 * and the receiver reloads everything.
 */

/**
 * What a committed write changed: a function (its versions, aliases, trigger), an API (its stages), or a
 * credential (revoked: `name` is its id).
 */
export interface StoreChange {
  kind: 'function' | 'api' | 'credential';
  name: string;
}

export interface ChangeFeedHandlers {
  /** A change committed on some node, this one included; may arrive more than once. */
  change(change: StoreChange): void;
  /** Changes may have been missed (the feed reconnected): everything must be reloaded. */
  missed(): void;
}

export interface ChangeFeedStatus {
  kind: 'in-process' | 'postgres';
  /** Whether changes made elsewhere reach this node now. */
  connected: boolean;
  /** When the current connection was made (epoch ms); undefined while disconnected. */
  connectedAt: number | undefined;
  /** Connections made again after one broke. */
  reconnects: number;
  /** Changes this node made that could not be announced yet: they will be, once connected again. */
  unannounced: number;
  lastError: string | undefined;
}

export interface ChangeFeed {
  /** Whether a change can be missed (a connection that breaks), so that a periodic full reload is needed. */
  readonly mayMiss: boolean;
  /** Starts delivering changes; resolves after the first attempt to connect, whether it succeeded or not. */
  start(handlers: ChangeFeedHandlers): Promise<void>;
  /** Announces a committed change to every node. Never rejects: what cannot be sent now is sent later. */
  publish(change: StoreChange): Promise<void>;
  /**
   * Calls `listener` whenever a node (this one too) queued an asynchronous invocation, and when such notices
   * may have been missed (the feed reconnected). The embedded store's node queues all its events itself, and
   * never calls it.
   */
  onQueued(listener: () => void): void;
  status(): ChangeFeedStatus;
  close(): Promise<void>;
}

/** One node on the embedded store: changes are delivered in-process, and are never missed. */
export class InProcessChangeFeed implements ChangeFeed {
  readonly mayMiss = false;
  private handlers: ChangeFeedHandlers | undefined;
  private readonly startedAt = Date.now();

  start(handlers: ChangeFeedHandlers): Promise<void> {
    this.handlers = handlers;
    return Promise.resolve();
  }

  publish(change: StoreChange): Promise<void> {
    this.handlers?.change(change);
    return Promise.resolve();
  }

  onQueued(): void {
    // This node queued every event itself, and woke its dispatcher then.
  }

  status(): ChangeFeedStatus {
    return {
      kind: 'in-process',
      connected: this.handlers !== undefined,
      connectedAt: this.handlers === undefined ? undefined : this.startedAt,
      reconnects: 0,
      unannounced: 0,
      lastError: undefined,
    };
  }

  close(): Promise<void> {
    this.handlers = undefined;
    return Promise.resolve();
  }
}

const KINDS = new Set(['function', 'api', 'credential']);

/** The change a notification carries, or undefined for one that is not a change (another program's). */
export function parseChange(payload: string): (StoreChange & { schema?: string; node?: string }) | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { kind, name, schema, node } = value as Record<string, unknown>;
  if (typeof kind !== 'string' || !KINDS.has(kind) || typeof name !== 'string') return undefined;
  return {
    kind: kind as StoreChange['kind'],
    name,
    ...(typeof schema === 'string' && { schema }),
    ...(typeof node === 'string' && { node }),
  };
}
