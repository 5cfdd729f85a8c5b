import { SluiceError } from './errors.js';
import { parseQualifier, type Qualifier } from './names.js';
import { latestFiring, parseSchedule, type Schedule } from './schedule.js';
import { Issues } from './validate.js';

/**
 * Event triggers: a timer or a message queue's subscription, each bound to one qualifier of its function.
 * A trigger names the alias it invokes, so that moving the alias moves its traffic and deleting the alias is
 * refused while a trigger uses it (as for stages).
 */

/** The brokers a queue trigger can subscribe to. NATS JetStream for now; the spec names the broker, so that RabbitMQ can join. */
export const BROKERS = ['nats'] as const;
export type Broker = (typeof BROKERS)[number];

interface CommonSpec {
  /** An alias (`$DEFAULT` by default), a version number or `LATEST`, as a caller would name it. */
  qualifier: string;
  enabled: boolean;
  description: string;
}

export interface TimerSpec extends CommonSpec {
  kind: 'timer';
  schedule: string;
  /** Given to the handler in the event's `payload`, as Function Compute's timer triggers do. */
  payload: string;
}

export interface QueueSpec extends CommonSpec {
  kind: 'queue';
  broker: Broker;
  /** The broker's address, such as `nats://127.0.0.1:4222`. */
  url: string;
  /** The JetStream stream, and the subject filter of its consumer. */
  stream: string;
  subject: string;
  /** Messages one node runs at once. */
  concurrency: number;
}

export type TriggerSpec = TimerSpec | QueueSpec;

export interface TriggerRecord {
  functionName: string;
  name: string;
  spec: TriggerSpec;
  /** A timer's latest firing (epoch ms), once it has fired. */
  lastFired?: number;
  createdAt: string;
  updatedAt: string;
}

export const TRIGGER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const MAX_TIMER_PAYLOAD_BYTES = 64 * 1024;
export const MAX_QUEUE_CONCURRENCY = 100;

export function assertTriggerName(name: string): void {
  if (!TRIGGER_NAME.test(name))
    throw new SluiceError(
      'InvalidArgument',
      `trigger name "${name}" must start with a letter and hold only letters, digits, underscores and hyphens (at most 64)`,
      [
        {
          path: 'name',
          message:
            'must start with a letter and hold only letters, digits, underscores and hyphens (at most 64)',
        },
      ],
    );
}

/** What the schema cannot check: the schedule, the qualifier, the broker's URL. Every problem is collected. */
export function checkTriggerSpec(spec: TriggerSpec): TriggerSpec {
  const issues = new Issues();
  try {
    parseQualifier(spec.qualifier);
  } catch {
    issues.add('qualifier', 'must be $DEFAULT, an alias name, a version number or LATEST');
  }
  if (spec.kind === 'timer') {
    const schedule = parseSchedule(spec.schedule);
    if (typeof schedule === 'string') issues.add('schedule', schedule);
    if (new TextEncoder().encode(spec.payload).length > MAX_TIMER_PAYLOAD_BYTES)
      issues.add('payload', `must be at most ${MAX_TIMER_PAYLOAD_BYTES / 1024} KB`);
  } else {
    let url: URL | undefined;
    try {
      url = new URL(spec.url);
    } catch {
      url = undefined;
    }
    if (url?.protocol !== 'nats:') issues.add('url', 'must be a nats:// URL, such as nats://127.0.0.1:4222');
    if (!isSubjectFilter(spec.subject))
      issues.add('subject', 'must be dot-separated tokens, each a word, * or (last) >, such as orders.>');
  }
  issues.throwIfAny('trigger');
  return spec;
}

/** A NATS subject filter: non-empty tokens without spaces, `*` a whole token, `>` only the last. */
function isSubjectFilter(subject: string): boolean {
  const tokens = subject.split('.');
  return tokens.every(
    (token, i) => /^[^\s*>]+$/.test(token) || token === '*' || (token === '>' && i === tokens.length - 1),
  );
}

