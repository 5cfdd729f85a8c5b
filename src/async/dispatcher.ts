import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AsyncEvent,
  type AsyncSettlement,
  type AttemptOutcome,
  describeDestination,
  destinationRecord,
  expiry,
  isExpired,
  MAX_ASYNC_RESULT_BYTES,
  type NewAsyncEvent,
  NOT_RUN_ERRORS,
  settle,
} from '../core/async-invocation.js';
import { type AsyncConfig, DEFAULT_ASYNC_CONFIG, type Destination } from '../core/async-config.js';
import { isSluiceError } from '../core/errors.js';
import { Alarm } from '../timing/alarm.js';
import type { EventOutcome, QueuedInvocation } from '../gateway/gateway.js';
import type { AsyncSettle, Store } from '../store/store.js';

export interface DispatcherOptions {
  /** Events this node runs at once; 0 for a node that only queues them, for the others to run. */
  concurrency: number;
  /**
   * The longest an idle node sleeps without looking at the queue, for what no notice told it of: undefined for
   * never (one node alone, which queues every event itself). See `DEFAULT_SAFETY_POLL_MS`.
   */
  safetyPollMs: number | undefined;
  /** How long a claimed event is this node's; renewed every third of it while it runs. */
  leaseMs: number;
  /** How long ended events are kept. */
  keepMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  concurrency: 10,
  safetyPollMs: undefined,
  leaseMs: 30_000,
  keepMs: 7 * 86_400_000,
};

/**
 * On a shared store a node sleeps until the next due time it knows of, and is woken by the notice of each event
 * queued anywhere; it may still miss some: a notice sent while its listening connection was down between the
 * break and the reconnect (it looks once reconnected, but a break it did not notice yet goes on silently until
 * the feed's heartbeat finds it), a retry queued by a node that died before running it, a lease taken after it
 * last looked. Looking every 30 s bounds how late those run, for one claim and one read a node every 30 s.
 */
export const DEFAULT_SAFETY_POLL_MS = 30_000;

export interface DispatcherDeps {
  store: Store;
  /** The name this node claims under: it outlives the process, so that a restart takes its events back at once. */
  node: string;
  /** The data plane's invocation path: the qualifier's routing, the pool, telemetry. */
  invoke: (event: QueuedInvocation) => Promise<EventOutcome>;
  /** A function's settings, as the data plane knows them; undefined when it is gone. */
  config: (functionName: string) => AsyncConfig | undefined;
  /** Posts an ended event's record to a URL destination; rejects unless it answered 2xx. */
  deliver: (url: string, record: Record<string, unknown>) => Promise<void>;
  options: DispatcherOptions;
  log: (line: string) => void;
}

/** The event that takes a record to a function destination, named after what it tells of. */
function destinationEvent(
  destination: { function: string; qualifier?: string },
  record: Record<string, unknown>,
  from: string,
): NewAsyncEvent {
  return {
    id: randomUUID(),
    functionName: destination.function,
    qualifier: destination.qualifier ?? '$DEFAULT',
    payload: Buffer.from(JSON.stringify(record)),
    source: `destination:${from}`,
    createdAt: Date.now(),
  };
}

