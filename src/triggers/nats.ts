import {
  AckPolicy,
  connect,
  type Consumer,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  millis,
  nanos,
  type NatsConnection,
  NatsError,
} from 'nats';
import { type Backoff, backoffDelay } from '../core/backoff.js';
import { Alarm } from '../timing/alarm.js';
import type { BrokerClient, BrokerConsumer, ConsumerBinding, QueueTrigger } from './queues.js';

/** Waits between attempts to reach the broker, its stream or its consumer: a broker that is down costs little. */
const RETRY: Backoff = { firstMs: 1000, maxMs: 30_000, jitter: 0.2 };
/** A message not settled this long after its delivery is delivered again; one that runs says so every third. */
const ACK_WAIT_MS = 30_000;
/**
 * A pull waits this long for messages before it asks again: an idle trigger costs one request and two
 * heartbeats in that time. It never delays a message (one arriving is delivered to the waiting pull at once),
 * nor the consumer's close, which stops the pull.
 */
const PULL_EXPIRES_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5_000;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The durable consumer of a trigger, shared by every node: JetStream gives each message to one of them at a
 * time, and to another only when it was not acknowledged in time (or was refused).
 */
export function durableName(functionName: string, triggerName: string): string {
  return `sluice_${functionName}_${triggerName}`;
}

/** Queue triggers on NATS JetStream: a durable pull consumer each. */
export const nats: BrokerClient = {
  consume: (binding) => new NatsConsumer(binding),
  forget: deleteDurable,
};

/** Deletes the trigger's durable consumer; one (or a stream) that is not there is deleted already. */
async function deleteDurable(trigger: QueueTrigger): Promise<void> {
  const { spec } = trigger;
  const connection = await connect({
    servers: spec.url,
    name: 'sluice-forget',
    timeout: CONNECT_TIMEOUT_MS,
    maxReconnectAttempts: 0,
  });
  try {
    const manager = await connection.jetstreamManager();
    await manager.consumers.delete(spec.stream, durableName(trigger.functionName, trigger.name));
  } catch (error) {
    if (!(error instanceof NatsError && error.api_error?.code === 404)) throw error;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * A pull consumer: it asks for as many messages as it has free slots (the trigger's `concurrency`), so that
 * none waits in this node's buffer while it could run on another. The connection reconnects by itself once
 * made; making it, and finding the stream, are retried with backoff, logged, in the background.
 */
class NatsConsumer implements BrokerConsumer {
  private connection: NatsConnection | undefined;
  private batch: ConsumerMessages | undefined;
  private readonly running = new Set<Promise<void>>();
  private readonly alarm = new Alarm();
  private closed = false;
  private readonly loop: Promise<void>;

  constructor(private readonly binding: ConsumerBinding) {
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.alarm.ring();
    this.batch?.stop();
    await this.loop;
    await Promise.allSettled(this.running);
    await this.connection?.close().catch(() => undefined);
  }

  private get name(): string {
    const { trigger } = this.binding;
    return `queue trigger ${trigger.functionName}/${trigger.name}`;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.isClosed()) {
      try {
        const consumer = await this.consumer();
        if (failures > 0) this.binding.log(`${this.name}: consuming again`);
        failures = 0;
        await this.pull(consumer);
      } catch (error) {
        if (this.isClosed()) break;
        if (this.connection?.isClosed()) this.connection = undefined;
        const delay = backoffDelay(RETRY, failures++);
        this.binding.log(`${this.name}: ${message(error)}; trying again in ${delay} ms`);
        this.alarm.reset();
        await this.alarm.sleepUntil(Date.now() + delay);
      }
    }
  }

  /** A method, not the field: `closed` changes behind the awaits of `run`. */
  private isClosed(): boolean {
    return this.closed;
  }

  /** Connects if need be, and creates the durable consumer or brings its filter up to date. */
  private async consumer(): Promise<Consumer> {
    const { spec, functionName, name } = this.binding.trigger;
    this.connection ??= await connect({
      servers: spec.url,
      name: `sluice-${this.binding.node}`,
      timeout: CONNECT_TIMEOUT_MS,
      maxReconnectAttempts: -1,
    });
    const manager = await this.connection.jetstreamManager();
    const durable = durableName(functionName, name);
    await manager.consumers.add(spec.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: spec.subject,
      ack_wait: nanos(ACK_WAIT_MS),
    });
    return this.connection.jetstream().consumers.get(spec.stream, durable);
  }

  private async pull(consumer: Consumer): Promise<void> {
    const { concurrency } = this.binding.trigger.spec;
    while (!this.isClosed()) {
      this.alarm.reset();
      const free = concurrency - this.running.size;
      if (free <= 0) {
        // Woken when one ends (or the consumer closes).
        await this.alarm.sleepUntil(undefined);
        continue;
      }
      this.batch = await consumer.fetch({ max_messages: free, expires: PULL_EXPIRES_MS });
      if (this.isClosed()) this.batch.stop();
      for await (const msg of this.batch) this.track(msg);
    }
  }

  private track(msg: JsMsg): void {
    const working = setInterval(() => {
      msg.working();
    }, ACK_WAIT_MS / 3);
    const done = this.binding
      .handle({
        stream: msg.info.stream,
        sequence: msg.info.streamSequence,
        subject: msg.subject,
        data: msg.data,
        deliveries: msg.info.deliveryCount,
        publishedAt: millis(msg.info.timestampNanos),
      })
      .then((verdict) => {
        if ('ack' in verdict) msg.ack();
        else if ('term' in verdict) msg.term();
        else msg.nak(verdict.retryInMs);
      })
      .catch((error: unknown) => {
        this.binding.log(`${this.name}: message ${msg.info.streamSequence}: ${message(error)}`);
        msg.nak(RETRY.firstMs);
      })
      .finally(() => {
        clearInterval(working);
        this.running.delete(done);
        this.alarm.ring();
      });
    this.running.add(done);
  }
}
