import { type Backoff, backoffDelay } from './backoff.js';
import type { RoutingKey } from './routing-key.js';
import type { AsyncConfig, AsyncStatus, Destination } from './async-config.js';

/**
 * Asynchronous invocation: an event is stored, answered 202 at once, and run later through its qualifier's
 * routing, with retries, a maximum age and destinations. The rules here are pure; the queue is the store's,
 * the dispatching the `src/async` dispatcher's.
 */

/** The largest payload an asynchronous invocation takes, as Lambda's: the queue keeps it. */
export const MAX_ASYNC_PAYLOAD_BYTES = 256 * 1024;
/** The most of a result the record keeps (and sends to a destination). */
export const MAX_ASYNC_RESULT_BYTES = 64 * 1024;

/** The wait before retry n: 1 s, 2 s, 4 s … at most 5 minutes, spread ±20 % so that failures do not march in step. */
export const RETRY_BACKOFF: Backoff = { firstMs: 1000, maxMs: 300_000, jitter: 0.2 };

/** One run of an event's handler: the version the alias chose for it, and how it ended. */
export interface AsyncAttempt {
  /** None when the qualifier could chose none (its alias was deleted meanwhile). */
  versionId: string | null;
  node: string;
  startedAt: string;
  endedAt: string;
  /** The error's code when it failed (`UnhandledInvocationError`, `FunctionTimeout` …). */
  errorCode?: string;
  errorMessage?: string;
}

/** An event as it is queued. */
export interface NewAsyncEvent {
  /** The request id, which the handler sees as `context.requestId` and may deduplicate by. */
  id: string;
  functionName: string;
  /** As the function sees it: an alias, a version number or `LATEST`. */
  qualifier: string;
  payload: Buffer;
  routingKey?: RoutingKey;
  /** `async` (the invoke API), `timer:<trigger>`, `queue:<trigger>` or `destination:<event id>`. */
  source: string;
  /** Epoch ms. */
  createdAt: number;
}

export interface AsyncEvent extends NewAsyncEvent {
  status: AsyncStatus;
  attempts: AsyncAttempt[];
  /** Epoch ms before which it is not run (again). */
  nextAt: number;
  /** The handler's result, as text (at most MAX_ASYNC_RESULT_BYTES), when it succeeded. */
  result?: string;
  /** Why it failed or expired: the last attempt's error, or the age. */
  error?: { code: string; message: string };
  /** Epoch ms, once it has ended. */
  finishedAt?: number;
  /** What became of its destination, once one was due. */
  destination?: DestinationState;
}

/**
 * An ended event's destination: a function's is `delivered` when its event is queued (in the same
 * transaction that ends this one; `requestId` names it); a URL's is `pending` until it answered 2xx or
 * its tries ran out.
 */
export interface DestinationState {
  target: string;
  status: 'pending' | 'delivered' | 'failed';
  requestId?: string;
  error?: string;
}

/** How an event ends an attempt, as the store records it. */
export interface AsyncSettlement {
  status: AsyncStatus;
  nextAt: number;
  attempts: AsyncAttempt[];
  result?: string;
  error?: { code: string; message: string };
  finishedAt?: number;
  /** The destination the event's record goes to now, if it ended and one is set. */
  destination?: Destination;
}

/** What became of one attempt: the version it ran, and its result or error. */
export type AttemptOutcome =
  | { ran: true; attempt: AsyncAttempt; result?: string }
  /** The invocation never started (the node was full or shutting down): the event goes back, no attempt counted. */
  | { ran: false; retryInMs: number };

/** Errors that mean an event never ran: it is queued again without counting an attempt. */
export const NOT_RUN_ERRORS: ReadonlySet<string> = new Set([
  'TooManyRequests',
  'ServiceUnavailable',
  'RequestCancelled',
]);