/** A timer's schedule, checked when the trigger was written. */
export function timerSchedule(spec: TimerSpec): Schedule {
  const schedule = parseSchedule(spec.schedule);
  if (typeof schedule === 'string')
    throw new SluiceError('InternalError', `stored schedule is invalid: ${schedule}`);
  return schedule;
}

/**
 * The firing a timer owes at `now`: the schedule's latest time, if it is after the last firing and not before
 * the trigger was made (a new timer waits for its first time). Times missed while no node ran are not owed:
 * only the latest is fired, once.
 */
export function dueFiring(
  schedule: Schedule,
  lastFired: number | undefined,
  createdAt: number,
  now: number,
): number | undefined {
  const latest = latestFiring(schedule, now);
  if (latest === undefined || latest < createdAt) return undefined;
  return lastFired !== undefined && latest <= lastFired ? undefined : latest;
}

/** Function Compute's timer event: the time it was due, the trigger's name, and its payload. */
export function timerEvent(name: string, at: number, payload: string): string {
  return JSON.stringify({ triggerTime: new Date(at).toISOString(), triggerName: name, payload });
}

/** The triggers that invoke a function through one alias or version. */
export function triggersUsing(
  triggers: readonly TriggerRecord[],
  functionName: string,
  target: { alias: string } | { version: number },
): string[] {
  return triggers
    .filter((t) => {
      if (t.functionName !== functionName) return false;
      let q: Qualifier;
      try {
        q = parseQualifier(t.spec.qualifier);
      } catch {
        return false;
      }
      if ('alias' in target) return q.kind === 'alias' && q.alias === target.alias;
      return q.kind === 'version' && q.version === target.version;
    })
    .map((t) => t.name);
}

/** Refuses to delete the alias or version a trigger invokes, naming the triggers. */
export function assertNoTrigger(
  triggers: readonly TriggerRecord[],
  functionName: string,
  target: { alias: string } | { version: number },
): void {
  const users = triggersUsing(triggers, functionName, target);
  if (users.length === 0) return;
  const what = 'alias' in target ? `alias ${target.alias}` : `version ${target.version}`;
  throw new SluiceError(
    'alias' in target ? 'AliasInUse' : 'VersionInUse',
    `${what} of ${functionName} is invoked by trigger${users.length > 1 ? 's' : ''} ${users.join(', ')}; point ${users.length > 1 ? 'them' : 'it'} elsewhere first`,
    { triggers: users },
  );
}

/** A message of a queue trigger's subscription, as its broker delivered it. */
export interface QueueMessage {
  /** Where it is kept: the stream and its sequence there name it, the same at each delivery. */
  stream: string;
  sequence: number;
  subject: string;
  data: Uint8Array;
  /** This delivery's number, 1 for the first. */
  deliveries: number;
  /** Epoch ms. */
  publishedAt: number;
}

/** What becomes of a message: acknowledged, delivered again after a wait (ms), or given up on. */
export type QueueVerdict = { ack: true } | { retryInMs: number } | { term: true };

/** The event a queue trigger's handler gets: the message's text in `data`, with where it came from. */
export function queueEvent(triggerName: string, message: QueueMessage): string {
  return JSON.stringify({
    triggerName,
    stream: message.stream,
    subject: message.subject,
    sequence: message.sequence,
    deliveries: message.deliveries,
    publishedAt: new Date(message.publishedAt).toISOString(),
    data: new TextDecoder().decode(message.data),
  });
}

/**
 * After a failed delivery: again after the async retries' backoff while the function's retries last (its
 * `maxRetries`, as for asynchronous invocations), then given up. A delivery that never ran (the node full or
 * stopping) is always retried: it is no attempt of the handler's.
 */
export function queueVerdict(
  failure: { ran: boolean },
  deliveries: number,
  maxRetries: number,
  backoff: (retry: number) => number,
): QueueVerdict {
  if (!failure.ran) return { retryInMs: backoff(0) };
  return deliveries > maxRetries ? { term: true } : { retryInMs: backoff(deliveries - 1) };
}
