import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AliasSpec, RollbackTarget } from '../../core/alias.js';
import {
  assertVersionUnused,
  planAliasDelete,
  planAliasRollback,
  planAliasWrite,
} from '../../core/alias-changes.js';
import type { ApiDefinition, Binding, StageSpec } from '../../core/api-gateway.js';
import { SluiceError } from '../../core/errors.js';
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
  type NodeRow,
  type ProvisionedRow,
  provisionedNotFound,
  qualifierMissing,
  ratioColumn,
  toNodeBeat,
  toProvisioned,
} from '../provisioned-rows.js';
import { assertNoActiveRollout, assertNotInRollout, rolloutChanged } from '../../core/rollout-changes.js';
import type { Rollout } from '../../core/rollout.js';
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
import { FUNCTION_SELECT, SQL, VERSION_SELECT } from '../statements.js';
import {
  fromIdempotencyRow,
  type IdempotencyRow,
  type AliasHistoryRow,
  aliasHistoryValues,
  type AliasRow,
  aliasValues,
  type ApiRow,
  fromJson,
  type FunctionRow,
  rolloutValues,
  type StageHistoryRow,
  stageHistoryValues,
  type StageRow,
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
import { type LogRunRow, queryLogRuns, RUN_RECORDS, runNeedles, toLogRuns } from '../log-runs.js';
import { type MetricDbRow, toMetricRow } from '../metric-columns.js';
import { TelemetryWriter } from './telemetry-writer.js';
import type { TelemetryBounds } from './telemetry-writes.js';

function functionNotFound(name: string): SluiceError {
  return new SluiceError('FunctionNotFound', `function ${name} does not exist`);
}

function migrate(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)',
  );
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  const applied = row.v ?? 0;
  if (applied > migrations.length) {
    throw new Error(
      `the database schema (version ${applied}) is newer than this Sluice (${migrations.length})`,
    );
  }
  migrations.slice(applied).forEach((sql, i) => {
    db.transaction(() => {
      db.exec(sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(
        applied + i + 1,
        new Date().toISOString(),
      );
    }).immediate();
  });
}

/** The embedded store: one SQLite file in WAL mode; every multi-row change runs in one transaction. */
export class SqliteStore implements Store {
  private constructor(
    private readonly db: Database.Database,
    private readonly telemetry: TelemetryWriter,
  ) {}

  /** Opens (creating if needed) `<dataDir>/sluice.db`, or an in-memory database for `:memory:`. */
  static open(dataDir: string, log: (line: string) => void = () => undefined): SqliteStore {
    let file: string | undefined;
    if (dataDir !== ':memory:') {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      file = join(dataDir, 'sluice.db');
    }
    const db = new Database(file ?? ':memory:');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // SQLite's own lower() folds ASCII only; log search must fold every letter, as PostgreSQL's does.
    db.function('unicode_lower', { deterministic: true }, (text: unknown) =>
      typeof text === 'string' ? text.toLowerCase() : text,
    );
    try {
      migrate(db);
    } catch (error) {
      // A refused open must not keep the file open behind the caller's back.
      db.close();
      throw error;
    }
    return new SqliteStore(db, new TelemetryWriter(db, file, log));
  }

  /** Runs `fn` in a write transaction taken at once, so that reads inside it see what the writes rely on. */
  private write<T>(fn: () => T): Promise<T> {
    return Promise.resolve().then(() => this.db.transaction(fn).immediate());
  }

  private read<T>(fn: () => T): Promise<T> {
    return Promise.resolve().then(fn);
  }

  async close(): Promise<void> {
    await this.telemetry.stop();
    this.db.close();
  }

  countTokens(): Promise<number> {
    return this.read(
      () => (this.db.prepare('SELECT COUNT(*) AS n FROM api_tokens').get() as { n: number }).n,
    );
  }

