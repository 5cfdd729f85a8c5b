import { type Static, Type } from '@sinclair/typebox';
import {
  ASYNC_STATUSES,
  MAX_ASYNC_RETRIES,
  MAX_EVENT_AGE_SECONDS,
  MIN_EVENT_AGE_SECONDS,
} from '../../core/async-config.js';
import { Enum, NextToken, Nullable, Strict, Timestamp } from './common.js';
import { FunctionName } from './functions.js';

export const Destination = Type.Union(
  [
    Strict({
      function: FunctionName,
      qualifier: Type.Optional(
        Type.String({ description: 'an alias, a version number or $LATEST; $DEFAULT when absent' }),
      ),
    }),
    Strict({
      url: Type.String({ pattern: '^https?://', description: 'must be an http:// or https:// URL' }),
    }),
  ],
  { description: 'another function (any qualifier) or an HTTP URL, which gets the ended event’s record' },
);
export type Destination = Static<typeof Destination>;

const configFields = {
  maxRetries: Type.Integer({
    minimum: 0,
    maximum: MAX_ASYNC_RETRIES,
    description: `retries after a failed attempt, 0–${MAX_ASYNC_RETRIES}, 1 s apart doubling (default 2)`,
  }),
  maxEventAgeSeconds: Type.Integer({
    minimum: MIN_EVENT_AGE_SECONDS,
    maximum: MAX_EVENT_AGE_SECONDS,
    description: `an event not ended this long after it was queued expires (default and most ${MAX_EVENT_AGE_SECONDS})`,
  }),
  onSuccess: Nullable(Destination),
  onFailure: Nullable(Destination),
};

/** The whole setting, replaced at once: a field left out takes its default (no destination). */
export const AsyncConfigBody = Type.Partial(Strict(configFields), { title: 'async configuration' });
export type AsyncConfigBody = Static<typeof AsyncConfigBody>;

export const AsyncConfigView = Strict(configFields);
export type AsyncConfigView = Static<typeof AsyncConfigView>;

const Attempt = Strict({
  version: Nullable(Type.String({ description: 'the version the qualifier chose for this attempt' })),
  node: Type.String(),
  startedAt: Timestamp,
  endedAt: Timestamp,
  errorCode: Type.Optional(Type.String()),
  errorMessage: Type.Optional(Type.String()),
});

export const AsyncInvocationView = Strict({
  requestId: Type.String(),
  functionName: FunctionName,
  qualifier: Type.String(),
  source: Type.String({ description: 'async, timer:<trigger>, queue:<trigger> or destination:<request id>' }),
  status: Enum(ASYNC_STATUSES),
  /** The version of the last attempt. */
  version: Nullable(Type.String()),
  attempts: Type.Array(Attempt),
  payloadBytes: Type.Integer(),
  createdAt: Timestamp,
  /** When it is due, while it is queued. */
  nextAttemptAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  result: Type.Optional(Type.String()),
  error: Type.Optional(Strict({ code: Type.String(), message: Type.String() })),
  destination: Type.Optional(
    Strict({
      target: Type.String(),
      status: Enum(['pending', 'delivered', 'failed'] as const),
      requestId: Type.Optional(Type.String()),
      error: Type.Optional(Type.String()),
    }),
  ),
});
export type AsyncInvocationView = Static<typeof AsyncInvocationView>;

export const AsyncInvocationList = Strict({
  invocations: Type.Array(AsyncInvocationView),
  nextToken: NextToken,
});
export type AsyncInvocationList = Static<typeof AsyncInvocationList>;
