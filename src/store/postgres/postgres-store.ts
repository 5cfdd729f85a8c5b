import { assertNoActiveRollout, assertNotInRollout, rolloutChanged } from '../../core/rollout-changes.js';
import type { Rollout } from '../../core/rollout.js';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { QUEUED_CHANNEL } from './change-feed.js';
import type { AliasSpec, RollbackTarget } from '../../core/alias.js';
import { backoffDelay, type Backoff } from '../../core/backoff.js';
import { type ApiDefinition, type Binding, type StageSpec, stageBindings } from '../../core/api-gateway.js';
import {
  assertVersionUnused,
  planAliasDelete,
  planAliasRollback,
  planAliasWrite,
} from '../../core/alias-changes.js';
import { SluiceError, isSluiceError } from '../../core/errors.js';
import type { FunctionConfig } from '../../core/function-config.js';
import type { InvocationLog, LogFilter, MetricRow } from '../../core/telemetry.js';
import type { HttpTrigger } from '../../core/trigger.js';
import type { AsyncEvent, NewAsyncEvent } from '../../core/async-invocation.js';
import type { AsyncConfig, AsyncStatus } from '../../core/async-config.js';
import {
  ASYNC_SETTLE_COLUMNS,
  type AsyncEventRow,
  asyncInsertValues,
  asyncPageKey,
  asyncSettleValues,
  destinationGone,
  isAsyncPageKey,
  parseAsyncPageKey,
  toAsyncEvent,
} from '../async-rows.js';
import type {
  AliasHistoryEntry,
  AliasRecord,
  ApiRecord,
  FunctionRecord,
  NodeBeat,
  Page,
  ProvisionedRecord,
  StageHistoryEntry,
  StageRecord,
  VersionRecord,
} from '../../core/model.js';
import { DEFAULT_ALIAS, LATEST, parseQualifier } from '../../core/names.js';
import {
  assertNotBound,
  assertRoutesKept,
  type BindingCheck,
  planStageDelete,
  planStageWrite,
} from '../../core/stage-changes.js';
import { planPublish } from '../../core/versions.js';
import type { ProvisionedSpec } from '../../core/provisioned.js';
import { assertNoTrigger, type TriggerRecord, type TriggerSpec } from '../../core/triggers.js';
import { toTrigger, triggerExists, triggerNotFound, type TriggerRow } from '../trigger-rows.js';
import {
  type ProvisionedRow,
  provisionedNotFound,
  qualifierMissing,
  ratioColumn,
  toNodeBeat,
  toProvisioned,
} from '../provisioned-rows.js';
import {
  type AccessKeyRow,
  credentialColumns,
  toAccessKey,
  toToken,
  type TokenRow,
} from '../credential-rows.js';
import { decodePageToken, isVersionKey, pageOf } from '../paging.js';
import type {
  AliasWrite,
  AsyncSettle,
  Change,
  CodeBlob,
  FunctionState,
  IdempotencyClaim,
  IdempotencyRecord,
  ListOptions,
  VersionListOptions,
  StageWrite,
  Store,
  StoredResponse,
  TokenRecord,
  AccessKeyRecord,
} from '../store.js';
import { migrations } from './migrations.js';
import { FUNCTION_SELECT, SQL as SHARED, VERSION_SELECT } from '../statements.js';
import { numberedAll } from './numbered.js';
import {
  fromIdempotencyRow,
  type IdempotencyRow,
  aliasHistoryValues,
  type AliasRow,
  aliasValues,
  type FunctionRow,
  rolloutValues,
  type StageHistoryRow,
  stageHistoryValues,
  stageValues,
  toAlias,
  toAliasHistory,
  toApi,
  toFunction,
  toStage,
  toStageHistory,
  toVersion,
  type VersionRow,
} from '../rows.js';
import {
  LOG_RUN_COLUMNS,
  type LogRunRow,
  logRunValues,
  queryLogRuns,
  RUN_RECORDS,
  runNeedles,
  toLogRuns,
} from '../log-runs.js';
import { METRIC_COLUMNS, metricValues, toMetricRow } from '../metric-columns.js';

export interface PostgresStoreOptions {
  /** Keep every table in this schema (created if missing) instead of the connection's default one. */
  schema?: string;
  /** Told about errors of idle pooled connections (a terminated backend, a restart); the pool replaces them. */
  onError?: (error: Error) => void;
}

/** The schemas a store accepts: plain lower-case identifiers, which need no quoting anywhere. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** First key of the advisory lock that serialises migrations (second key: a hash of the schema). */
const MIGRATION_LOCK = 0x51ce;

/** `integer` columns hold versions and revisions: a number beyond it names nothing stored. */
const INT4_MAX = 2_147_483_647;

/** How often a transaction that lost a race (deadlock, a row taken under it) is run again before giving up. */
const MAX_ATTEMPTS = 8;

/** How often one whose connection failed before COMMIT is tried: each try may wait for the connect timeout. */
const MAX_CONNECTION_ATTEMPTS = 3;

/** How long a node keeps asking whether a transaction whose COMMIT lost its connection was committed. */
const COMMIT_OUTCOME_MS = 10_000;

/** A raw database error, as pg reports it (`code` is the SQLSTATE). */
interface PgError extends Error {
  code?: string;
}

/** What reads and writes run queries on: the pool (one statement each) or a client inside a transaction. */
interface Db {
  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>>;
}

/** The first row a query answers, as a record; undefined when it answers none. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the mapper names the row it reads
async function oneOf<R extends pg.QueryResultRow, T>(
  db: Db,
  toRecord: (row: R) => T,
  text: string,
  values?: unknown[],
): Promise<T | undefined> {
  const row = (await db.query<R>(text, values)).rows[0];
  return row && toRecord(row);
}

/** Every row a query answers, as records. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the mapper names the row it reads
async function allOf<R extends pg.QueryResultRow, T>(
  db: Db,
  toRecord: (row: R) => T,
  text: string,
  values?: unknown[],
): Promise<T[]> {
  return (await db.query<R>(text, values)).rows.map(toRecord);
}

const ceil = (n: number | undefined): number | undefined => (n === undefined ? undefined : Math.ceil(n));

/**
 * `bigint` columns (epoch times, log ids, counts) come back as numbers, not pg's default strings: every one
 * of them is far below 2^53. Set on this store's pool only, not on pg globally.
 */
/** The statements both stores run, with PostgreSQL's placeholders. */
const SQL = numberedAll(SHARED);

const TYPES = new pg.TypeOverrides();
TYPES.setTypeParser(pg.types.builtins.INT8, Number);

/** A function with its versions and aliases as JSON arrays of their rows. */
const FUNCTION_STATE_SELECT = `SELECT f.*, b.size,
  (SELECT coalesce(json_agg(x ORDER BY x.version), '[]') FROM (${VERSION_SELECT} WHERE v.function_name = f.name) x) AS versions,
  (SELECT coalesce(json_agg(a ORDER BY a.name), '[]') FROM aliases a WHERE a.function_name = f.name) AS aliases
  FROM functions f JOIN code_blobs b ON b.sha256 = f.code_sha256`;

function functionNotFound(name: string): SluiceError {
  return new SluiceError('FunctionNotFound', `function ${name} does not exist`);
}

/** A version number that can be stored: others name no version, and need not reach the database. */
const storable = (version: number): boolean =>
  Number.isInteger(version) && version >= 1 && version <= INT4_MAX;