/** Whether an event queued at `createdAt` is past its age at `now`. */
export function isExpired(createdAt: number, config: AsyncConfig, now: number): boolean {
  return now - createdAt > config.maxEventAgeSeconds * 1000;
}

/** The record an event that is too old ends with. */
export function expiry(
  event: Pick<AsyncEvent, 'attempts' | 'createdAt'>,
  config: AsyncConfig,
  now: number,
): AsyncSettlement {
  return {
    status: 'expired',
    nextAt: now,
    attempts: event.attempts,
    error: {
      code: 'EventExpired',
      message: `the event was not run successfully within its maximum age of ${config.maxEventAgeSeconds} s`,
    },
    finishedAt: now,
    ...(config.onFailure && { destination: config.onFailure }),
  };
}

/**
 * What follows an attempt: success ends the event; a failure is retried after a backoff while retries remain
 * and the event is young enough, and otherwise ends it as failed (or expired, when the wait would outlive it).
 * Events that came from a destination send their record nowhere further, so that two functions naming each
 * other cannot feed a loop.
 */
export function settle(
  event: Pick<AsyncEvent, 'attempts' | 'createdAt' | 'source'>,
  outcome: AttemptOutcome,
  config: AsyncConfig,
  now: number,
  random: () => number = Math.random,
): AsyncSettlement {
  const chained = event.source.startsWith('destination:');
  if (!outcome.ran) {
    const nextAt = now + outcome.retryInMs;
    if (isExpired(event.createdAt, config, nextAt)) return withoutLoop(expiry(event, config, now), chained);
    return { status: 'queued', nextAt, attempts: event.attempts };
  }
  const attempts = [...event.attempts, outcome.attempt];
  const { errorCode, errorMessage } = outcome.attempt;
  if (errorCode === undefined) {
    return withoutLoop(
      {
        status: 'succeeded',
        nextAt: now,
        attempts,
        ...(outcome.result !== undefined && { result: outcome.result }),
        finishedAt: now,
        ...(config.onSuccess && { destination: config.onSuccess }),
      },
      chained,
    );
  }
  const error = { code: errorCode, message: errorMessage ?? errorCode };
  const retry = attempts.length - 1;
  if (retry < config.maxRetries) {
    const nextAt = now + backoffDelay(RETRY_BACKOFF, retry, random);
    if (!isExpired(event.createdAt, config, nextAt)) return { status: 'queued', nextAt, attempts, error };
    return withoutLoop({ ...expiry({ ...event, attempts }, config, now) }, chained);
  }
  return withoutLoop(
    {
      status: 'failed',
      nextAt: now,
      attempts,
      error,
      finishedAt: now,
      ...(config.onFailure && { destination: config.onFailure }),
    },
    chained,
  );
}

function withoutLoop(settlement: AsyncSettlement, chained: boolean): AsyncSettlement {
  if (chained) delete settlement.destination;
  return settlement;
}

/** How a destination is named in records and logs: `function:B:live` or the URL. */
export function describeDestination(destination: Destination): string {
  return 'url' in destination
    ? destination.url
    : `function:${destination.function}:${destination.qualifier ?? '$DEFAULT'}`;
}

/**
 * What a destination receives: the event's record, as Lambda's destinations get theirs, with the version that
 * ran each attempt (which no cloud reports).
 */
export function destinationRecord(event: AsyncEvent, settlement: AsyncSettlement): Record<string, unknown> {
  const last = settlement.attempts.at(-1);
  return {
    requestId: event.id,
    functionName: event.functionName,
    qualifier: event.qualifier,
    source: event.source,
    status: settlement.status,
    version: last?.versionId ?? null,
    attempts: settlement.attempts,
    createdAt: new Date(event.createdAt).toISOString(),
    finishedAt: new Date(settlement.finishedAt ?? settlement.nextAt).toISOString(),
    ...(settlement.result !== undefined && { result: settlement.result }),
    ...(settlement.error && { error: settlement.error }),
  };
}
