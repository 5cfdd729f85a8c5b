import type { AliasSpec } from '../core/alias.js';
import type { ApiDefinition, StageSpec } from '../core/api-gateway.js';
import { storedConfig, type FunctionConfig } from '../core/function-config.js';
import type {
  AliasHistoryEntry,
  AliasRecord,
  ApiRecord,
  FunctionRecord,
  StageHistoryEntry,
  StageRecord,
  VersionRecord,
} from '../core/model.js';
import type { Revision } from '../core/revisions.js';
import type { Rollout } from '../core/rollout.js';
import type { HttpTrigger } from '../core/trigger.js';
import type { AsyncConfig } from '../core/async-config.js';
import type { IdempotencyRecord, StoredResponse } from './store.js';

/**
 * The rows both stores keep: how they are read into records, and the columns and values of the writes both
 * make alike. The tables are the same in SQLite and PostgreSQL; a JSON column is read differently (see
 * `JsonColumn`) and a statement's placeholders are the store's own (`?` or `$1`).
 */

/** A JSON column as read: the text that was written (SQLite) or its value, parsed by pg (PostgreSQL). */
export type JsonColumn<T> = T | string;

/**
 * A JSON column's value. Every JSON column holds an object, an array or null, never a bare string, so a
 * string is always the text of one.
 */
export function fromJson<T>(column: JsonColumn<T>): T {
  return typeof column === 'string' ? (JSON.parse(column) as T) : column;
}

export interface FunctionRow {
  name: string;
  config_json: JsonColumn<FunctionConfig>;
  trigger_json: JsonColumn<HttpTrigger>;
  async_json: JsonColumn<AsyncConfig> | null;
  code_sha256: string;
  size: number;
  created_at: string;
  updated_at: string;
}