const sqlState = (error: unknown): string | undefined => {
  const code = (error as PgError | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
};

/** The connection broke or never formed: nothing the statement asked for can have been committed by it. */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const state = sqlState(error);
  if (state !== undefined) return state.startsWith('08') || ['57P01', '57P02', '57P03'].includes(state);
  const code = (error as PgError).code;
  return (
    (code !== undefined &&
      ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND'].includes(code)) ||
    /Connection terminated|not queryable|timeout exceeded when trying to connect/i.test(error.message)
  );
}

/**
 * A race another transaction won, which running the whole transaction again resolves (the rerun reads the new
 * state and decides anew, e.g. the next version number, or AliasConflict): a deadlock, a serialization
 * failure, or a key or reference that changed between a read and a write. The per-function row lock makes
 * the last two unexpected; they are retried rather than reported as they are.
 */
function isRaceLost(error: unknown): boolean {
  const state = sqlState(error);
  return state === '40001' || state === '40P01' || state === '23503' || state === '23505';
}

/** Never a raw pg error to the caller: a SluiceError that says what failed, with the original as its cause. */
function storeError(error: unknown, what: string): SluiceError {
  if (isSluiceError(error)) return error;
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  const failure = isConnectionError(error)
    ? new SluiceError('InternalError', `the PostgreSQL store is unreachable (${what}): ${message}`)
    : new SluiceError(
        'InternalError',
        `the PostgreSQL store failed (${what}${state ? `, SQLSTATE ${state}` : ''}): ${message}`,
      );
  failure.cause = error;
  return failure;
}

/** See the pool's 'connect' listener in `PostgresStore.open`. */
const ignoreError = (): void => undefined;

/** 2–10 ms before the first retry, doubling to at most 64–320 ms: a lost race rarely loses twice. */
const RETRY: Backoff = { firstMs: 6, maxMs: 192, jitter: 2 / 3 };

const backoff = (attempt: number): Promise<void> => sleep(backoffDelay(RETRY, attempt - 1));

async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query('ROLLBACK');
    return undefined;
  } catch (error) {
    // The connection is unusable: have the pool discard it rather than hand it out again.
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Brings the schema up to date, or refuses one newer than this code. Runs in one transaction under an
 * advisory lock, so that nodes starting together migrate once: the others wait, then find nothing to do.
 */
async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK, schema ?? '']);
    if (schema !== undefined) {
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${pg.escapeIdentifier(schema)}`);
      const current = await client.query<{ s: string | null }>('SELECT current_schema() AS s');
      const found = current.rows[0]?.s ?? null;
      if (found !== schema) {
        throw new Error(
          `connections use schema ${String(found)}, not ${schema}: does the URL set options or search_path?`,
        );
      }
    }
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
    );
    const row = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
    const applied = row.rows[0]?.v ?? 0;
    if (applied > migrations.length) {
      throw new Error(
        `the database schema (version ${applied}) is newer than this Sluice (${migrations.length})`,
      );
    }
    for (const [i, sql] of migrations.slice(applied).entries()) {
      await client.query(sql);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [applied + i + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    broken = await rollback(client);
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * The shared store for several nodes: PostgreSQL through a connection pool.
 *
 * Every write runs in one READ COMMITTED transaction that first locks the row of the function it changes
 * (`SELECT … FOR UPDATE`). That row is the per-function mutex across all nodes: publishes, alias writes,
 * version deletes and updates of one function run one after another, and each, having waited, reads what the
 * previous one committed — so the version counter and alias revisions are read and bumped without races,
 * and the pure core decides on current data. Writers of different functions never wait for each other.
 * SERIALIZABLE would also be correct but would turn every such collision into an abort and a rerun; the lock
 * makes them queue instead. Code blobs, shared between functions, take their own row locks (see `useBlob`
 * and `collectBlobs`). A transaction that still loses a race (a deadlock between two blob collections) is
 * run again; any other database failure is reported as an InternalError, never as a raw pg error.
 */
export class PostgresStore implements Store {
  private readonly pool: pg.Pool;
  /** Carried by the notices of queued invocations: nodes of other schemas in the database ignore them. */
  private readonly schema: string;
  private retries = 0;

  private constructor(pool: pg.Pool, schema: string | undefined) {
    this.pool = pool;
    this.schema = schema ?? '';
  }

  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const { schema, onError } = options;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
      throw new SluiceError(
        'InvalidArgument',
        `schema ${JSON.stringify(schema)} must be a lower-case identifier: letters a-z, digits and underscores`,
      );
    }
    const pool = new pg.Pool({
      connectionString: url,
      fallback_application_name: 'sluice',
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      types: TYPES,
      // JIT compiling pays off for long analytic queries, never for these short ones; yet a statement whose
      // estimate is high (over many rows, or tables not yet analyzed) was compiled for a second or more, each
      // time: a full reload of the routing table spent most of its time there.
      options: `-c jit=off${schema === undefined ? '' : ` -c search_path=${schema}`}`,
    });
    // An idle pooled connection that breaks (backend terminated, server restarted) is dropped by the pool;
    // without a listener its error would end the process.
    pool.on('error', (error) => onError?.(error));
    // The pool takes its listener off a connection as it hands it out, and a checked-out client that breaks
    // between queries emits 'error' with none: which ends the process (seen when a backend was terminated
    // right as it connected, the FATAL read with its readyForQuery). Every connection keeps this one for
    // life; a broken one fails its pending queries, which report it, and is not returned to the pool.
    pool.on('connect', (client) => {
      client.on('error', ignoreError);
    });
    try {
      await migrate(pool, schema);
    } catch (error) {
      await pool.end();
      // The refusals of `migrate` itself (a newer schema, a wrong search_path) are plain Errors, as SQLite's.
      if (sqlState(error) !== undefined || isConnectionError(error))
        throw storeError(error, 'opening the store');
      throw error;
    }
    return new PostgresStore(pool, schema);
  }

  /**
   * Runs `fn` on the pool; a read that failed only because a connection broke is tried again (up to
   * MAX_CONNECTION_ATTEMPTS, and once more for each idle connection): when the server ends every connection,
   * the pool may hand out several dead ones before it hears of their end.
   */
  private async read<T>(what: string, fn: (db: Db) => Promise<T>): Promise<T> {
    let attempts = MAX_CONNECTION_ATTEMPTS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn(this.pool);
      } catch (error) {
        if (isSluiceError(error)) throw error;
        // The idle connections are as likely dead as the one that failed: each gets its try, and is dropped.
        if (attempt === 1) attempts += this.pool.idleCount;
        if (attempt >= attempts || !isConnectionError(error)) throw storeError(error, what);
        this.retries++;
        await backoff(attempt);
      }
    }
  }

  /**
   * Runs `fn` in one transaction, and again (up to MAX_ATTEMPTS) when it lost a race or its connection broke
   * before COMMIT was sent; `fn` must therefore only read and write through `db`. A connection lost during
   * COMMIT leaves the outcome unknown, which is reported rather than guessed.
   */
  private async write<T>(what: string, fn: (db: pg.PoolClient) => Promise<T>): Promise<T> {
    let connectionAttempts: number | undefined;
    for (let attempt = 1; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (error) {
        if (attempt < MAX_CONNECTION_ATTEMPTS && isConnectionError(error)) {
          this.retries++;
          await backoff(attempt);
          continue;
        }
        throw storeError(error, what);
      }
      let committing: string | undefined;
      let broken: Error | undefined;
      let result: T | undefined;
      try {
        await client.query('BEGIN');
        result = await fn(client);
        const xid = await client.query<{ xid: string }>('SELECT txid_current()::text AS xid');
        committing = xid.rows[0]?.xid;
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (committing !== undefined && (sqlState(error) === undefined || isConnectionError(error))) {
          broken = error instanceof Error ? error : new Error(String(error));
          // The server may have committed before the connection broke: ask it, rather than answer a failure
          // for a change that was saved (a caller would retry it) or success for one that was not.
          const outcome = await this.commitOutcome(committing);
          if (outcome === 'committed') return result as T;
          if (outcome === 'aborted' && attempt < MAX_CONNECTION_ATTEMPTS) {
            this.retries++;
            await backoff(attempt);
            continue;
          }
          throw storeError(
            error,
            outcome === 'aborted'
              ? `${what}: the connection broke during COMMIT, and the change was not saved`
              : `${what}: the connection broke during COMMIT, the change may or may not be saved`,
          );
        }
        // A COMMIT the server refused rolled back; otherwise roll back what ran.
        if (!committing) broken = await rollback(client);
        if (isSluiceError(error)) throw error;
        if (isConnectionError(error)) broken ??= error as Error;
        // As in `read`: each idle connection, likely as dead as this one, gets its try.
        if (isConnectionError(error)) connectionAttempts ??= MAX_CONNECTION_ATTEMPTS + this.pool.idleCount;
        const again = isConnectionError(error)
          ? attempt < (connectionAttempts ?? MAX_CONNECTION_ATTEMPTS)
          : isRaceLost(error) && attempt < MAX_ATTEMPTS;
        if (again) {
          this.retries++;
          await backoff(attempt);
          continue;
        }
        throw storeError(error, what);
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * Whether the transaction `xid` committed, asked on another connection: the server keeps every recent
   * transaction's status (`txid_status`). One still in progress is a backend that has not yet noticed its
   * client is gone, or is writing its commit record: it is asked again until it ends, for at most a few seconds.
   */
  private async commitOutcome(xid: string): Promise<'committed' | 'aborted' | 'unknown'> {
    const deadline = Date.now() + COMMIT_OUTCOME_MS;
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      try {
        const found = await this.pool.query<{ status: string | null }>(
          'SELECT txid_status($1::bigint) AS status',
          [xid],
        );
        const status = found.rows[0]?.status;
        if (status === 'committed' || status === 'aborted') return status;
        if (status !== 'in progress') return 'unknown';
      } catch (error) {
        if (!isConnectionError(error)) return 'unknown';
      }
      await backoff(Math.min(attempt, 3));
    }
    return 'unknown';
  }

  /** How many transactions were run again after losing a race or a connection (tests watch it; so may health). */
  get transactionsRetried(): number {
    return this.retries;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  countTokens(): Promise<number> {
    return this.read('counting tokens', async (db) => {
      const result = await db.query<{ n: number }>('SELECT COUNT(*)::int AS n FROM api_tokens');
      return result.rows[0]?.n ?? 0;
    });
  }

  createFirstToken(token: Omit<TokenRecord, 'scope' | 'functionPrefix'>): Promise<boolean> {
    return this.write('creating the first token', async (db) => {
      // Two nodes starting on an empty database would otherwise both find no token and both create one.
      await db.query('LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE');
      const result = await db.query(SQL.tokens.insertFirst, [
        token.id,
        token.name,
        token.sha256,
        token.createdAt,
      ]);
      return result.rowCount === 1;
    });
  }

  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
    return this.write('claiming an idempotency key', async (db) => {
      await db.query(SQL.idempotency.prune, [claim.expiredBefore]);
      await db.query(SQL.idempotency.deleteAbandoned, [claim.scope, claim.key, claim.abandonedBefore]);
      const inserted = await db.query(SQL.idempotency.claim, [
        claim.scope,
        claim.key,
        claim.fingerprint,
        claim.now,
      ]);
      if (inserted.rowCount === 1) return undefined;
      const found = await db.query<IdempotencyRow>(SQL.idempotency.byKey, [claim.scope, claim.key]);
      return fromIdempotencyRow(found.rows[0] as IdempotencyRow);
    });
  }

  async settleIdempotencyKey(
    scope: string,
    key: string,
    response: StoredResponse | undefined,
  ): Promise<void> {
    await this.write('settling an idempotency key', (db) =>
      response === undefined
        ? db.query(SQL.idempotency.delete, [scope, key])
        : db.query(SQL.idempotency.answer, [JSON.stringify(response), scope, key]),
    );
  }

  claimNonce(accessKeyId: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    return this.write('recording a signature nonce', async (db) => {
      await db.query(SQL.nonces.prune, [now]);
      const inserted = await db.query(SQL.nonces.claim, [accessKeyId, nonce, expiresAt]);
      return inserted.rowCount === 1;
    });
  }

  findTokenByHash(sha256: string): Promise<TokenRecord | undefined> {
    return this.read('finding a token', async (db) => {
      return oneOf(db, toToken, SQL.tokens.byHash, [sha256]);
    });
  }

  async createToken(token: TokenRecord): Promise<void> {
    await this.write(`creating token ${token.name}`, async (db) => {
      // A node creating the same name at once: its row makes ours conflict, and the rerun finds it.
      if ((await db.query(SQL.tokens.named, [token.name])).rowCount)
        throw new SluiceError('CredentialAlreadyExists', `a token named ${token.name} exists already`);
      await db.query(SQL.tokens.insert, [...credentialColumns(token), token.sha256]);
    });
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.read('listing tokens', async (db) => {
      return allOf(db, toToken, SQL.tokens.all);
    });
  }

  async deleteToken(id: string): Promise<void> {
    await this.write(`revoking token ${id}`, async (db) => {
      // Two admins revoking each other's token at once would otherwise both see the other's still there.
      await db.query('LOCK TABLE api_tokens IN SHARE ROW EXCLUSIVE MODE');
      const row = (await db.query<TokenRow>(SQL.tokens.byId, [id])).rows[0];
      if (!row) throw new SluiceError('CredentialNotFound', `no token has id ${id}`);
      const admins = await db.query<{ n: number }>(
        "SELECT COUNT(*)::int AS n FROM api_tokens WHERE scope = 'admin'",
      );
      if (row.scope === 'admin' && admins.rows[0]?.n === 1)
        throw new SluiceError(
          'LastAdminToken',
          `token ${row.name} is the last with admin scope: create another admin token before revoking it`,
        );
      await db.query(SQL.tokens.delete, [id]);
    });
  }

  async createAccessKey(key: AccessKeyRecord): Promise<void> {
    await this.write(`creating access key ${key.name}`, async (db) => {
      if ((await db.query(SQL.accessKeys.named, [key.name])).rowCount)
        throw new SluiceError('CredentialAlreadyExists', `an access key named ${key.name} exists already`);
      await db.query(SQL.accessKeys.insert, [...credentialColumns(key), key.sealedSecret]);
    });
  }

  getAccessKey(id: string): Promise<AccessKeyRecord | undefined> {
    return this.read('finding an access key', async (db) => {
      const row = (await db.query<AccessKeyRow>(SQL.accessKeys.byId, [id])).rows[0];
      return row && toAccessKey(row);
    });
  }

  listAccessKeys(): Promise<AccessKeyRecord[]> {
    return this.read('listing access keys', async (db) => {
      return allOf(db, toAccessKey, SQL.accessKeys.all);
    });
  }

  async deleteAccessKey(id: string): Promise<void> {
    await this.write(`deleting access key ${id}`, async (db) => {
      if ((await db.query(SQL.accessKeys.delete, [id])).rowCount === 0)
        throw new SluiceError('CredentialNotFound', `no access key has id ${id}`);
    });
  }

  resealAccessKey(id: string, expected: string, sealedSecret: string): Promise<boolean> {
    return this.write(`resealing access key ${id}`, async (db) => {
      const result = await db.query(SQL.accessKeys.reseal, [sealedSecret, id, expected]);
      return result.rowCount === 1;
    });
  }

  getCode(sha256: string): Promise<Buffer | undefined> {
    return this.read('reading code', async (db) => {
      const result = await db.query<{ zip: Buffer }>(SQL.codeBlobs.zip, [sha256]);
      return result.rows[0]?.zip;
    });
  }

  /**
   * Makes the blob present and keeps it so until this transaction ends: a `KEY SHARE` lock on its row, which
   * a concurrent `collectBlobs` (which locks `FOR UPDATE` before it looks for users) waits for. If a
   * collection removed the row while we waited, the blob is stored anew.
   */
  private async useBlob(db: Db, code: CodeBlob): Promise<void> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const held = await db.query('SELECT 1 FROM code_blobs WHERE sha256 = $1 FOR KEY SHARE', [code.sha256]);
      if (held.rowCount) return;
      const inserted = await db.query(
        'INSERT INTO code_blobs (sha256, size, zip) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING',
        [code.sha256, code.size, code.zip],
      );
      if (inserted.rowCount) return;
    }
    throw Object.assign(new Error(`code ${code.sha256} kept vanishing`), { code: '40001' });
  }

  /**
   * Drops blobs that no function and no version refers to any more. The rows are locked first (in one
   * order), then users are sought by a later statement: under READ COMMITTED it sees every reference
   * committed by a transaction that held the blob, and one that has yet to take it will wait for us.
   */
  private async collectBlobs(db: Db, candidates: readonly string[]): Promise<void> {
    const shas = [...new Set(candidates)].sort();
    if (shas.length === 0) return;
    await db.query('SELECT 1 FROM code_blobs WHERE sha256 = ANY($1) ORDER BY sha256 FOR UPDATE', [shas]);
    await db.query(
      `DELETE FROM code_blobs b WHERE b.sha256 = ANY($1)
       AND NOT EXISTS (SELECT 1 FROM functions WHERE code_sha256 = b.sha256)
       AND NOT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = b.sha256)`,
      [shas],
    );
  }

  private async functionRow(db: Db, name: string): Promise<FunctionRecord | undefined> {
    return oneOf(db, toFunction, SQL.functions.byName, [name]);
  }

  private async requireFunction(db: Db, name: string): Promise<FunctionRecord> {
    const fn = await this.functionRow(db, name);
    if (!fn) throw functionNotFound(name);
    return fn;
  }

  /**
   * Takes the function's row lock, which every write to the function holds until it commits, then reads the
   * function. `FOR NO KEY UPDATE` for changes, which queue one after another; `FOR UPDATE` for those that
   * delete something a stage may bind (the function, a version, an alias), which also wait for, and make
   * wait, a stage write that checks its bindings under `FOR KEY SHARE` (see `putStage`). Two statements on
   * purpose: under READ COMMITTED a lock that waited re-checks only the locked row, so joined with its (old)
   * code blob it would miss a row whose code the previous holder changed.
   */
  private async lockFunction(
    db: Db,
    name: string,
    mode: 'FOR NO KEY UPDATE' | 'FOR UPDATE' = 'FOR NO KEY UPDATE',
  ): Promise<FunctionRecord> {
    const locked = await db.query(`SELECT 1 FROM functions WHERE name = $1 ${mode}`, [name]);
    if (locked.rowCount === 0) throw functionNotFound(name);
    return this.requireFunction(db, name);
  }

  createFunction(
    name: string,
    config: FunctionConfig,
    code: CodeBlob,
    change: Change,
  ): Promise<FunctionRecord> {
    return this.write(`creating function ${name}`, async (db) => {
      if (await this.functionRow(db, name))
        throw new SluiceError('FunctionAlreadyExists', `function ${name} exists already`);
      await this.useBlob(db, code);
      // A node creating the same name at the same moment: its row makes ours conflict once it commits.
      const inserted = await db.query(
        `INSERT INTO functions (name, config_json, code_sha256, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO NOTHING`,
        [name, JSON.stringify(config), code.sha256, change.now, change.now],
      );
      if (inserted.rowCount === 0)
        throw new SluiceError('FunctionAlreadyExists', `function ${name} exists already`);
      const plan = planAliasWrite(
        name,
        DEFAULT_ALIAS,
        undefined,
        0,
        { version: LATEST, description: '' },
        new Set(),
        change,
      );
      await this.saveAlias(db, plan.record, plan.entry);
      return this.requireFunction(db, name);
    });
  }

  getFunction(name: string): Promise<FunctionRecord | undefined> {
    return this.read(`reading function ${name}`, (db) => this.functionRow(db, name));
  }

  listFunctions(options: ListOptions & { prefix?: string }): Promise<Page<FunctionRecord>> {
    return this.read('listing functions', async (db) => {
      const after = decodePageToken(options.nextToken) ?? '';
      const prefix = options.prefix ?? '';
      const result = await db.query<FunctionRow>(
        `${FUNCTION_SELECT} WHERE f.name > $1 AND left(f.name, length($2)) = $2 ORDER BY f.name LIMIT $3`,
        [after, prefix, options.limit + 1],
      );
      return pageOf(result.rows.map(toFunction), options.limit, (f) => f.name);
    });
  }

  listFunctionNames(options: { after?: string; limit: number }): Promise<string[]> {
    return this.read('listing function names', async (db) => {
      const result = await db.query<{ name: string }>(SQL.functions.namesAfter, [
        options.after ?? '',
        options.limit,
      ]);
      return result.rows.map((r) => r.name);
    });
  }

  getFunctionStates(names: readonly string[]): Promise<Map<string, FunctionState>> {
    // One statement, so that a function's versions and aliases are read in the same snapshot as it is.
    return this.read(`reading ${names.length} functions`, async (db) => {
      const result = await db.query<FunctionRow & { versions: VersionRow[]; aliases: AliasRow[] }>(
        `${FUNCTION_STATE_SELECT} WHERE f.name = ANY($1)`,
        [names],
      );
      return new Map(
        result.rows.map((row) => [
          row.name,
          { fn: toFunction(row), versions: row.versions.map(toVersion), aliases: row.aliases.map(toAlias) },
        ]),
      );
    });
  }

  updateFunction(
    name: string,
    update: { config?: FunctionConfig; code?: CodeBlob; trigger?: HttpTrigger; async?: AsyncConfig },
    change: Change,
  ): Promise<FunctionRecord> {
    return this.write(`updating function ${name}`, async (db) => {
      const current = await this.lockFunction(db, name);
      if (update.code) await this.useBlob(db, update.code);
      const asyncConfig = update.async ?? current.async;
      await db.query(SQL.functions.update, [
        JSON.stringify(update.config ?? current.config),
        update.code?.sha256 ?? current.code.sha256,
        JSON.stringify(update.trigger ?? current.trigger),
        asyncConfig === undefined ? null : JSON.stringify(asyncConfig),
        change.now,
        name,
      ]);
      await this.collectBlobs(db, [current.code.sha256]);
      return this.requireFunction(db, name);
    });
  }

  deleteFunction(name: string): Promise<void> {
    return this.write(`deleting function ${name}`, async (db) => {
      const current = await this.lockFunction(db, name, 'FOR UPDATE');
      assertNotBound(await this.stageRows(db), name);
      const versions = await db.query<{ code_sha256: string }>(SQL.versions.codeOfFunction, [name]);
      // Versions, aliases and alias history go with the row (ON DELETE CASCADE); the version counter stays.
      await db.query(SQL.functions.delete, [name]);
      await db.query(SQL.metrics.ofFunctionDelete, [name]);
      await db.query(SQL.logRuns.ofFunctionDelete, [name]);
      await this.collectBlobs(db, [current.code.sha256, ...versions.rows.map((r) => r.code_sha256)]);
    });
  }

  publishVersion(name: string, description: string, change: Change): Promise<VersionRecord> {
    return this.write(`publishing a version of ${name}`, async (db) => {
      const latest = await this.lockFunction(db, name);
      const last = await db.query<VersionRow>(SQL.versions.last, [name]);
      const counter = await db.query<{ last_version: number }>(SQL.versionCounters.last, [name]);
      const lastRow = last.rows[0];
      const version = planPublish(
        latest,
        lastRow && toVersion(lastRow),
        counter.rows[0]?.last_version ?? 0,
        description,
        change.now,
      );
      await db.query(SQL.versionCounters.upsert, [name, version.version]);
      await db.query(SQL.versions.insert, [
        name,
        version.version,
        description,
        JSON.stringify(version.config),
        version.code.sha256,
        change.now,
      ]);
      return version;
    });
  }

  private async versionRow(db: Db, name: string, version: number): Promise<VersionRecord | undefined> {
    if (!storable(version)) return undefined;
    return oneOf(db, toVersion, SQL.versions.byNumber, [name, version]);
  }

  getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    return this.read(`reading version ${version} of ${name}`, (db) => this.versionRow(db, name, version));
  }

  listVersions(name: string, options: VersionListOptions): Promise<Page<VersionRecord>> {
    return this.read(`listing versions of ${name}`, async (db) => {
      await this.requireFunction(db, name);
      const backward = options.direction === 'backward';
      const after = decodePageToken(options.nextToken, isVersionKey);
      const bound = after === undefined ? (backward ? Number.MAX_SAFE_INTEGER : 0) : Number(after);
      const result = await db.query<VersionRow>(
        `${VERSION_SELECT} WHERE v.function_name = $1 AND v.version ${backward ? '<' : '>'} $2::bigint
         ORDER BY v.version ${backward ? 'DESC' : 'ASC'} LIMIT $3`,
        [name, bound, options.limit + 1],
      );
      return pageOf(result.rows.map(toVersion), options.limit, (v) => String(v.version));
    });
  }

  deleteVersion(name: string, version: number): Promise<void> {
    return this.write(`deleting version ${version} of ${name}`, async (db) => {
      await this.lockFunction(db, name, 'FOR UPDATE');
      const existing = await this.versionRow(db, name, version);
      if (!existing) throw new SluiceError('VersionNotFound', `function ${name} has no version ${version}`);
      assertVersionUnused(name, version, await this.aliasRows(db, name));
      assertNotBound(await this.stageRows(db), name, { version });
      assertNoTrigger(await this.triggerRows(db, name), name, { version });
      assertNotInRollout(name, version, await this.activeRollouts(db, name));
      await db.query(SQL.versions.delete, [name, version]);
      await db.query(SQL.provisioned.delete, [name, String(version)]);
      await this.collectBlobs(db, [existing.code.sha256]);
    });
  }

  private async rolloutRows(db: Db, where: string, args: unknown[]): Promise<Rollout[]> {
    const result = await db.query<{ state_json: Rollout }>(
      `SELECT state_json FROM rollouts WHERE ${where}`,
      args,
    );
    return result.rows.map((r) => r.state_json);
  }

  private activeRollouts(db: Db, name: string): Promise<Rollout[]> {
    return this.rolloutRows(db, "function_name = $1 AND status IN ('running', 'paused')", [name]);
  }

  createRollout(rollout: Rollout): Promise<void> {
    return this.write(`starting a rollout of ${rollout.functionName}`, async (db) => {
      await this.lockFunction(db, rollout.functionName);
      assertNoActiveRollout(await this.activeRollouts(db, rollout.functionName), rollout.alias);
      if (!(await this.versionRow(db, rollout.functionName, rollout.spec.target))) {
        throw new SluiceError(
          'VersionNotFound',
          `function ${rollout.functionName} has no version ${rollout.spec.target}`,
        );
      }
      await db.query(SQL.rollouts.insert, rolloutValues(rollout));
    });
  }

  getRollout(id: string): Promise<Rollout | undefined> {
    return this.read('reading a rollout', async (db) => (await this.rolloutRows(db, 'id = $1', [id]))[0]);
  }

  listRollouts(functionName: string, alias?: string): Promise<Rollout[]> {
    return this.read(`listing rollouts of ${functionName}`, async (db) => {
      await this.requireFunction(db, functionName);
      return alias === undefined
        ? this.rolloutRows(db, 'function_name = $1 ORDER BY created_at DESC, id', [functionName])
        : this.rolloutRows(db, 'function_name = $1 AND alias = $2 ORDER BY created_at DESC, id', [
            functionName,
            alias,
          ]);
    });
  }

  listActiveRollouts(): Promise<Rollout[]> {
    return this.read('listing active rollouts', (db) =>
      this.rolloutRows(db, "status IN ('running', 'paused') ORDER BY created_at", []),
    );
  }

  saveRollout(rollout: Rollout, expectedUpdatedAt: string): Promise<boolean> {
    return this.write(`saving rollout ${rollout.id}`, (db) =>
      this.updateRollout(db, rollout, expectedUpdatedAt),
    );
  }

  saveRolloutAndAlias(
    rollout: Rollout,
    expectedUpdatedAt: string,
    spec: AliasSpec,
    write: AliasWrite,
  ): Promise<{ rollout: Rollout; alias: AliasRecord }> {
    const name = rollout.functionName;
    return this.write(`moving alias ${rollout.alias} of ${name} for rollout ${rollout.id}`, async (db) => {
      await this.lockFunction(db, name);
      const plan = planAliasWrite(
        name,
        rollout.alias,
        await this.aliasRow(db, name, rollout.alias),
        await this.lastAliasRevision(db, name, rollout.alias),
        spec,
        await this.versionSet(db, name),
        write,
      );
      await this.saveAlias(db, plan.record, plan.entry);
      const saved = { ...rollout, aliasRevision: plan.record.revision };
      if (!(await this.updateRollout(db, saved, expectedUpdatedAt))) throw rolloutChanged(rollout.id);
      return { rollout: saved, alias: plan.record };
    });
  }

  private async updateRollout(db: Db, rollout: Rollout, expectedUpdatedAt: string): Promise<boolean> {
    const result = await db.query(SQL.rollouts.update, [
      rollout.status,
      JSON.stringify(rollout),
      rollout.updatedAt,
      rollout.id,
      expectedUpdatedAt,
    ]);
    return result.rowCount === 1;
  }

  claimRollout(id: string, node: string, now: number, leaseMs: number): Promise<boolean> {
    return this.write(`claiming rollout ${id}`, async (db) => {
      const result = await db.query(
        `UPDATE rollouts SET lease_owner = $1, lease_expires = $2
         WHERE id = $3 AND (lease_owner IS NULL OR lease_owner = $1 OR lease_expires < $4)`,
        [node, now + leaseMs, id, now],
      );
      return result.rowCount === 1;
    });
  }

  private async aliasRows(db: Db, name: string): Promise<AliasRecord[]> {
    return allOf(db, toAlias, SQL.aliases.ofFunction, [name]);
  }

  private async aliasRow(db: Db, name: string, alias: string): Promise<AliasRecord | undefined> {
    return oneOf(db, toAlias, SQL.aliases.byName, [name, alias]);
  }

  private async lastAliasRevision(db: Db, name: string, alias: string): Promise<number> {
    const result = await db.query<{ r: number | null }>(SQL.aliasHistory.lastRevision, [name, alias]);
    return result.rows[0]?.r ?? 0;
  }

  private async versionSet(db: Db, name: string): Promise<Set<number>> {
    const result = await db.query<{ version: number }>(SQL.versions.numbers, [name]);
    return new Set(result.rows.map((r) => r.version));
  }

  private async saveAlias(db: Db, record: AliasRecord, entry: AliasHistoryEntry): Promise<void> {
    await db.query(SQL.aliases.upsert, aliasValues(record));
    await this.appendHistory(db, entry);
  }

  private async appendHistory(db: Db, entry: AliasHistoryEntry): Promise<void> {
    await db.query(SQL.aliasHistory.insert, aliasHistoryValues(entry));
  }

  private async apiRow(db: Db, name: string, lock = false): Promise<ApiRecord | undefined> {
    return oneOf(db, toApi, `SELECT * FROM apis WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [name]);
  }

  /** The API, with its row lock when `lock`: the per-API mutex for its definition and stages. */
  private async requireApi(db: Db, name: string, lock = false): Promise<ApiRecord> {
    const api = await this.apiRow(db, name, lock);
    if (!api) throw new SluiceError('ApiNotFound', `API ${name} does not exist`);
    return api;
  }

  createApi(name: string, definition: ApiDefinition, change: Change): Promise<ApiRecord> {
    return this.write(`creating API ${name}`, async (db) => {
      const inserted = await db.query(
        `INSERT INTO apis (name, definition_json, created_at, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO NOTHING`,
        [name, JSON.stringify(definition), change.now, change.now],
      );
      if (inserted.rowCount === 0) throw new SluiceError('ApiAlreadyExists', `API ${name} exists already`);
      return this.requireApi(db, name);
    });
  }

  getApi(name: string): Promise<ApiRecord | undefined> {
    return this.read(`reading API ${name}`, (db) => this.apiRow(db, name));
  }

  listApis(): Promise<ApiRecord[]> {
    return this.read('listing APIs', async (db) => {
      return allOf(db, toApi, SQL.apis.all);
    });
  }

  updateApi(name: string, definition: ApiDefinition, change: Change): Promise<ApiRecord> {
    return this.write(`updating API ${name}`, async (db) => {
      await this.requireApi(db, name, true);
      assertRoutesKept(await this.stageRows(db, name), definition);
      await db.query(SQL.apis.update, [JSON.stringify(definition), change.now, name]);
      return this.requireApi(db, name);
    });
  }

  deleteApi(name: string): Promise<void> {
    return this.write(`deleting API ${name}`, async (db) => {
      await this.requireApi(db, name, true);
      // Its stages and their history go with the row (ON DELETE CASCADE).
      await db.query(SQL.apis.delete, [name]);
    });
  }

  private async stageRows(db: Db, api?: string): Promise<StageRecord[]> {
    return api === undefined
      ? allOf(db, toStage, SQL.stages.all)
      : allOf(db, toStage, SQL.stages.ofApi, [api]);
  }

  private async stageRow(db: Db, api: string, stage: string): Promise<StageRecord | undefined> {
    return oneOf(db, toStage, SQL.stages.byName, [api, stage]);
  }

  private async checkBinding(db: Db, binding: Binding): Promise<BindingCheck> {
    if (!(await this.functionRow(db, binding.function))) return 'no-function';
    const qualifier = parseQualifier(binding.qualifier);
    if (qualifier.kind === 'alias')
      return (await this.aliasRow(db, binding.function, qualifier.alias)) ? 'ok' : 'no-alias';
    if (qualifier.kind === 'version')
      return (await this.versionRow(db, binding.function, qualifier.version)) ? 'ok' : 'no-version';
    return 'ok';
  }

  putStage(
    api: string,
    stage: string,
    spec: StageSpec,
    write: StageWrite,
  ): Promise<{ stage: StageRecord; created: boolean }> {
    return this.write(`writing stage ${stage} of API ${api}`, async (db) => {
      await this.requireApi(db, api, true);
      // Hold the bound functions (in one order) against deletes of them, their versions or aliases, so that
      // what the checks below find is still there when this commits; publishes and alias writes go on.
      const bindings = stageBindings(spec);
      await db.query('SELECT 1 FROM functions WHERE name = ANY($1) ORDER BY name FOR KEY SHARE', [
        [...new Set(bindings.map((b) => b.function))].sort(),
      ]);
      const last = await db.query<{ r: number | null }>(SQL.stageHistory.lastRevision, [api, stage]);
      // The core checks bindings synchronously: look them up first, keeping a failure for when it asks.
      const checks = new Map<string, BindingCheck | { error: unknown }>();
      for (const binding of bindings) {
        const key = JSON.stringify([binding.function, binding.qualifier]);
        if (checks.has(key)) continue;
        checks.set(
          key,
          await this.checkBinding(db, binding).catch((error: unknown) => {
            if (isSluiceError(error)) return { error };
            throw error;
          }),
        );
      }
      const plan = planStageWrite(
        api,
        stage,
        await this.stageRow(db, api, stage),
        last.rows[0]?.r ?? 0,
        spec,
        (b) => {
          const check = checks.get(JSON.stringify([b.function, b.qualifier])) ?? 'no-function';
          if (typeof check === 'object') throw check.error;
          return check;
        },
        write,
      );
      await db.query(SQL.stages.upsert, stageValues(plan.record));
      await this.appendStageHistory(db, plan.entry);
      return { stage: plan.record, created: plan.created };
    });
  }

  private async appendStageHistory(db: Db, entry: StageHistoryEntry): Promise<void> {
    await db.query(SQL.stageHistory.insert, stageHistoryValues(entry));
  }

  getStage(api: string, stage: string): Promise<StageRecord | undefined> {
    return this.read(`reading stage ${stage} of API ${api}`, (db) => this.stageRow(db, api, stage));
  }

  listStages(api?: string): Promise<StageRecord[]> {
    return this.read('listing stages', async (db) => {
      if (api !== undefined) await this.requireApi(db, api);
      return this.stageRows(db, api);
    });
  }

  deleteStage(api: string, stage: string, write: StageWrite): Promise<void> {
    return this.write(`deleting stage ${stage} of API ${api}`, async (db) => {
      await this.requireApi(db, api, true);
      const entry = planStageDelete(api, stage, await this.stageRow(db, api, stage), write);
      await db.query(SQL.stages.delete, [api, stage]);
      await this.appendStageHistory(db, entry);
    });
  }

  stageHistory(api: string, stage: string): Promise<StageHistoryEntry[]> {
    return this.read(`reading the history of stage ${stage} of API ${api}`, async (db) => {
      await this.requireApi(db, api);
      const result = await db.query<StageHistoryRow>(SQL.stageHistory.ofStage, [api, stage]);
      if (result.rows.length === 0)
        throw new SluiceError('StageNotFound', `API ${api} has no stage ${stage}`);
      return result.rows.map(toStageHistory);
    });
  }

  writeMetrics(rows: readonly MetricRow[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.write('writing metrics', async (db) => {
      for (const r of rows) {
        await db.query(
          `INSERT INTO metrics (${METRIC_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (resolution, function_name, bucket_start, version_id, qualifier, node) DO UPDATE SET
             invocations = excluded.invocations, function_errors = excluded.function_errors,
             platform_errors = excluded.platform_errors, throttles = excluded.throttles,
             cold_starts = excluded.cold_starts, duration_sum_ms = excluded.duration_sum_ms,
             histogram = excluded.histogram`,
          metricValues(r),
        );
      }
    });
  }

  queryMetrics(functionName: string, resolution: 10 | 60, from: number, to: number): Promise<MetricRow[]> {
    return this.read(`reading metrics of ${functionName}`, async (db) => {
      return allOf(db, toMetricRow, SQL.metrics.range, [
        resolution,
        functionName,
        Math.ceil(from),
        Math.ceil(to),
      ]);
    });
  }

  appendLogs(records: readonly InvocationLog[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.write('writing logs', async (db) => {
      const taken = await db.query<{ next: number }>('UPDATE log_ids SET next = next + $1 RETURNING next', [
        records.length,
      ]);
      const first = (taken.rows[0] as { next: number }).next - records.length;
      const runs = toLogRuns(records);
      // A statement takes at most 65 535 parameters: six per run.
      for (let start = 0; start < runs.length; start += 1000) {
        const chunk = runs.slice(start, start + 1000);
        const values = chunk.flatMap((run) => logRunValues(run, first));
        const tuples = chunk.map((_, r) => `(${[1, 2, 3, 4, 5, 6].map((c) => `$${r * 6 + c}`).join(', ')})`);
        await db.query(
          `INSERT INTO log_runs (${LOG_RUN_COLUMNS})
           VALUES ${tuples.join(', ')}`,
          values,
        );
      }
    });
  }

  queryLogs(functionName: string, filter: LogFilter & { newestFirst?: boolean }): Promise<InvocationLog[]> {
    const where = ['function_name = $1'];
    const args: unknown[] = [functionName];
    const add = (clause: (param: string) => string, value: string | number | undefined): void => {
      if (value === undefined) return;
      args.push(value);
      where.push(clause(`$${args.length}`));
    };
    const needles = runNeedles(filter);
    add((p) => `strpos(records, ${p}) > 0`, needles.versionId);
    add((p) => `strpos(records, ${p}) > 0`, needles.qualifier);
    add((p) => `strpos(records, ${p}) > 0`, needles.requestId);
    add((p) => `strpos(lower(records), lower(${p})) > 0`, needles.text);
    // The columns hold integers: bounds are rounded to the integer that keeps every match in.
    add((p) => `last_at >= ${p}`, ceil(filter.since));
    add((p) => `first_at < ${p}`, ceil(filter.until));
    if (filter.afterId !== undefined) {
      const afterId = Math.floor(filter.afterId);
      add((p) => `id_first > ${p}`, afterId - RUN_RECORDS);
      add((p) => `id_first + count - 1 > ${p}`, afterId);
    }
    return queryLogRuns(filter, ({ newestFirst, cursor, rows }) =>
      this.read(`reading logs of ${functionName}`, async (db) => {
        const pageArgs = [...args, ...(cursor === undefined ? [] : [cursor]), rows];
        const past = cursor === undefined ? [] : [`id_first ${newestFirst ? '<' : '>'} $${args.length + 1}`];
        const result = await db.query<LogRunRow>(
          `SELECT id_first, function_name, first_at, records FROM log_runs
           WHERE ${[...where, ...past].join(' AND ')} ORDER BY id_first ${newestFirst ? 'DESC' : 'ASC'}
           LIMIT $${pageArgs.length}`,
          pageArgs,
        );
        return result.rows;
      }),
    );
  }

  pruneTelemetry(before: { metrics10: number; metrics60: number; logs: number }): Promise<void> {
    return this.write('pruning telemetry', async (db) => {
      await db.query('DELETE FROM metrics WHERE resolution = 10 AND bucket_start < $1', [
        Math.ceil(before.metrics10),
      ]);
      await db.query('DELETE FROM metrics WHERE resolution = 60 AND bucket_start < $1', [
        Math.ceil(before.metrics60),
      ]);
      await db.query('DELETE FROM log_runs WHERE last_at < $1', [Math.ceil(before.logs)]);
    });
  }

  putAlias(
    name: string,
    alias: string,
    spec: AliasSpec,
    write: AliasWrite,
  ): Promise<{ alias: AliasRecord; created: boolean }> {
    return this.write(`writing alias ${alias} of ${name}`, async (db) => {
      await this.lockFunction(db, name);
      const plan = planAliasWrite(
        name,
        alias,
        await this.aliasRow(db, name, alias),
        await this.lastAliasRevision(db, name, alias),
        spec,
        await this.versionSet(db, name),
        write,
      );
      await this.saveAlias(db, plan.record, plan.entry);
      return { alias: plan.record, created: plan.created };
    });
  }

  getAlias(name: string, alias: string): Promise<AliasRecord | undefined> {
    return this.read(`reading alias ${alias} of ${name}`, (db) => this.aliasRow(db, name, alias));
  }

  listAliases(name: string): Promise<AliasRecord[]> {
    return this.read(`listing aliases of ${name}`, async (db) => {
      await this.requireFunction(db, name);
      return this.aliasRows(db, name);
    });
  }

  deleteAlias(name: string, alias: string, write: AliasWrite): Promise<void> {
    return this.write(`deleting alias ${alias} of ${name}`, async (db) => {
      await this.lockFunction(db, name, 'FOR UPDATE');
      const entry = planAliasDelete(name, alias, await this.aliasRow(db, name, alias), write);
      assertNotBound(await this.stageRows(db), name, { alias });
      assertNoTrigger(await this.triggerRows(db, name), name, { alias });
      await db.query(SQL.aliases.delete, [name, alias]);
      await db.query(SQL.provisioned.delete, [name, alias]);
      await this.appendHistory(db, entry);
    });
  }

  private async historyRows(db: Db, name: string, alias: string): Promise<AliasHistoryEntry[]> {
    return allOf(db, toAliasHistory, SQL.aliasHistory.ofAlias, [name, alias]);
  }

  aliasHistory(name: string, alias: string): Promise<AliasHistoryEntry[]> {
    return this.read(`reading the history of alias ${alias} of ${name}`, async (db) => {
      await this.requireFunction(db, name);
      const history = await this.historyRows(db, name, alias);
      if (history.length === 0)
        throw new SluiceError('AliasNotFound', `function ${name} has no alias ${alias}`);
      return history;
    });
  }

  rollbackAlias(
    name: string,
    alias: string,
    target: RollbackTarget,
    write: AliasWrite,
  ): Promise<AliasRecord> {
    return this.write(`rolling back alias ${alias} of ${name}`, async (db) => {
      await this.lockFunction(db, name);
      const plan = planAliasRollback(
        name,
        alias,
        await this.aliasRow(db, name, alias),
        await this.historyRows(db, name, alias),
        target,
        await this.versionSet(db, name),
        write,
      );
      await this.saveAlias(db, plan.record, plan.entry);
      return plan.record;
    });
  }

  putProvisioned(
    name: string,
    qualifier: string,
    spec: ProvisionedSpec,
    change: Change,
  ): Promise<{ record: ProvisionedRecord; created: boolean }> {
    return this.write(`provisioning ${qualifier} of ${name}`, async (db) => {
      // Under the function's lock, so that the alias or version cannot go between this check and the write.
      await this.lockFunction(db, name);
      const parsed = parseQualifier(qualifier);
      const exists =
        parsed.kind === 'latest' ||
        (parsed.kind === 'version'
          ? await this.versionRow(db, name, parsed.version)
          : await this.aliasRow(db, name, parsed.alias));
      if (!exists) throw qualifierMissing(name, parsed);
      const result = await db.query<ProvisionedRow & { inserted: boolean }>(
        `INSERT INTO provisioned (function_name, qualifier, target, canary_ratio, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (function_name, qualifier) DO UPDATE
         SET target = excluded.target, canary_ratio = excluded.canary_ratio, updated_at = excluded.updated_at
         RETURNING *, (xmax = 0) AS inserted`,
        [name, qualifier, spec.target, ratioColumn(spec.canaryRatio), change.now],
      );
      const row = result.rows[0] as ProvisionedRow & { inserted: boolean };
      return { record: toProvisioned(row), created: row.inserted };
    });
  }

  getProvisioned(name: string, qualifier: string): Promise<ProvisionedRecord | undefined> {
    return this.read(`reading the provisioned instances of ${name}`, async (db) => {
      return oneOf(db, toProvisioned, SQL.provisioned.byQualifier, [name, qualifier]);
    });
  }

  listProvisioned(name?: string): Promise<ProvisionedRecord[]> {
    return this.read('listing provisioned instances', async (db) => {
      return name === undefined
        ? allOf(db, toProvisioned, SQL.provisioned.all)
        : allOf(db, toProvisioned, SQL.provisioned.ofFunction, [name]);
    });
  }

  deleteProvisioned(name: string, qualifier: string): Promise<void> {
    return this.write(`releasing the provisioned instances of ${name}`, async (db) => {
      await this.lockFunction(db, name);
      const result = await db.query(SQL.provisioned.delete, [name, qualifier]);
      if (result.rowCount === 0) throw provisionedNotFound(name, qualifier);
    });
  }

  beatNode(beat: NodeBeat, forgetBefore: number): Promise<void> {
    return this.write('recording a heartbeat', async (db) => {
      await db.query(SQL.nodes.beat, [beat.node, beat.at, JSON.stringify(beat.provisioned)]);
      await db.query(SQL.nodes.forget, [forgetBefore]);
    });
  }

  listNodes(): Promise<NodeBeat[]> {
    return this.read('listing nodes', async (db) => {
      return allOf(db, toNodeBeat, SQL.nodes.all);
    });
  }

  dropNode(node: string): Promise<void> {
    return this.write('dropping a node', async (db) => {
      await db.query(SQL.nodes.delete, [node]);
    });
  }

  /**
   * Inserts a queued event and tells every node, in its transaction: PostgreSQL delivers the notice when it
   * commits (and never if it does not), so that idle nodes claim at once rather than at their next look.
   */
  private async insertAsync(db: Db, event: NewAsyncEvent): Promise<void> {
    await db.query(SQL.asyncEvents.insert, asyncInsertValues(event));
    await db.query('SELECT pg_notify($1, $2)', [QUEUED_CHANNEL, this.schema]);
  }

  enqueueAsync(event: NewAsyncEvent): Promise<void> {
    return this.write(`queueing an invocation of ${event.functionName}`, async (db) => {
      // The foreign key refuses a function deleted meanwhile; this names it as the API does.
      await this.requireFunction(db, event.functionName);
      await this.insertAsync(db, event);
    });
  }

  /**
   * `FOR UPDATE SKIP LOCKED`: nodes claiming at once each lock different rows, none waiting for another; a row
   * another node has just claimed and committed is seen again by the lock and fails the condition (its lease
   * is current), so no event is handed to two nodes while its lease holds.
   */
  claimAsync(node: string, now: number, leaseMs: number, limit: number): Promise<AsyncEvent[]> {
    return this.write('claiming asynchronous invocations', async (db) => {
      const result = await db.query<AsyncEventRow>(
        `UPDATE async_events e SET status = 'running', lease_owner = $1, lease_expires = $2
         FROM (
           SELECT id FROM async_events
           WHERE (status = 'queued' AND next_at <= $3) OR (status = 'running' AND lease_expires < $3)
           ORDER BY next_at LIMIT $4
           FOR UPDATE SKIP LOCKED
         ) due
         WHERE e.id = due.id
         RETURNING e.*`,
        [node, now + leaseMs, now, limit],
      );
      return result.rows.map(toAsyncEvent).sort((a, b) => a.nextAt - b.nextAt);
    });
  }

  nextAsyncDue(node: string): Promise<number | undefined> {
    return this.read('reading when asynchronous invocations are due', async (db) => {
      const result = await db.query<{ at: string | null }>(
        `SELECT LEAST(
           (SELECT MIN(next_at) FROM async_events WHERE status = 'queued'),
           (SELECT MIN(lease_expires) FROM async_events WHERE status = 'running' AND lease_owner <> $1)
         ) AS at`,
        [node],
      );
      const at = result.rows[0]?.at;
      return at === null || at === undefined ? undefined : Number(at);
    });
  }

  renewAsyncLeases(node: string, ids: readonly string[], until: number): Promise<void> {
    return this.write('renewing asynchronous invocation leases', async (db) => {
      await db.query(
        `UPDATE async_events SET lease_expires = $1
         WHERE id = ANY($2) AND lease_owner = $3 AND status = 'running'`,
        [until, ids, node],
      );
    });
  }

  settleAsync(id: string, node: string, settle: AsyncSettle): Promise<boolean> {
    return this.write(`settling asynchronous invocation ${id}`, async (db) => {
      let destination: AsyncEvent['destination'];
      const event = settle.destination?.event;
      if (settle.destination) {
        const { target } = settle.destination;
        // Under a share lock, so that the destination's function cannot go before its event is queued.
        const exists =
          event &&
          (await db.query('SELECT 1 FROM functions WHERE name = $1 FOR KEY SHARE', [event.functionName]))
            .rowCount === 1;
        destination = !event
          ? { target, status: 'pending' }
          : exists
            ? { target, status: 'delivered', requestId: event.id }
            : destinationGone(target, event.functionName);
      }
      const values = asyncSettleValues(settle, destination);
      const result = await db.query(
        `UPDATE async_events SET ${ASYNC_SETTLE_COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ')},
           lease_owner = NULL, lease_expires = NULL
         WHERE id = $${values.length + 1} AND lease_owner = $${values.length + 2} AND status = 'running'`,
        [...values, id, node],
      );
      if (result.rowCount !== 1) return false;
      if (event && destination?.status === 'delivered') await this.insertAsync(db, event);
      return true;
    });
  }

  updateAsyncDestination(id: string, destination: NonNullable<AsyncEvent['destination']>): Promise<void> {
    return this.write(`recording the destination of ${id}`, async (db) => {
      await db.query(SQL.asyncEvents.setDestination, [JSON.stringify(destination), id]);
    });
  }

  releaseAsync(node: string): Promise<number> {
    return this.write('releasing asynchronous invocations', async (db) => {
      const result = await db.query(
        `UPDATE async_events SET status = 'queued', lease_owner = NULL, lease_expires = NULL
         WHERE lease_owner = $1 AND status = 'running'`,
        [node],
      );
      return result.rowCount ?? 0;
    });
  }

  getAsync(functionName: string, id: string): Promise<AsyncEvent | undefined> {
    return this.read(`reading asynchronous invocation ${id}`, async (db) => {
      return oneOf(db, toAsyncEvent, SQL.asyncEvents.byId, [functionName, id]);
    });
  }

  listAsync(
    functionName: string,
    options: ListOptions & { status?: AsyncStatus },
  ): Promise<Page<AsyncEvent>> {
    return this.read(`listing asynchronous invocations of ${functionName}`, async (db) => {
      await this.requireFunction(db, functionName);
      const key = decodePageToken(options.nextToken, isAsyncPageKey);
      const where = ['function_name = $1'];
      const args: unknown[] = [functionName];
      if (options.status !== undefined) {
        args.push(options.status);
        where.push(`status = $${args.length}`);
      }
      if (key !== undefined) {
        const [at, id] = parseAsyncPageKey(key);
        args.push(at, id);
        where.push(`(created_at, id) < ($${args.length - 1}, $${args.length})`);
      }
      args.push(options.limit + 1);
      const result = await db.query<AsyncEventRow>(
        `SELECT * FROM async_events WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${args.length}`,
        args,
      );
      return pageOf(result.rows.map(toAsyncEvent), options.limit, asyncPageKey);
    });
  }

  pruneAsync(before: number): Promise<void> {
    return this.write('pruning asynchronous invocations', async (db) => {
      await db.query(SQL.asyncEvents.prune, [before]);
    });
  }

  private async triggerRows(db: Db, name?: string): Promise<TriggerRecord[]> {
    return name === undefined
      ? allOf(db, toTrigger, SQL.triggers.all)
      : allOf(db, toTrigger, SQL.triggers.ofFunction, [name]);
  }

  private async triggerRow(db: Db, name: string, trigger: string): Promise<TriggerRecord | undefined> {
    return oneOf(db, toTrigger, SQL.triggers.byName, [name, trigger]);
  }

  /** Under the function's lock, so that the alias or version cannot go between this check and the write. */
  private async requireQualifier(db: Db, name: string, qualifier: string): Promise<void> {
    const parsed = parseQualifier(qualifier);
    const exists =
      parsed.kind === 'latest' ||
      (parsed.kind === 'version'
        ? await this.versionRow(db, name, parsed.version)
        : await this.aliasRow(db, name, parsed.alias));
    if (!exists) throw qualifierMissing(name, parsed);
  }

  createTrigger(name: string, trigger: string, spec: TriggerSpec, change: Change): Promise<TriggerRecord> {
    return this.write(`creating trigger ${trigger} of ${name}`, async (db) => {
      await this.lockFunction(db, name);
      if (await this.triggerRow(db, name, trigger)) throw triggerExists(name, trigger);
      await this.requireQualifier(db, name, spec.qualifier);
      const result = await db.query<TriggerRow>(
        `INSERT INTO triggers (function_name, name, kind, qualifier, spec_json, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *`,
        [name, trigger, spec.kind, spec.qualifier, JSON.stringify(spec), change.now],
      );
      return toTrigger(result.rows[0] as TriggerRow);
    });
  }

  updateTrigger(name: string, trigger: string, spec: TriggerSpec, change: Change): Promise<TriggerRecord> {
    return this.write(`updating trigger ${trigger} of ${name}`, async (db) => {
      await this.lockFunction(db, name);
      await this.requireQualifier(db, name, spec.qualifier);
      const result = await db.query<TriggerRow>(
        `UPDATE triggers SET kind = $1, qualifier = $2, spec_json = $3, updated_at = $4
         WHERE function_name = $5 AND name = $6 RETURNING *`,
        [spec.kind, spec.qualifier, JSON.stringify(spec), change.now, name, trigger],
      );
      const row = result.rows[0];
      if (!row) throw triggerNotFound(name, trigger);
      return toTrigger(row);
    });
  }

  getTrigger(name: string, trigger: string): Promise<TriggerRecord | undefined> {
    return this.read(`reading trigger ${trigger} of ${name}`, (db) => this.triggerRow(db, name, trigger));
  }

  listTriggers(name?: string): Promise<TriggerRecord[]> {
    return this.read('listing triggers', async (db) => {
      if (name !== undefined) await this.requireFunction(db, name);
      return this.triggerRows(db, name);
    });
  }

  deleteTrigger(name: string, trigger: string): Promise<void> {
    return this.write(`deleting trigger ${trigger} of ${name}`, async (db) => {
      await this.lockFunction(db, name);
      const result = await db.query(SQL.triggers.delete, [name, trigger]);
      if (result.rowCount === 0) throw triggerNotFound(name, trigger);
    });
  }

  /** The conditional UPDATE takes the row's lock: of nodes firing one time at once, one moves it, the others see it moved. */
  fireTimer(name: string, trigger: string, at: number, event: NewAsyncEvent): Promise<boolean> {
    return this.write(`firing timer ${trigger} of ${name}`, async (db) => {
      const moved = await db.query(
        `UPDATE triggers SET last_fired = $1
         WHERE function_name = $2 AND name = $3 AND kind = 'timer' AND (last_fired IS NULL OR last_fired < $1)`,
        [at, name, trigger],
      );
      if (moved.rowCount !== 1) return false;
      await this.insertAsync(db, event);
      return true;
    });
  }
}