  createFirstToken(token: Omit<TokenRecord, 'scope' | 'functionPrefix'>): Promise<boolean> {
    return this.write(
      () =>
        this.db.prepare(SQL.tokens.insertFirst).run(token.id, token.name, token.sha256, token.createdAt)
          .changes === 1,
    );
  }

  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
    return this.write(() => {
      this.db.prepare(SQL.idempotency.prune).run(claim.expiredBefore);
      this.db.prepare(SQL.idempotency.deleteAbandoned).run(claim.scope, claim.key, claim.abandonedBefore);
      const inserted = this.db
        .prepare(SQL.idempotency.claim)
        .run(claim.scope, claim.key, claim.fingerprint, claim.now);
      if (inserted.changes === 1) return undefined;
      return fromIdempotencyRow(
        this.db.prepare(SQL.idempotency.byKey).get(claim.scope, claim.key) as IdempotencyRow,
      );
    });
  }

  settleIdempotencyKey(scope: string, key: string, response: StoredResponse | undefined): Promise<void> {
    return this.write(() => {
      if (response === undefined) this.db.prepare(SQL.idempotency.delete).run(scope, key);
      else this.db.prepare(SQL.idempotency.answer).run(JSON.stringify(response), scope, key);
    });
  }

  claimNonce(accessKeyId: string, nonce: string, expiresAt: number, now: number): Promise<boolean> {
    return this.write(() => {
      this.db.prepare(SQL.nonces.prune).run(now);
      const inserted = this.db.prepare(SQL.nonces.claim).run(accessKeyId, nonce, expiresAt);
      return inserted.changes === 1;
    });
  }

  findTokenByHash(sha256: string): Promise<TokenRecord | undefined> {
    return this.read(() => {
      const row = this.db.prepare(SQL.tokens.byHash).get(sha256) as TokenRow | undefined;
      return row && toToken(row);
    });
  }

  createToken(token: TokenRecord): Promise<void> {
    return this.write(() => {
      if (this.db.prepare(SQL.tokens.named).get(token.name))
        throw new SluiceError('CredentialAlreadyExists', `a token named ${token.name} exists already`);
      this.db.prepare(SQL.tokens.insert).run(...credentialColumns(token), token.sha256);
    });
  }

  listTokens(): Promise<TokenRecord[]> {
    return this.read(() => (this.db.prepare(SQL.tokens.all).all() as TokenRow[]).map(toToken));
  }

  deleteToken(id: string): Promise<void> {
    return this.write(() => {
      const row = this.db.prepare(SQL.tokens.byId).get(id) as TokenRow | undefined;
      if (!row) throw new SluiceError('CredentialNotFound', `no token has id ${id}`);
      const admins = this.db.prepare("SELECT COUNT(*) AS n FROM api_tokens WHERE scope = 'admin'").get() as {
        n: number;
      };
      if (row.scope === 'admin' && admins.n === 1)
        throw new SluiceError(
          'LastAdminToken',
          `token ${row.name} is the last with admin scope: create another admin token before revoking it`,
        );
      this.db.prepare(SQL.tokens.delete).run(id);
    });
  }

  createAccessKey(key: AccessKeyRecord): Promise<void> {
    return this.write(() => {
      if (this.db.prepare(SQL.accessKeys.named).get(key.name))
        throw new SluiceError('CredentialAlreadyExists', `an access key named ${key.name} exists already`);
      this.db.prepare(SQL.accessKeys.insert).run(...credentialColumns(key), key.sealedSecret);
    });
  }

  getAccessKey(id: string): Promise<AccessKeyRecord | undefined> {
    return this.read(() => {
      const row = this.db.prepare(SQL.accessKeys.byId).get(id) as AccessKeyRow | undefined;
      return row && toAccessKey(row);
    });
  }

  listAccessKeys(): Promise<AccessKeyRecord[]> {
    return this.read(() => (this.db.prepare(SQL.accessKeys.all).all() as AccessKeyRow[]).map(toAccessKey));
  }

  deleteAccessKey(id: string): Promise<void> {
    return this.write(() => {
      if (this.db.prepare(SQL.accessKeys.delete).run(id).changes === 0)
        throw new SluiceError('CredentialNotFound', `no access key has id ${id}`);
    });
  }

  resealAccessKey(id: string, expected: string, sealedSecret: string): Promise<boolean> {
    return this.write(
      () => this.db.prepare(SQL.accessKeys.reseal).run(sealedSecret, id, expected).changes === 1,
    );
  }

  getCode(sha256: string): Promise<Buffer | undefined> {
    return this.read(() => {
      const row = this.db.prepare(SQL.codeBlobs.zip).get(sha256) as { zip: Buffer } | undefined;
      return row?.zip;
    });
  }

  private putBlob(code: CodeBlob): void {
    this.db
      .prepare('INSERT OR IGNORE INTO code_blobs (sha256, size, zip) VALUES (?, ?, ?)')
      .run(code.sha256, code.size, code.zip);
  }

  /** Drops blobs that no function and no version refers to any more. */
  private collectBlobs(candidates: readonly string[]): void {
    const drop = this.db.prepare(
      `DELETE FROM code_blobs WHERE sha256 = ?
       AND NOT EXISTS (SELECT 1 FROM functions WHERE code_sha256 = ?)
       AND NOT EXISTS (SELECT 1 FROM versions WHERE code_sha256 = ?)`,
    );
    for (const sha of new Set(candidates)) drop.run(sha, sha, sha);
  }

  private functionRow(name: string): FunctionRecord | undefined {
    const row = this.db.prepare(SQL.functions.byName).get(name) as FunctionRow | undefined;
    return row && toFunction(row);
  }

  private requireFunction(name: string): FunctionRecord {
    const fn = this.functionRow(name);
    if (!fn) throw functionNotFound(name);
    return fn;
  }

  createFunction(
    name: string,
    config: FunctionConfig,
    code: CodeBlob,
    change: Change,
  ): Promise<FunctionRecord> {
    return this.write(() => {
      if (this.functionRow(name))
        throw new SluiceError('FunctionAlreadyExists', `function ${name} exists already`);
      this.putBlob(code);
      this.db
        .prepare(
          'INSERT INTO functions (name, config_json, code_sha256, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(name, JSON.stringify(config), code.sha256, change.now, change.now);
      const plan = planAliasWrite(
        name,
        DEFAULT_ALIAS,
        undefined,
        0,
        { version: LATEST, description: '' },
        new Set(),
        change,
      );
      this.saveAlias(plan.record, plan.entry);
      return this.requireFunction(name);
    });
  }

  getFunction(name: string): Promise<FunctionRecord | undefined> {
    return this.read(() => this.functionRow(name));
  }

  listFunctions(options: ListOptions & { prefix?: string }): Promise<Page<FunctionRecord>> {
    return this.read(() => {
      const after = decodePageToken(options.nextToken) ?? '';
      const prefix = options.prefix ?? '';
      const rows = this.db
        .prepare(
          `${FUNCTION_SELECT} WHERE f.name > ? AND substr(f.name, 1, length(?)) = ? ORDER BY f.name LIMIT ?`,
        )
        .all(after, prefix, prefix, options.limit + 1) as FunctionRow[];
      return pageOf(rows.map(toFunction), options.limit, (f) => f.name);
    });
  }

  listFunctionNames(options: { after?: string; limit: number }): Promise<string[]> {
    return this.read(
      () =>
        this.db
          .prepare(SQL.functions.namesAfter)
          .pluck()
          .all(options.after ?? '', options.limit) as string[],
    );
  }

  getFunctionStates(names: readonly string[]): Promise<Map<string, FunctionState>> {
    return this.read(() => {
      const list = JSON.stringify(names);
      const states = new Map<string, FunctionState>();
      const fns = this.db
        .prepare(`${FUNCTION_SELECT} WHERE f.name IN (SELECT value FROM json_each(?))`)
        .all(list) as FunctionRow[];
      for (const row of fns) states.set(row.name, { fn: toFunction(row), versions: [], aliases: [] });
      const versions = this.db
        .prepare(
          `${VERSION_SELECT} WHERE v.function_name IN (SELECT value FROM json_each(?)) ORDER BY v.function_name, v.version`,
        )
        .all(list) as VersionRow[];
      for (const row of versions) states.get(row.function_name)?.versions.push(toVersion(row));
      const aliases = this.db
        .prepare(
          'SELECT * FROM aliases WHERE function_name IN (SELECT value FROM json_each(?)) ORDER BY function_name, name',
        )
        .all(list) as AliasRow[];
      for (const row of aliases) states.get(row.function_name)?.aliases.push(toAlias(row));
      return states;
    });
  }

  updateFunction(
    name: string,
    update: { config?: FunctionConfig; code?: CodeBlob; trigger?: HttpTrigger; async?: AsyncConfig },
    change: Change,
  ): Promise<FunctionRecord> {
    return this.write(() => {
      const current = this.requireFunction(name);
      if (update.code) this.putBlob(update.code);
      const asyncConfig = update.async ?? current.async;
      this.db
        .prepare(SQL.functions.update)
        .run(
          JSON.stringify(update.config ?? current.config),
          update.code?.sha256 ?? current.code.sha256,
          JSON.stringify(update.trigger ?? current.trigger),
          asyncConfig === undefined ? null : JSON.stringify(asyncConfig),
          change.now,
          name,
        );
      this.collectBlobs([current.code.sha256]);
      return this.requireFunction(name);
    });
  }

  deleteFunction(name: string): Promise<void> {
    return this.write(() => {
      const current = this.requireFunction(name);
      assertNotBound(this.stageRows(), name);
      const shas = (
        this.db.prepare(SQL.versions.codeOfFunction).all(name) as {
          code_sha256: string;
        }[]
      ).map((r) => r.code_sha256);
      this.db.prepare('DELETE FROM versions WHERE function_name = ?').run(name);
      this.db.prepare(SQL.functions.delete).run(name);
      this.db.prepare(SQL.metrics.ofFunctionDelete).run(name);
      this.db.prepare(SQL.logRuns.ofFunctionDelete).run(name);
      this.collectBlobs([current.code.sha256, ...shas]);
    });
  }

  private highestVersionIssued(name: string): number {
    const row = this.db.prepare(SQL.versionCounters.last).get(name) as { last_version: number } | undefined;
    return row?.last_version ?? 0;
  }

  publishVersion(name: string, description: string, change: Change): Promise<VersionRecord> {
    return this.write(() => {
      const latest = this.requireFunction(name);
      const lastRow = this.db.prepare(SQL.versions.last).get(name) as VersionRow | undefined;
      const version = planPublish(
        latest,
        lastRow && toVersion(lastRow),
        this.highestVersionIssued(name),
        description,
        change.now,
      );
      this.db.prepare(SQL.versionCounters.upsert).run(name, version.version);
      this.db
        .prepare(SQL.versions.insert)
        .run(
          name,
          version.version,
          description,
          JSON.stringify(version.config),
          version.code.sha256,
          change.now,
        );
      return version;
    });
  }

  private versionRow(name: string, version: number): VersionRecord | undefined {
    const row = this.db.prepare(SQL.versions.byNumber).get(name, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    return this.read(() => this.versionRow(name, version));
  }

  listVersions(name: string, options: VersionListOptions): Promise<Page<VersionRecord>> {
    return this.read(() => {
      this.requireFunction(name);
      const backward = options.direction === 'backward';
      const after = decodePageToken(options.nextToken, isVersionKey);
      const bound = after === undefined ? (backward ? Number.MAX_SAFE_INTEGER : 0) : Number(after);
      const rows = this.db
        .prepare(
          `${VERSION_SELECT} WHERE v.function_name = ? AND v.version ${backward ? '<' : '>'} ?
           ORDER BY v.version ${backward ? 'DESC' : 'ASC'} LIMIT ?`,
        )
        .all(name, bound, options.limit + 1) as VersionRow[];
      return pageOf(rows.map(toVersion), options.limit, (v) => String(v.version));
    });
  }

  deleteVersion(name: string, version: number): Promise<void> {
    return this.write(() => {
      this.requireFunction(name);
      const existing = this.versionRow(name, version);
      if (!existing) throw new SluiceError('VersionNotFound', `function ${name} has no version ${version}`);
      assertVersionUnused(name, version, this.aliasRows(name));
      assertNotBound(this.stageRows(), name, { version });
      assertNoTrigger(this.triggerRows(name), name, { version });
      assertNotInRollout(name, version, this.activeRollouts(name));
      this.db.prepare(SQL.versions.delete).run(name, version);
      this.db.prepare(SQL.provisioned.delete).run(name, String(version));
      this.collectBlobs([existing.code.sha256]);
    });
  }

  private aliasRows(name: string): AliasRecord[] {
    return (this.db.prepare(SQL.aliases.ofFunction).all(name) as AliasRow[]).map(toAlias);
  }

  private aliasRow(name: string, alias: string): AliasRecord | undefined {
    const row = this.db.prepare(SQL.aliases.byName).get(name, alias) as AliasRow | undefined;
    return row && toAlias(row);
  }

  private lastAliasRevision(name: string, alias: string): number {
    const row = this.db.prepare(SQL.aliasHistory.lastRevision).get(name, alias) as { r: number | null };
    return row.r ?? 0;
  }

  private versionSet(name: string): Set<number> {
    const rows = this.db.prepare(SQL.versions.numbers).all(name) as {
      version: number;
    }[];
    return new Set(rows.map((r) => r.version));
  }

  private saveAlias(record: AliasRecord, entry: AliasHistoryEntry): void {
    this.db.prepare(SQL.aliases.upsert).run(aliasValues(record));
    this.appendHistory(entry);
  }

  private appendHistory(entry: AliasHistoryEntry): void {
    this.db.prepare(SQL.aliasHistory.insert).run(aliasHistoryValues(entry));
  }

  putAlias(
    name: string,
    alias: string,
    spec: AliasSpec,
    write: AliasWrite,
  ): Promise<{ alias: AliasRecord; created: boolean }> {
    return this.write(() => {
      this.requireFunction(name);
      const plan = planAliasWrite(
        name,
        alias,
        this.aliasRow(name, alias),
        this.lastAliasRevision(name, alias),
        spec,
        this.versionSet(name),
        write,
      );
      this.saveAlias(plan.record, plan.entry);
      return { alias: plan.record, created: plan.created };
    });
  }

  getAlias(name: string, alias: string): Promise<AliasRecord | undefined> {
    return this.read(() => this.aliasRow(name, alias));
  }

  listAliases(name: string): Promise<AliasRecord[]> {
    return this.read(() => {
      this.requireFunction(name);
      return this.aliasRows(name);
    });
  }

  deleteAlias(name: string, alias: string, write: AliasWrite): Promise<void> {
    return this.write(() => {
      this.requireFunction(name);
      const entry = planAliasDelete(name, alias, this.aliasRow(name, alias), write);
      assertNotBound(this.stageRows(), name, { alias });
      assertNoTrigger(this.triggerRows(name), name, { alias });
      this.db.prepare(SQL.aliases.delete).run(name, alias);
      this.db.prepare(SQL.provisioned.delete).run(name, alias);
      this.appendHistory(entry);
    });
  }

  private historyRows(name: string, alias: string): AliasHistoryEntry[] {
    return (this.db.prepare(SQL.aliasHistory.ofAlias).all(name, alias) as AliasHistoryRow[]).map(
      toAliasHistory,
    );
  }

  aliasHistory(name: string, alias: string): Promise<AliasHistoryEntry[]> {
    return this.read(() => {
      this.requireFunction(name);
      const history = this.historyRows(name, alias);
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
    return this.write(() => {
      this.requireFunction(name);
      const plan = planAliasRollback(
        name,
        alias,
        this.aliasRow(name, alias),
        this.historyRows(name, alias),
        target,
        this.versionSet(name),
        write,
      );
      this.saveAlias(plan.record, plan.entry);
      return plan.record;
    });
  }

  private apiRow(name: string): ApiRecord | undefined {
    const row = this.db.prepare('SELECT * FROM apis WHERE name = ?').get(name) as ApiRow | undefined;
    return row && toApi(row);
  }

  private requireApi(name: string): ApiRecord {
    const api = this.apiRow(name);
    if (!api) throw new SluiceError('ApiNotFound', `API ${name} does not exist`);
    return api;
  }

  createApi(name: string, definition: ApiDefinition, change: Change): Promise<ApiRecord> {
    return this.write(() => {
      if (this.apiRow(name)) throw new SluiceError('ApiAlreadyExists', `API ${name} exists already`);
      this.db
        .prepare('INSERT INTO apis (name, definition_json, created_at, updated_at) VALUES (?, ?, ?, ?)')
        .run(name, JSON.stringify(definition), change.now, change.now);
      return this.requireApi(name);
    });
  }

  getApi(name: string): Promise<ApiRecord | undefined> {
    return this.read(() => this.apiRow(name));
  }

  listApis(): Promise<ApiRecord[]> {
    return this.read(() => (this.db.prepare(SQL.apis.all).all() as ApiRow[]).map(toApi));
  }

  updateApi(name: string, definition: ApiDefinition, change: Change): Promise<ApiRecord> {
    return this.write(() => {
      this.requireApi(name);
      assertRoutesKept(this.stageRows(name), definition);
      this.db.prepare(SQL.apis.update).run(JSON.stringify(definition), change.now, name);
      return this.requireApi(name);
    });
  }

  deleteApi(name: string): Promise<void> {
    return this.write(() => {
      this.requireApi(name);
      this.db.prepare('DELETE FROM stages WHERE api = ?').run(name);
      this.db.prepare('DELETE FROM stage_history WHERE api = ?').run(name);
      this.db.prepare(SQL.apis.delete).run(name);
    });
  }

  private stageRows(api?: string): StageRecord[] {
    const rows = (
      api === undefined ? this.db.prepare(SQL.stages.all).all() : this.db.prepare(SQL.stages.ofApi).all(api)
    ) as StageRow[];
    return rows.map(toStage);
  }

  private stageRow(api: string, stage: string): StageRecord | undefined {
    const row = this.db.prepare(SQL.stages.byName).get(api, stage) as StageRow | undefined;
    return row && toStage(row);
  }

  private checkBinding(binding: Binding): BindingCheck {
    if (!this.functionRow(binding.function)) return 'no-function';
    const qualifier = parseQualifier(binding.qualifier);
    if (qualifier.kind === 'alias')
      return this.aliasRow(binding.function, qualifier.alias) ? 'ok' : 'no-alias';
    if (qualifier.kind === 'version')
      return this.versionRow(binding.function, qualifier.version) ? 'ok' : 'no-version';
    return 'ok';
  }

  putStage(
    api: string,
    stage: string,
    spec: StageSpec,
    write: StageWrite,
  ): Promise<{ stage: StageRecord; created: boolean }> {
    return this.write(() => {
      this.requireApi(api);
      const last = this.db.prepare(SQL.stageHistory.lastRevision).get(api, stage) as { r: number | null };
      const plan = planStageWrite(
        api,
        stage,
        this.stageRow(api, stage),
        last.r ?? 0,
        spec,
        (b) => this.checkBinding(b),
        write,
      );
      this.db.prepare(SQL.stages.upsert).run(stageValues(plan.record));
      this.appendStageHistory(plan.entry);
      return { stage: plan.record, created: plan.created };
    });
  }

  private appendStageHistory(entry: StageHistoryEntry): void {
    this.db.prepare(SQL.stageHistory.insert).run(stageHistoryValues(entry));
  }

  getStage(api: string, stage: string): Promise<StageRecord | undefined> {
    return this.read(() => this.stageRow(api, stage));
  }

  listStages(api?: string): Promise<StageRecord[]> {
    return this.read(() => {
      if (api !== undefined) this.requireApi(api);
      return this.stageRows(api);
    });
  }

  deleteStage(api: string, stage: string, write: StageWrite): Promise<void> {
    return this.write(() => {
      this.requireApi(api);
      const entry = planStageDelete(api, stage, this.stageRow(api, stage), write);
      this.db.prepare(SQL.stages.delete).run(api, stage);
      this.appendStageHistory(entry);
    });
  }

  stageHistory(api: string, stage: string): Promise<StageHistoryEntry[]> {
    return this.read(() => {
      this.requireApi(api);
      const rows = this.db.prepare(SQL.stageHistory.ofStage).all(api, stage) as StageHistoryRow[];
      if (rows.length === 0) throw new SluiceError('StageNotFound', `API ${api} has no stage ${stage}`);
      return rows.map(toStageHistory);
    });
  }

  private rolloutRows(where: string, ...args: (string | number)[]): Rollout[] {
    const rows = this.db.prepare(`SELECT state_json FROM rollouts WHERE ${where}`).all(...args) as {
      state_json: string;
    }[];
    return rows.map((r) => fromJson<Rollout>(r.state_json));
  }

  private activeRollouts(name: string): Rollout[] {
    return this.rolloutRows("function_name = ? AND status IN ('running', 'paused')", name);
  }

  createRollout(rollout: Rollout): Promise<void> {
    return this.write(() => {
      this.requireFunction(rollout.functionName);
      assertNoActiveRollout(this.activeRollouts(rollout.functionName), rollout.alias);
      if (!this.versionRow(rollout.functionName, rollout.spec.target)) {
        throw new SluiceError(
          'VersionNotFound',
          `function ${rollout.functionName} has no version ${rollout.spec.target}`,
        );
      }
      this.db.prepare(SQL.rollouts.insert).run(rolloutValues(rollout));
    });
  }

  getRollout(id: string): Promise<Rollout | undefined> {
    return this.read(() => this.rolloutRows('id = ?', id)[0]);
  }

  listRollouts(functionName: string, alias?: string): Promise<Rollout[]> {
    return this.read(() => {
      this.requireFunction(functionName);
      return alias === undefined
        ? this.rolloutRows('function_name = ? ORDER BY created_at DESC, id', functionName)
        : this.rolloutRows(
            'function_name = ? AND alias = ? ORDER BY created_at DESC, id',
            functionName,
            alias,
          );
    });
  }

  listActiveRollouts(): Promise<Rollout[]> {
    return this.read(() => this.rolloutRows("status IN ('running', 'paused') ORDER BY created_at"));
  }

  saveRollout(rollout: Rollout, expectedUpdatedAt: string): Promise<boolean> {
    return this.write(() => this.updateRollout(rollout, expectedUpdatedAt));
  }

  saveRolloutAndAlias(
    rollout: Rollout,
    expectedUpdatedAt: string,
    spec: AliasSpec,
    write: AliasWrite,
  ): Promise<{ rollout: Rollout; alias: AliasRecord }> {
    return this.write(() => {
      this.requireFunction(rollout.functionName);
      const plan = planAliasWrite(
        rollout.functionName,
        rollout.alias,
        this.aliasRow(rollout.functionName, rollout.alias),
        this.lastAliasRevision(rollout.functionName, rollout.alias),
        spec,
        this.versionSet(rollout.functionName),
        write,
      );
      this.saveAlias(plan.record, plan.entry);
      const saved = { ...rollout, aliasRevision: plan.record.revision };
      if (!this.updateRollout(saved, expectedUpdatedAt)) throw rolloutChanged(rollout.id);
      return { rollout: saved, alias: plan.record };
    });
  }

  private updateRollout(rollout: Rollout, expectedUpdatedAt: string): boolean {
    const result = this.db
      .prepare(SQL.rollouts.update)
      .run(rollout.status, JSON.stringify(rollout), rollout.updatedAt, rollout.id, expectedUpdatedAt);
    return result.changes === 1;
  }

  claimRollout(id: string, node: string, now: number, leaseMs: number): Promise<boolean> {
    return this.write(() => {
      const result = this.db
        .prepare(
          `UPDATE rollouts SET lease_owner = ?, lease_expires = ?
           WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires < ?)`,
        )
        .run(node, now + leaseMs, id, node, now);
      return result.changes === 1;
    });
  }

  writeMetrics(rows: readonly MetricRow[]): Promise<void> {
    return this.telemetry.write({ op: 'writeMetrics', arg: rows });
  }

  queryMetrics(functionName: string, resolution: 10 | 60, from: number, to: number): Promise<MetricRow[]> {
    return this.read(() =>
      (this.db.prepare(SQL.metrics.range).all(resolution, functionName, from, to) as MetricDbRow[]).map(
        toMetricRow,
      ),
    );
  }

  appendLogs(records: readonly InvocationLog[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    return this.telemetry.write({
      op: 'appendLogs',
      arg: { count: records.length, runs: toLogRuns(records) },
    });
  }

  queryLogs(functionName: string, filter: LogFilter & { newestFirst?: boolean }): Promise<InvocationLog[]> {
    const where = ['function_name = ?'];
    const args: (string | number)[] = [functionName];
    const add = (clause: string, ...values: (string | number)[]) => {
      where.push(clause);
      args.push(...values);
    };
    const needles = runNeedles(filter);
    if (needles.versionId !== undefined) add('instr(records, ?) > 0', needles.versionId);
    if (needles.qualifier !== undefined) add('instr(records, ?) > 0', needles.qualifier);
    if (needles.requestId !== undefined) add('instr(records, ?) > 0', needles.requestId);
    if (needles.text !== undefined) add('instr(unicode_lower(records), unicode_lower(?)) > 0', needles.text);
    if (filter.since !== undefined) add('last_at >= ?', filter.since);
    if (filter.until !== undefined) add('first_at < ?', filter.until);
    if (filter.afterId !== undefined) {
      add('id_first > ? AND id_first + count - 1 > ?', filter.afterId - RUN_RECORDS, filter.afterId);
    }
    return queryLogRuns(filter, ({ newestFirst, cursor, rows }) =>
      this.read(() => {
        const past = cursor === undefined ? [] : [`id_first ${newestFirst ? '<' : '>'} ?`];
        return this.db
          .prepare(
            `SELECT id_first, function_name, first_at, records FROM log_runs
             WHERE ${[...where, ...past].join(' AND ')} ORDER BY id_first ${newestFirst ? 'DESC' : 'ASC'} LIMIT ?`,
          )
          .all(...args, ...(cursor === undefined ? [] : [cursor]), rows) as LogRunRow[];
      }),
    );
  }

  pruneTelemetry(before: TelemetryBounds): Promise<void> {
    return this.telemetry.write({ op: 'prune', arg: before });
  }

  putProvisioned(
    name: string,
    qualifier: string,
    spec: ProvisionedSpec,
    change: Change,
  ): Promise<{ record: ProvisionedRecord; created: boolean }> {
    return this.write(() => {
      this.requireFunction(name);
      const parsed = parseQualifier(qualifier);
      const exists =
        parsed.kind === 'latest' ||
        (parsed.kind === 'version'
          ? this.versionRow(name, parsed.version)
          : this.aliasRow(name, parsed.alias));
      if (!exists) throw qualifierMissing(name, parsed);
      const before = this.provisionedRow(name, qualifier);
      this.db
        .prepare(
          `INSERT INTO provisioned (function_name, qualifier, target, canary_ratio, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (function_name, qualifier) DO UPDATE
           SET target = excluded.target, canary_ratio = excluded.canary_ratio, updated_at = excluded.updated_at`,
        )
        .run(name, qualifier, spec.target, ratioColumn(spec.canaryRatio), change.now, change.now);
      return { record: this.provisionedRow(name, qualifier) as ProvisionedRecord, created: !before };
    });
  }

  private provisionedRow(name: string, qualifier: string): ProvisionedRecord | undefined {
    const row = this.db.prepare(SQL.provisioned.byQualifier).get(name, qualifier) as
      ProvisionedRow | undefined;
    return row && toProvisioned(row);
  }

  getProvisioned(name: string, qualifier: string): Promise<ProvisionedRecord | undefined> {
    return this.read(() => this.provisionedRow(name, qualifier));
  }

  listProvisioned(name?: string): Promise<ProvisionedRecord[]> {
    return this.read(() =>
      (
        (name === undefined
          ? this.db.prepare(SQL.provisioned.all).all()
          : this.db.prepare(SQL.provisioned.ofFunction).all(name)) as ProvisionedRow[]
      ).map(toProvisioned),
    );
  }

  deleteProvisioned(name: string, qualifier: string): Promise<void> {
    return this.write(() => {
      this.requireFunction(name);
      const result = this.db.prepare(SQL.provisioned.delete).run(name, qualifier);
      if (result.changes === 0) throw provisionedNotFound(name, qualifier);
    });
  }

  beatNode(beat: NodeBeat, forgetBefore: number): Promise<void> {
    return this.write(() => {
      this.db.prepare(SQL.nodes.beat).run(beat.node, beat.at, JSON.stringify(beat.provisioned));
      this.db.prepare(SQL.nodes.forget).run(forgetBefore);
    });
  }

  listNodes(): Promise<NodeBeat[]> {
    return this.read(() => (this.db.prepare(SQL.nodes.all).all() as NodeRow[]).map(toNodeBeat));
  }

  dropNode(node: string): Promise<void> {
    return this.write(() => {
      this.db.prepare(SQL.nodes.delete).run(node);
    });
  }

  private insertAsync(event: NewAsyncEvent): void {
    this.db.prepare(SQL.asyncEvents.insert).run(...asyncInsertValues(event));
  }

  enqueueAsync(event: NewAsyncEvent): Promise<void> {
    return this.write(() => {
      this.requireFunction(event.functionName);
      this.insertAsync(event);
    });
  }

  claimAsync(node: string, now: number, leaseMs: number, limit: number): Promise<AsyncEvent[]> {
    // One node writes this database: a write transaction is the whole lock.
    return this.write(() =>
      (
        this.db
          .prepare(
            `UPDATE async_events SET status = 'running', lease_owner = ?, lease_expires = ?
             WHERE id IN (
               SELECT id FROM async_events
               WHERE (status = 'queued' AND next_at <= ?) OR (status = 'running' AND lease_expires < ?)
               ORDER BY next_at LIMIT ?
             )
             RETURNING *`,
          )
          .all(node, now + leaseMs, now, now, limit) as AsyncEventRow[]
      )
        .map(toAsyncEvent)
        .sort((a, b) => a.nextAt - b.nextAt),
    );
  }

  nextAsyncDue(node: string): Promise<number | undefined> {
    return this.read(() => {
      const { at } = this.db
        .prepare(
          `SELECT MIN(at) AS at FROM (
             SELECT MIN(next_at) AS at FROM async_events WHERE status = 'queued'
             UNION ALL
             SELECT MIN(lease_expires) FROM async_events WHERE status = 'running' AND lease_owner <> ?
           )`,
        )
        .get(node) as { at: number | null };
      return at ?? undefined;
    });
  }

  renewAsyncLeases(node: string, ids: readonly string[], until: number): Promise<void> {
    return this.write(() => {
      const renew = this.db.prepare(
        `UPDATE async_events SET lease_expires = ? WHERE id = ? AND lease_owner = ? AND status = 'running'`,
      );
      for (const id of ids) renew.run(until, id, node);
    });
  }

  settleAsync(id: string, node: string, settle: AsyncSettle): Promise<boolean> {
    return this.write(() => {
      let destination: AsyncEvent['destination'];
      const event = settle.destination?.event;
      if (settle.destination) {
        const { target } = settle.destination;
        destination = !event
          ? { target, status: 'pending' }
          : this.functionRow(event.functionName)
            ? { target, status: 'delivered', requestId: event.id }
            : destinationGone(target, event.functionName);
      }
      const result = this.db
        .prepare(
          `UPDATE async_events SET ${ASYNC_SETTLE_COLUMNS.map((c) => `${c} = ?`).join(', ')},
             lease_owner = NULL, lease_expires = NULL
           WHERE id = ? AND lease_owner = ? AND status = 'running'`,
        )
        .run(...asyncSettleValues(settle, destination), id, node);
      if (result.changes !== 1) return false;
      if (event && destination?.status === 'delivered') this.insertAsync(event);
      return true;
    });
  }

  updateAsyncDestination(id: string, destination: NonNullable<AsyncEvent['destination']>): Promise<void> {
    return this.write(() => {
      this.db.prepare(SQL.asyncEvents.setDestination).run(JSON.stringify(destination), id);
    });
  }

  releaseAsync(node: string): Promise<number> {
    return this.write(
      () =>
        this.db
          .prepare(
            `UPDATE async_events SET status = 'queued', lease_owner = NULL, lease_expires = NULL
             WHERE lease_owner = ? AND status = 'running'`,
          )
          .run(node).changes,
    );
  }

  getAsync(functionName: string, id: string): Promise<AsyncEvent | undefined> {
    return this.read(() => {
      const row = this.db.prepare(SQL.asyncEvents.byId).get(functionName, id) as AsyncEventRow | undefined;
      return row && toAsyncEvent(row);
    });
  }

  listAsync(
    functionName: string,
    options: ListOptions & { status?: AsyncStatus },
  ): Promise<Page<AsyncEvent>> {
    return this.read(() => {
      this.requireFunction(functionName);
      const key = decodePageToken(options.nextToken, isAsyncPageKey);
      const where = ['function_name = ?'];
      const args: (string | number)[] = [functionName];
      if (options.status !== undefined) {
        where.push('status = ?');
        args.push(options.status);
      }
      if (key !== undefined) {
        const [at, id] = parseAsyncPageKey(key);
        where.push('(created_at < ? OR (created_at = ? AND id < ?))');
        args.push(at, at, id);
      }
      const rows = this.db
        .prepare(
          `SELECT * FROM async_events WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .all(...args, options.limit + 1) as AsyncEventRow[];
      return pageOf(rows.map(toAsyncEvent), options.limit, asyncPageKey);
    });
  }

  pruneAsync(before: number): Promise<void> {
    return this.write(() => {
      this.db.prepare(SQL.asyncEvents.prune).run(before);
    });
  }

  private triggerRows(name?: string): TriggerRecord[] {
    return (
      (name === undefined
        ? this.db.prepare(SQL.triggers.all).all()
        : this.db.prepare(SQL.triggers.ofFunction).all(name)) as TriggerRow[]
    ).map(toTrigger);
  }

  private triggerRow(name: string, trigger: string): TriggerRecord | undefined {
    const row = this.db.prepare(SQL.triggers.byName).get(name, trigger) as TriggerRow | undefined;
    return row && toTrigger(row);
  }

  /** A trigger's qualifier must name what exists, as a stage's binding must. */
  private requireQualifier(name: string, qualifier: string): void {
    const parsed = parseQualifier(qualifier);
    const exists =
      parsed.kind === 'latest' ||
      (parsed.kind === 'version' ? this.versionRow(name, parsed.version) : this.aliasRow(name, parsed.alias));
    if (!exists) throw qualifierMissing(name, parsed);
  }

  createTrigger(name: string, trigger: string, spec: TriggerSpec, change: Change): Promise<TriggerRecord> {
    return this.write(() => {
      this.requireFunction(name);
      if (this.triggerRow(name, trigger)) throw triggerExists(name, trigger);
      this.requireQualifier(name, spec.qualifier);
      this.db
        .prepare(
          `INSERT INTO triggers (function_name, name, kind, qualifier, spec_json, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(name, trigger, spec.kind, spec.qualifier, JSON.stringify(spec), change.now, change.now);
      return this.triggerRow(name, trigger) as TriggerRecord;
    });
  }

  updateTrigger(name: string, trigger: string, spec: TriggerSpec, change: Change): Promise<TriggerRecord> {
    return this.write(() => {
      this.requireFunction(name);
      if (!this.triggerRow(name, trigger)) throw triggerNotFound(name, trigger);
      this.requireQualifier(name, spec.qualifier);
      this.db
        .prepare(
          `UPDATE triggers SET kind = ?, qualifier = ?, spec_json = ?, updated_at = ?
           WHERE function_name = ? AND name = ?`,
        )
        .run(spec.kind, spec.qualifier, JSON.stringify(spec), change.now, name, trigger);
      return this.triggerRow(name, trigger) as TriggerRecord;
    });
  }

  getTrigger(name: string, trigger: string): Promise<TriggerRecord | undefined> {
    return this.read(() => this.triggerRow(name, trigger));
  }

  listTriggers(name?: string): Promise<TriggerRecord[]> {
    return this.read(() => {
      if (name !== undefined) this.requireFunction(name);
      return this.triggerRows(name);
    });
  }

  deleteTrigger(name: string, trigger: string): Promise<void> {
    return this.write(() => {
      this.requireFunction(name);
      const result = this.db.prepare(SQL.triggers.delete).run(name, trigger);
      if (result.changes === 0) throw triggerNotFound(name, trigger);
    });
  }

  fireTimer(name: string, trigger: string, at: number, event: NewAsyncEvent): Promise<boolean> {
    return this.write(() => {
      const moved = this.db
        .prepare(
          `UPDATE triggers SET last_fired = ?
           WHERE function_name = ? AND name = ? AND kind = 'timer' AND (last_fired IS NULL OR last_fired < ?)`,
        )
        .run(at, name, trigger, at);
      if (moved.changes !== 1) return false;
      this.insertAsync(event);
      return true;
    });
  }
}
