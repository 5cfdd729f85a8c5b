import { createHash } from 'node:crypto';
import { type AsyncConfig, DEFAULT_ASYNC_CONFIG, type Destination } from '../core/async-config.js';
import { NOT_RUN_ERRORS, RETRY_BACKOFF } from '../core/async-invocation.js';
import { backoffDelay } from '../core/backoff.js';
import { isSluiceError } from '../core/errors.js';
import {
  type Broker,
  type QueueMessage,
  type QueueSpec,
  type QueueVerdict,
  queueEvent,
  queueVerdict,
  type TriggerRecord,
} from '../core/triggers.js';
import type { EventOutcome, QueuedInvocation } from '../gateway/gateway.js';
import type { TriggerDirectory } from './directory.js';

export type QueueTrigger = TriggerRecord & { spec: QueueSpec };

/** What a broker's consumer is given: the trigger it serves, and what to do with each message. */
export interface ConsumerBinding {
  trigger: QueueTrigger;
  /** This node, for the names of its connections. */
  node: string;
  /** Runs one message and says what becomes of it; never rejects. */
  handle: (message: QueueMessage) => Promise<QueueVerdict>;
  log: (line: string) => void;
}

/**
 * One trigger's subscription on its broker: it takes messages while fewer than the trigger's `concurrency` run,
 * settles each as `handle` says, and keeps trying (with backoff) while the broker cannot be reached. `close`
 * stops taking messages and waits for those running.
 */
export interface BrokerConsumer {
  close(): Promise<void>;
}

export type StartConsumer = (binding: ConsumerBinding) => BrokerConsumer;

/** What Sluice does on a broker: consume a trigger's messages, and remove what it kept there once it is deleted. */
export interface BrokerClient {
  consume: StartConsumer;
  /** Removes the trigger's subscription from the broker (it may be gone already); rejects if it could not. */
  forget: (trigger: QueueTrigger) => Promise<void>;
}

export interface QueueTriggerDeps {
  triggers: TriggerDirectory;
  node: string;
  /** The data plane's invocation path: the qualifier's routing, the pool, telemetry. */
  invoke: (event: QueuedInvocation) => Promise<EventOutcome>;
  /** A function's retries and destinations, as the data plane knows them. */
  config: (functionName: string) => AsyncConfig | undefined;
  /** Sends the record of a message given up on to the function's failure destination; rejects if it could not. */
  failed: (destination: Destination, record: Record<string, unknown>) => Promise<void>;
  brokers: Record<Broker, BrokerClient>;
  log: (line: string) => void;
}

/** A trigger's consumer is replaced when anything of it changes (an update keeps the name, not the spec). */
const key = (t: QueueTrigger) =>
  `${t.functionName}\u0000${t.name}\u0000${t.createdAt}\u0000${JSON.stringify(t.spec)}`;
/** A trigger as its broker knows it: by function and name, whatever its spec. */
const identity = (t: QueueTrigger) => `${t.functionName}\u0000${t.name}`;

/**
 * A message's request id: the same at each delivery of it, so that a handler can tell a redelivery from a new
 * message (delivery is at least once), and different for every trigger and message.
 */
