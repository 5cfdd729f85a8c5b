import { type ErrorCode, SluiceError } from './errors.js';

/**
 * Aliases and stages are written the same way: each write or delete takes the next revision, and a history
 * entry records who made it, when, and the configuration before and after. These are the steps they share.
 */

/** Who writes, when, and (optionally) the revision the writer last read, refused when it is no longer current. */
export interface ChangeRequest {
  actor: string;
  now: string;
  expectedRevision?: number;
}

/** What an alias or stage record holds besides its names. */
export interface Revisioned<S> {
  spec: S;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

/** What a history entry holds besides the names of what changed. */
export interface Revision<S, A extends string> {
  revision: number;
  action: A;
  actor: string;
  at: string;
  before: S | null;
  after: S | null;
}

/** Refuses a request that expects a revision `what` is not at (or expects one of something that does not exist). */
export function assertRevision(
  conflict: ErrorCode,
  what: string,
  current: Revisioned<unknown> | undefined,
  request: ChangeRequest,
): void {
  if (request.expectedRevision === undefined) return;
  if (!current || current.revision !== request.expectedRevision) {
    throw new SluiceError(
      conflict,
      `${what} is at revision ${current ? current.revision : 'none (it does not exist)'}, not ${request.expectedRevision}; read it again and retry`,
      { currentRevision: current?.revision ?? null },
    );
  }
}

/**
 * Writing `spec` over `current`: the revision after `lastRevision`, the highest the history holds (deleted
 * incarnations included, so that revisions never repeat); the creation time kept from `current`.
 */
export function planSpecWrite<S, A extends string>(
  current: Revisioned<S> | undefined,
  lastRevision: number,
  spec: S,
  request: ChangeRequest,
  action: A,
): { record: Revisioned<S>; entry: Revision<S, A> } {
  const revision = lastRevision + 1;
  return {
    record: { spec, revision, createdAt: current?.createdAt ?? request.now, updatedAt: request.now },
    entry: {
      revision,
      action,
      actor: request.actor,
      at: request.now,
      before: current?.spec ?? null,
      after: spec,
    },
  };
}

/** Deleting `current`: its history's entry, at the revision after its own. */
export function planSpecDelete<S>(current: Revisioned<S>, request: ChangeRequest): Revision<S, 'delete'> {
  return {
    revision: current.revision + 1,
    action: 'delete',
    actor: request.actor,
    at: request.now,
    before: current.spec,
    after: null,
  };
}
