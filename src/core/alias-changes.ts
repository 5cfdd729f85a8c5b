import {
  type AliasSpec,
  type RollbackTarget,
  assertTargetsExist,
  aliasTargets,
  planRollback,
} from './alias.js';
import { SluiceError } from './errors.js';
import type { AliasAction, AliasHistoryEntry, AliasRecord } from './model.js';
import { DEFAULT_ALIAS, type VersionRef } from './names.js';
import { assertRevision, type ChangeRequest, planSpecDelete, planSpecWrite } from './revisions.js';

/** An alias write may also insist on creating it (refused when it exists). */
export interface AliasChangeRequest extends ChangeRequest {
  createOnly?: boolean;
}

export interface PlannedAliasChange {
  record: AliasRecord;
  entry: AliasHistoryEntry;
  created: boolean;
}

function checkRevision(
  functionName: string,
  alias: string,
  current: AliasRecord | undefined,
  request: AliasChangeRequest,
): void {
  assertRevision('AliasConflict', `alias ${alias} of ${functionName}`, current, request);
}

/**
 * Decides the outcome of writing an alias, given its current state (if any), the highest revision its
 * history holds (deleted incarnations included, so revisions never repeat) and the function's versions.
 */
export function planAliasWrite(
  functionName: string,
  alias: string,
  current: AliasRecord | undefined,
  lastRevision: number,
  spec: AliasSpec,
  versions: ReadonlySet<number>,
  request: AliasChangeRequest,
  action: AliasAction = current ? 'update' : 'create',
): PlannedAliasChange {
  if (request.createOnly && current) {
    throw new SluiceError('AliasAlreadyExists', `alias ${alias} of ${functionName} exists already`);
  }
  checkRevision(functionName, alias, current, request);
  assertTargetsExist(functionName, alias, spec, versions);
  const { record, entry } = planSpecWrite(current, lastRevision, spec, request, action);
  return {
    record: { functionName, name: alias, ...record },
    entry: { functionName, alias, ...entry },
    created: !current,
  };
}

export function planAliasDelete(
  functionName: string,
  alias: string,
  current: AliasRecord | undefined,
  request: AliasChangeRequest,
): AliasHistoryEntry {
  if (alias === DEFAULT_ALIAS) {
    throw new SluiceError(
      'DefaultAliasProtected',
      `the ${DEFAULT_ALIAS} alias of ${functionName} cannot be deleted; repoint it instead`,
    );
  }
  if (!current) throw new SluiceError('AliasNotFound', `function ${functionName} has no alias ${alias}`);
  checkRevision(functionName, alias, current, request);
  return { functionName, alias, ...planSpecDelete(current, request) };
}

/** The aliases that send traffic to a version, which therefore cannot be deleted. */
export function aliasesUsing(version: VersionRef, aliases: readonly AliasRecord[]): string[] {
  return aliases.filter((a) => aliasTargets(a.spec).includes(version)).map((a) => a.name);
}

export function assertVersionUnused(
  functionName: string,
  version: number,
  aliases: readonly AliasRecord[],
): void {
  const users = aliasesUsing(version, aliases);
  if (users.length > 0) {
    throw new SluiceError(
      'VersionInUse',
      `version ${version} of ${functionName} is in use by alias${users.length > 1 ? 'es' : ''} ${users.join(', ')}; repoint ${users.length > 1 ? 'them' : 'it'} first`,
      { aliases: users },
    );
  }
}

/** A rollback is a write of an earlier configuration; a stale revision is refused before the target is sought. */
export function planAliasRollback(
  functionName: string,
  alias: string,
  current: AliasRecord | undefined,
  history: readonly AliasHistoryEntry[],
  target: RollbackTarget,
  versions: ReadonlySet<number>,
  request: AliasChangeRequest,
): PlannedAliasChange {
  if (!current) throw new SluiceError('AliasNotFound', `function ${functionName} has no alias ${alias}`);
  checkRevision(functionName, alias, current, request);
  const spec = planRollback(current, history, target);
  const lastRevision = history.reduce((max, h) => Math.max(max, h.revision), current.revision);
  return planAliasWrite(functionName, alias, current, lastRevision, spec, versions, request, 'rollback');
}
