import { type Static, Type } from '@sinclair/typebox';
import { BROKERS, MAX_QUEUE_CONCURRENCY, TRIGGER_NAME } from '../../core/triggers.js';
import { Enum, Nullable, Strict, Timestamp } from './common.js';
import { FunctionName } from './functions.js';

const TriggerName = Type.String({
  pattern: TRIGGER_NAME.source,
  description: 'must start with a letter and hold only letters, digits, underscores and hyphens (at most 64)',
});

/** One shape for both kinds, so that a field the schema does not know is refused by name; which fields a kind takes is checked beside it. */
const fields = {
  kind: Enum(['timer', 'queue'] as const, {
    description: 'timer: a schedule; queue: a NATS JetStream subscription',
  }),
  qualifier: Type.Optional(
    Type.String({ description: 'the alias (default $DEFAULT), version or LATEST that the trigger invokes' }),
  ),
  enabled: Type.Optional(Type.Boolean({ description: 'a disabled trigger fires nothing (default true)' })),
  description: Type.Optional(Type.String({ maxLength: 256 })),
  schedule: Type.Optional(
    Type.String({
      description:
        'a timer’s: a five-field cron expression in UTC, @every 30s, or @hourly, @daily, @weekly, @monthly',
    }),
  ),
  payload: Type.Optional(
    Type.String({ description: 'a timer’s, given to the handler in the event’s payload' }),
  ),
  broker: Type.Optional(
    Enum(BROKERS, { description: 'a queue’s broker (nats: NATS JetStream, the default)' }),
  ),
  url: Type.Optional(Type.String({ description: 'a queue’s broker address, such as nats://127.0.0.1:4222' })),
  stream: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'a queue’s JetStream stream' }),
  ),
  subject: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'the subjects a queue trigger takes, such as orders.>',
    }),
  ),
  concurrency: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_QUEUE_CONCURRENCY,
      description: 'messages of a queue a node runs at once (default 4)',
    }),
  ),
};

export const TriggerBody = Strict(fields, { title: 'trigger' });
export type TriggerBody = Static<typeof TriggerBody>;

export const CreateTrigger = Strict({ name: TriggerName, ...fields }, { title: 'trigger' });
export type CreateTrigger = Static<typeof CreateTrigger>;

export const TriggerView = Strict({
  functionName: FunctionName,
  name: Type.String(),
  kind: Enum(['timer', 'queue'] as const),
  qualifier: Type.String(),
  enabled: Type.Boolean(),
  description: Type.String(),
  schedule: Type.Optional(Type.String()),
  payload: Type.Optional(Type.String()),
  broker: Type.Optional(Enum(BROKERS)),
  url: Type.Optional(Type.String()),
  stream: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  concurrency: Type.Optional(Type.Integer()),
  /** A timer's latest firing. */
  lastFiredAt: Nullable(Timestamp),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type TriggerView = Static<typeof TriggerView>;

export const TriggerList = Strict({ triggers: Type.Array(TriggerView) });
export type TriggerList = Static<typeof TriggerList>;
