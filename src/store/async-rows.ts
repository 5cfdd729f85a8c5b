import type { AsyncEvent, NewAsyncEvent } from '../core/async-invocation.js';
import type { AsyncStatus } from '../core/async-config.js';
import type { RoutingKey } from '../core/routing-key.js';
import type { AsyncSettle } from './store.js';
import { fromJson, type JsonColumn } from './rows.js';

/** An `async_events` row as both databases return it. */
export interface AsyncEventRow {
  id: string;
  function_name: string;
  qualifier: string;
  source: string;
  payload: Buffer;
  routing_key: JsonColumn<RoutingKey> | null;
  status: string;
  attempts: JsonColumn<AsyncEvent['attempts']>;
  next_at: number;
  created_at: number;
  finished_at: number | null;
  result: string | null;
  error: JsonColumn<NonNullable<AsyncEvent['error']>> | null;
  destination: JsonColumn<NonNullable<AsyncEvent['destination']>> | null;
}

export function toAsyncEvent(row: AsyncEventRow): AsyncEvent {
  return {
    id: row.id,
    functionName: row.function_name,
    qualifier: row.qualifier,
    source: row.source,
    payload: row.payload,
    ...(row.routing_key !== null && { routingKey: fromJson(row.routing_key) }),
    status: row.status as AsyncStatus,
    attempts: fromJson(row.attempts),
    nextAt: row.next_at,
    createdAt: row.created_at,
    ...(row.finished_at !== null && { finishedAt: row.finished_at }),
    ...(row.result !== null && { result: row.result }),
    ...(row.error !== null && { error: fromJson(row.error) }),
    ...(row.destination !== null && { destination: fromJson(row.destination) }),
  };
}

export const ASYNC_INSERT_COLUMNS =
  'id, function_name, qualifier, source, payload, routing_key, status, attempts, next_at, created_at';

/** The values of a new event's row, in ASYNC_INSERT_COLUMNS's order: queued, due at once. */
export function asyncInsertValues(event: NewAsyncEvent): unknown[] {
  return [
    event.id,
    event.functionName,
    event.qualifier,
    event.source,
    event.payload,
    event.routingKey === undefined ? null : JSON.stringify(event.routingKey),
    'queued',
    '[]',
    event.createdAt,
    event.createdAt,
  ];
}

/** The columns a settlement writes, and their values in order (then the id and the node). */
export const ASYNC_SETTLE_COLUMNS = [
  'status',
  'next_at',
  'attempts',
  'result',
  'error',
  'finished_at',
  'destination',
] as const;

export function asyncSettleValues(settle: AsyncSettle, destination: AsyncEvent['destination']): unknown[] {
  const s = settle.settlement;
  return [
    s.status,
    s.nextAt,
    JSON.stringify(s.attempts),
    s.result ?? null,
    s.error ? JSON.stringify(s.error) : null,
    s.finishedAt ?? null,
    destination ? JSON.stringify(destination) : null,
  ];
}

/** Listing pages go newest first: the token holds the last item's creation time and id. */
export const asyncPageKey = (event: AsyncEvent): string => `${event.createdAt}:${event.id}`;

export function parseAsyncPageKey(key: string): [number, string] {
  const at = key.indexOf(':');
  return [Number(key.slice(0, at)), key.slice(at + 1)];
}

export const isAsyncPageKey = (key: string): boolean => /^\d{1,16}:.+$/.test(key);

/** What a function destination whose function has gone records. */
export function destinationGone(
  target: string,
  functionName: string,
): NonNullable<AsyncEvent['destination']> {
  return { target, status: 'failed', error: `function ${functionName} does not exist` };
}