/** A URL destination is tried this often, 1 s and 2 s apart, then recorded as failed. */
const DELIVERY_TRIES = 3;
/** An event that could not start (the node full, or stopping) waits this long before it is claimed again. */
const NOT_RUN_RETRY_MS = 1000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Runs the asynchronous invocation queue on this node: claims due events under a lease, runs each through
 * the data plane (the version chosen then, by the alias's routing), and records how it went — retried,
 * ended, passed to its destination. Delivery is at least once: an event whose node dies while it runs is run
 * again once the lease runs out (or at once when the node restarts), so a handler may see a request id twice.
 */
export class AsyncDispatcher {
  private readonly running = new Map<string, Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();
  private renewer: NodeJS.Timeout | undefined;
  private lastPrune = 0;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Takes back what this node held when it last stopped, then starts claiming. */
  async start(): Promise<void> {
    const released = await this.deps.store.releaseAsync(this.deps.node);
    if (released > 0)
      this.deps.log(
        `async: ${released} invocation(s) this node was running when it stopped are queued again`,
      );
    const { leaseMs } = this.deps.options;
    this.renewer = setInterval(() => {
      void this.renew();
    }, leaseMs / 3);
    this.renewer.unref();
    this.loop = this.run();
  }

  /** Queues an event and wakes the loop, so that an idle node runs it at once. */
  async enqueue(event: NewAsyncEvent): Promise<void> {
    await this.deps.store.enqueueAsync(event);
    this.wake();
  }

  /** Something may be due now: an event queued (here, or on another node), a slot freed. */
  wake(): void {
    this.alarm.ring();
  }

  /**
   * Sends a record that no queued event holds (a queue trigger's message given up on) to a destination: a
   * function's is queued as an event of its own; a URL's is posted once, rejecting if it was not taken.
   */
  async sendRecord(destination: Destination, record: Record<string, unknown>, from: string): Promise<void> {
    if ('url' in destination) await this.deps.deliver(destination.url, record);
    else await this.enqueue(destinationEvent(destination, record, from));
  }

  /** Stops claiming and lets the events in flight end and be recorded. */
  async close(): Promise<void> {
    this.stopped = true;
    this.wake();
    clearInterval(this.renewer);
    await this.loop;
    await Promise.allSettled(this.running.values());
  }

  /**
   * Claims what is due while slots are free, then sleeps until the next due time the store knows of (or the
   * safety poll), or until woken. A full node sleeps until a slot frees; an idle one reads nothing.
   */
  private async run(): Promise<void> {
    const { concurrency, leaseMs, safetyPollMs } = this.deps.options;
    while (!this.stopped) {
      this.alarm.reset();
      const free = concurrency - this.running.size;
      if (free <= 0) {
        // Woken when a slot frees (or the node stops).
        await this.alarm.sleepUntil(undefined);
        continue;
      }
      let claimed: AsyncEvent[] = [];
      let failed = false;
      try {
        claimed = await this.deps.store.claimAsync(this.deps.node, Date.now(), leaseMs, free);
      } catch (error) {
        failed = true;
        this.deps.log(`async: could not claim invocations: ${String(error)}`);
      }
      for (const event of claimed) this.track(event);
      await this.prune();
      // A full batch may mean more are due: look again at once.
      if (claimed.length === free) continue;
      let due: number | undefined;
      try {
        due = failed ? Date.now() + NOT_RUN_RETRY_MS : await this.deps.store.nextAsyncDue(this.deps.node);
      } catch (error) {
        this.deps.log(`async: could not read when invocations are due: ${String(error)}`);
        due = Date.now() + NOT_RUN_RETRY_MS;
      }
      const poll = safetyPollMs === undefined ? undefined : Date.now() + safetyPollMs;
      const until = due === undefined ? poll : poll === undefined ? due : Math.min(due, poll);
      await this.alarm.sleepUntil(until);
    }
  }

  private track(event: AsyncEvent): void {
    const done = this.handle(event)
      .catch((error: unknown) => {
        this.deps.log(`async: invocation ${event.id} of ${event.functionName}: ${String(error)}`);
      })
      .finally(() => {
        this.running.delete(event.id);
        this.wake();
      });
    this.running.set(event.id, done);
  }

  private async renew(): Promise<void> {
    if (this.running.size === 0) return;
    try {
      await this.deps.store.renewAsyncLeases(
        this.deps.node,
        [...this.running.keys()],
        Date.now() + this.deps.options.leaseMs,
      );
    } catch (error) {
      this.deps.log(`async: could not renew leases: ${String(error)}`);
    }
  }

  private async prune(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.deps.store.pruneAsync(now - this.deps.options.keepMs).catch((error: unknown) => {
      this.deps.log(`async: could not prune ended invocations: ${String(error)}`);
    });
  }

  private async handle(event: AsyncEvent): Promise<void> {
    const config = this.deps.config(event.functionName) ?? DEFAULT_ASYNC_CONFIG;
    const settlement = isExpired(event.createdAt, config, Date.now())
      ? expiry(event, config, Date.now())
      : settle(event, await this.attempt(event), config, Date.now());
    const { destination, ...rest } = settlement;
    const toSettle: AsyncSettle = { settlement: rest };
    if (destination) {
      const target = describeDestination(destination);
      toSettle.destination =
        'url' in destination
          ? { target }
          : { target, event: destinationEvent(destination, destinationRecord(event, settlement), event.id) };
    }
    if (!(await this.deps.store.settleAsync(event.id, this.deps.node, toSettle))) {
      this.deps.log(
        `async: invocation ${event.id} of ${event.functionName} ended here after its lease ran out; another node runs it`,
      );
      return;
    }
    if (toSettle.destination?.event) this.wake();
    if (destination && 'url' in destination) await this.deliver(event, settlement, destination.url);
  }

  /** Runs the event once through the data plane. */
  private async attempt(event: AsyncEvent): Promise<AttemptOutcome> {
    const startedAt = new Date().toISOString();
    const outcome = await this.deps.invoke({
      requestId: event.id,
      functionName: event.functionName,
      qualifier: event.qualifier,
      payload: event.payload,
      ...(event.routingKey && { routingKey: event.routingKey }),
      source: event.source,
    });
    const endedAt = new Date().toISOString();
    if (!('error' in outcome)) {
      return {
        ran: true,
        attempt: { versionId: outcome.versionId, node: this.deps.node, startedAt, endedAt },
        result: outcome.result.subarray(0, MAX_ASYNC_RESULT_BYTES).toString('utf8'),
      };
    }
    const { error } = outcome;
    if (isSluiceError(error) && NOT_RUN_ERRORS.has(error.code))
      return { ran: false, retryInMs: NOT_RUN_RETRY_MS };
    return {
      ran: true,
      attempt: {
        versionId: outcome.versionId,
        node: this.deps.node,
        startedAt,
        endedAt,
        errorCode: isSluiceError(error) ? error.code : 'InternalError',
        errorMessage: error instanceof Error ? error.message : String(error),
      },
    };
  }

  private async deliver(event: AsyncEvent, settlement: AsyncSettlement, url: string): Promise<void> {
    const record = destinationRecord(event, settlement);
    let lastError = '';
    for (let attempt = 0; attempt < DELIVERY_TRIES; attempt++) {
      if (attempt > 0) await sleep(1000 * 2 ** (attempt - 1));
      try {
        await this.deps.deliver(url, record);
        await this.deps.store.updateAsyncDestination(event.id, { target: url, status: 'delivered' });
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    this.deps.log(`async: the record of ${event.id} did not reach ${url}: ${lastError}`);
    await this.deps.store.updateAsyncDestination(event.id, {
      target: url,
      status: 'failed',
      error: lastError,
    });
  }
}