export const toFunction = (r: FunctionRow): FunctionRecord => ({
  name: r.name,
  config: storedConfig(fromJson(r.config_json)),
  trigger: fromJson(r.trigger_json),
  ...(r.async_json !== null && { async: fromJson(r.async_json) }),
  code: { sha256: r.code_sha256, size: r.size },
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface VersionRow {
  function_name: string;
  version: number;
  description: string;
  config_json: JsonColumn<FunctionConfig>;
  code_sha256: string;
  size: number;
  created_at: string;
}

export const toVersion = (r: VersionRow): VersionRecord => ({
  functionName: r.function_name,
  version: r.version,
  description: r.description,
  config: storedConfig(fromJson(r.config_json)),
  code: { sha256: r.code_sha256, size: r.size },
  createdAt: r.created_at,
});

export interface AliasRow {
  function_name: string;
  name: string;
  spec_json: JsonColumn<AliasSpec>;
  revision: number;
  created_at: string;
  updated_at: string;
}

export const toAlias = (r: AliasRow): AliasRecord => ({
  functionName: r.function_name,
  name: r.name,
  spec: fromJson(r.spec_json),
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What a write over an existing alias or stage replaces: everything but its names and creation time. */
const SPEC_REPLACED =
  'spec_json = excluded.spec_json, revision = excluded.revision, updated_at = excluded.updated_at';

/** The aliases table's columns, in the order of `aliasValues`. */
export const ALIAS_COLUMNS = 'function_name, name, spec_json, revision, created_at, updated_at';

/** Follows an alias's INSERT, to write it over the one there is. */
export const ALIAS_UPSERT = `ON CONFLICT (function_name, name) DO UPDATE SET ${SPEC_REPLACED}`;

export const aliasValues = (r: AliasRecord): unknown[] => [
  r.functionName,
  r.name,
  JSON.stringify(r.spec),
  r.revision,
  r.createdAt,
  r.updatedAt,
];

export interface ApiRow {
  name: string;
  definition_json: JsonColumn<ApiDefinition>;
  created_at: string;
  updated_at: string;
}

export const toApi = (r: ApiRow): ApiRecord => ({
  name: r.name,
  definition: fromJson(r.definition_json),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface StageRow {
  api: string;
  name: string;
  spec_json: JsonColumn<StageSpec>;
  revision: number;
  created_at: string;
  updated_at: string;
}

export const toStage = (r: StageRow): StageRecord => ({
  api: r.api,
  name: r.name,
  spec: fromJson(r.spec_json),
  revision: r.revision,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The stages table's columns, in the order of `stageValues`. */
export const STAGE_COLUMNS = 'api, name, spec_json, revision, created_at, updated_at';

/** Follows a stage's INSERT, to write it over the one there is. */
export const STAGE_UPSERT = `ON CONFLICT (api, name) DO UPDATE SET ${SPEC_REPLACED}`;

export const stageValues = (r: StageRecord): unknown[] => [
  r.api,
  r.name,
  JSON.stringify(r.spec),
  r.revision,
  r.createdAt,
  r.updatedAt,
];

/** The rollouts table's columns, in the order of `rolloutValues`: the whole rollout is its state. */
export const ROLLOUT_COLUMNS = 'id, function_name, alias, status, state_json, created_at, updated_at';

export const rolloutValues = (r: Rollout): unknown[] => [
  r.id,
  r.functionName,
  r.alias,
  r.status,
  JSON.stringify(r),
  r.createdAt,
  r.updatedAt,
];

/** The columns of a history table after the two that name what changed, in the order of `revisionValues`. */
const REVISION_COLUMNS = 'revision, action, actor, at, before_json, after_json';

/** What a history row holds besides the names of what changed: the same in alias and stage history. */
interface RevisionRow<S, A extends string> {
  revision: number;
  action: A;
  actor: string;
  at: string;
  before_json: JsonColumn<S | null>;
  after_json: JsonColumn<S | null>;
}

const toRevision = <S, A extends string>(r: RevisionRow<S, A>): Revision<S, A> => ({
  revision: r.revision,
  action: r.action,
  actor: r.actor,
  at: r.at,
  before: fromJson(r.before_json),
  after: fromJson(r.after_json),
});

const revisionValues = <S, A extends string>(e: Revision<S, A>): unknown[] => [
  e.revision,
  e.action,
  e.actor,
  e.at,
  e.before && JSON.stringify(e.before),
  e.after && JSON.stringify(e.after),
];

export interface AliasHistoryRow extends RevisionRow<AliasSpec, AliasHistoryEntry['action']> {
  function_name: string;
  alias: string;
}

export const toAliasHistory = (r: AliasHistoryRow): AliasHistoryEntry => ({
  functionName: r.function_name,
  alias: r.alias,
  ...toRevision(r),
});

/** The alias_history table's columns, in the order of `aliasHistoryValues`. */
export const ALIAS_HISTORY_COLUMNS = `function_name, alias, ${REVISION_COLUMNS}`;

export const aliasHistoryValues = (e: AliasHistoryEntry): unknown[] => [
  e.functionName,
  e.alias,
  ...revisionValues(e),
];

export interface StageHistoryRow extends RevisionRow<StageSpec, StageHistoryEntry['action']> {
  api: string;
  stage: string;
}

export const toStageHistory = (r: StageHistoryRow): StageHistoryEntry => ({
  api: r.api,
  stage: r.stage,
  ...toRevision(r),
});

/** The stage_history table's columns, in the order of `stageHistoryValues`. */
export const STAGE_HISTORY_COLUMNS = `api, stage, ${REVISION_COLUMNS}`;

export const stageHistoryValues = (e: StageHistoryEntry): unknown[] => [e.api, e.stage, ...revisionValues(e)];

export interface IdempotencyRow {
  fingerprint: string;
  response: JsonColumn<StoredResponse> | null;
  created_at: number;
}

export const fromIdempotencyRow = (r: IdempotencyRow): IdempotencyRecord => ({
  fingerprint: r.fingerprint,
  ...(r.response === null ? {} : { response: fromJson(r.response) }),
  createdAt: r.created_at,
});