export function queueRequestId(trigger: QueueTrigger, message: QueueMessage): string {
  const hex = createHash('sha256')
    .update(
      [trigger.functionName, trigger.name, trigger.createdAt, message.stream, message.sequence].join(
        '\u0000',
      ),
    )
    .digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Runs the queue triggers on this node: a consumer for each enabled one, started and stopped as the triggers
 * change (see TriggerDirectory). Each message is invoked directly, not through the asynchronous queue: the
 * broker already keeps it durably and redelivers it, and its acknowledgement must follow the handler's success,
 * which queueing it first would not.
 *
 * A trigger deleted (by itself or with its function) is forgotten on its broker, once this node's consumer of it
 * has stopped: left there, a durable subscription would hold its stream's messages for a reader that never comes
 * back (for ever, on a stream that keeps messages until all their subscribers have them), and a trigger made
 * again under its name would go on from where it stopped instead of from the start. Every node that knew the
 * trigger forgets it after stopping its own consumer, so that none can make it again after the last forget. A
 * disabled trigger, or one updated, keeps its place.
 */
export class QueueTriggers {
  private readonly running = new Map<string, { trigger: QueueTrigger; consumer: BrokerConsumer }>();
  /** Every queue trigger of the last reconcile, enabled or not, by `identity`. */
  private known = new Map<string, QueueTrigger>();
  private readonly stopping = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly deps: QueueTriggerDeps) {}

  start(): void {
    this.deps.triggers.onChange(() => {
      this.reconcile();
    });
    this.reconcile();
  }

  /** Stops every consumer, waiting for the messages running to end and be settled. */
  async close(): Promise<void> {
    this.closed = true;
    for (const { consumer } of this.running.values()) void this.stop(consumer);
    this.running.clear();
    await Promise.allSettled(this.stopping);
  }

  private reconcile(): void {
    if (this.closed) return;
    const present = new Map<string, QueueTrigger>();
    const wanted = new Map<string, QueueTrigger>();
    for (const t of this.deps.triggers.all()) {
      if (t.spec.kind !== 'queue') continue;
      const trigger = t as QueueTrigger;
      present.set(identity(trigger), trigger);
      if (trigger.spec.enabled) wanted.set(key(trigger), trigger);
    }
    const stopped = new Map<string, Promise<void>>();
    for (const [k, { trigger, consumer }] of this.running) {
      if (wanted.has(k)) continue;
      this.running.delete(k);
      stopped.set(identity(trigger), this.stop(consumer));
    }
    for (const [id, trigger] of this.known)
      if (!present.has(id)) this.forget(trigger, stopped.get(id) ?? Promise.resolve());
    this.known = present;
    for (const [k, trigger] of wanted) {
      if (this.running.has(k)) continue;
      const consumer = this.deps.brokers[trigger.spec.broker].consume({
        trigger,
        node: this.deps.node,
        handle: (message) => this.handle(trigger, message),
        log: this.deps.log,
      });
      this.running.set(k, { trigger, consumer });
    }
  }

  private stop(consumer: BrokerConsumer): Promise<void> {
    return this.track(consumer.close());
  }

  /** Removes a deleted trigger's subscription from its broker once `stopped`, this node's consumer of it. */
  private forget(trigger: QueueTrigger, stopped: Promise<void>): void {
    const name = `queue trigger ${trigger.functionName}/${trigger.name}`;
    void this.track(
      stopped
        .catch(() => undefined)
        .then(() => this.deps.brokers[trigger.spec.broker].forget(trigger))
        .catch((error: unknown) => {
          this.deps.log(
            `${name}: deleted, but its subscription on ${trigger.spec.url} could not be removed (${error instanceof Error ? error.message : String(error)}); remove it there by hand`,
          );
        }),
    );
  }

  /** Something `close` waits for. */
  private track(work: Promise<void>): Promise<void> {
    const tracked = work.finally(() => {
      this.stopping.delete(tracked);
    });
    this.stopping.add(tracked);
    return tracked;
  }

  private async handle(trigger: QueueTrigger, message: QueueMessage): Promise<QueueVerdict> {
    const requestId = queueRequestId(trigger, message);
    const outcome = await this.deps.invoke({
      requestId,
      functionName: trigger.functionName,
      qualifier: trigger.spec.qualifier,
      payload: Buffer.from(queueEvent(trigger.name, message)),
      source: `queue:${trigger.name}`,
    });
    if (!('error' in outcome)) return { ack: true };
    const { error } = outcome;
    const config = this.deps.config(trigger.functionName) ?? DEFAULT_ASYNC_CONFIG;
    const verdict = queueVerdict(
      { ran: !(isSluiceError(error) && NOT_RUN_ERRORS.has(error.code)) },
      message.deliveries,
      config.maxRetries,
      (retry) => backoffDelay(RETRY_BACKOFF, retry),
    );
    if (!('term' in verdict)) return verdict;
    const code = isSluiceError(error) ? error.code : 'InternalError';
    const text = error instanceof Error ? error.message : String(error);
    this.deps.log(
      `queue trigger ${trigger.functionName}/${trigger.name}: message ${message.stream}#${message.sequence} failed ${message.deliveries} time(s) (${code}); given up`,
    );
    if (config.onFailure) {
      const record = {
        requestId,
        functionName: trigger.functionName,
        qualifier: trigger.spec.qualifier,
        source: `queue:${trigger.name}`,
        status: 'failed',
        version: outcome.versionId,
        deliveries: message.deliveries,
        message: { stream: message.stream, subject: message.subject, sequence: message.sequence },
        error: { code, message: text },
        finishedAt: new Date().toISOString(),
      };
      await this.deps.failed(config.onFailure, record).catch((failure: unknown) => {
        this.deps.log(
          `queue trigger ${trigger.functionName}/${trigger.name}: the record of ${requestId} did not reach its failure destination: ${String(failure)}`,
        );
      });
    }
    return verdict;
  }
}
