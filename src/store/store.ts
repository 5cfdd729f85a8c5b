import type { AliasSpec, RollbackTarget } from '../core/alias.js';
import type { FunctionConfig } from '../core/function-config.js';
import type { InvocationLog, LogFilter, MetricRow } from '../core/telemetry.js';
import type { Rollout } from '../core/rollout.js';
import type { HttpTrigger } from '../core/trigger.js';
import type { AsyncEvent, AsyncSettlement, NewAsyncEvent } from '../core/async-invocation.js';
import type { AsyncConfig, AsyncStatus } from '../core/async-config.js';
import type { ApiDefinition, StageSpec } from '../core/api-gateway.js';
import type { ProvisionedSpec } from '../core/provisioned.js';
import type { Scope } from '../core/credentials.js';
import type { TriggerRecord, TriggerSpec } from '../core/triggers.js';
import type {
  AliasHistoryEntry,
  AliasRecord,
  ApiRecord,
  CodeRef,
  FunctionRecord,
  NodeBeat,
  Page,
  ProvisionedRecord,
  StageHistoryEntry,
  StageRecord,
  VersionRecord,
} from '../core/model.js';

/** A normalized code package with its digest, ready to be stored content-addressed. */
export interface CodeBlob extends CodeRef {
  zip: Buffer;
}

/** What every credential has: a name unique among its kind, a scope, and optionally a prefix of function names. */
export interface CredentialRecord {
  id: string;
  name: string;
  scope: Scope;
  functionPrefix?: string;
  createdAt: string;
}

/** A bearer token, kept by the sha256 of the token: the store never holds one that works. */
export interface TokenRecord extends CredentialRecord {
  sha256: string;
}

/**
 * An access-key pair: the server needs the secret to check signatures, so the store keeps it sealed with the
 * server's key (src/auth/seal.ts), never in clear.
 */
export interface AccessKeyRecord extends CredentialRecord {
  sealedSecret: string;
}

/** Who makes a change and when: recorded in histories, and the only clock the store sees. */
export interface Change {
  actor: string;
  now: string;
}

export interface AliasWrite extends Change {
  /** Refuse the write unless the alias is at this revision (`If-Match`). */
  expectedRevision?: number;
  /** Refuse the write if the alias exists (`If-None-Match: *`). */
  createOnly?: boolean;
}

export interface StageWrite extends Change {
  /** Refuse the write unless the stage is at this revision (`If-Match`). */
  expectedRevision?: number;
  /** Refuse the write if the stage exists (`If-None-Match: *`). */
  createOnly?: boolean;
}

/** A write's answer as it was sent, kept so that a retry with the same `Idempotency-Key` gets it again. */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The body, base64. */
  body: string;
  /** The answer was a refusal: the body holds its code, message and details, to be thrown again. */
  refusal?: boolean;
}

/** A write's `Idempotency-Key` as first seen: what was asked, and its answer once there is one. */
export interface IdempotencyRecord {
  fingerprint: string;
  /** Absent while the first request runs (or if its node died before it answered). */
  response?: StoredResponse;
  /** Epoch ms. */
  createdAt: number;
}

export interface IdempotencyClaim {
  /** The credential that sent the key: keys of different credentials never meet. */
  scope: string;
  key: string;
  fingerprint: string;
  /** Epoch ms. */
  now: number;
  /** Records created before this (epoch ms) are forgotten. */
  expiredBefore: number;
  /** A record still without an answer created before this was left by a node that died: it may be claimed anew. */
  abandonedBefore: number;
}

/** A function with everything the data plane routes by. */
export interface FunctionState {
  fn: FunctionRecord;
  /** Oldest first. */
  versions: VersionRecord[];
  aliases: AliasRecord[];
}

/** How an attempt ended, with what its destination gets: a function's event, queued in the same transaction. */
export interface AsyncSettle {
  settlement: Omit<AsyncSettlement, 'destination'>;
  destination?: { target: string; event?: NewAsyncEvent };
}

export interface ListOptions {
  limit: number;
  nextToken?: string;
}

/** Versions are listed oldest first (`forward`, the default) or newest first (`backward`). */
export interface VersionListOptions extends ListOptions {
  direction?: 'forward' | 'backward';
}

/**
 * The one store interface. Every method is a single atomic operation; domain decisions come from the pure
 * core and are taken inside the operation's transaction, so that concurrent writers cannot interleave.
 * Failures are SluiceErrors from the catalog (FunctionNotFound, AliasConflict, VersionInUse …).
 */
export interface Store {
  close(): Promise<void>;

  countTokens(): Promise<number>;
  /**
   * Stores the token when the store holds none yet, atomically: of nodes racing to do it, one does. Its scope is
   * `admin` whatever the record says.
   */
  createFirstToken(token: Omit<TokenRecord, 'scope' | 'functionPrefix'>): Promise<boolean>;
  /** Refused with CredentialAlreadyExists when a token has that name. */
  createToken(token: TokenRecord): Promise<void>;
  /** By name. */
  listTokens(): Promise<TokenRecord[]>;
  /** Refused with CredentialNotFound, or LastAdminToken for the only token with admin scope. */
  deleteToken(id: string): Promise<void>;
  /** Refused with CredentialAlreadyExists when an access key has that name. */
  createAccessKey(key: AccessKeyRecord): Promise<void>;
  getAccessKey(id: string): Promise<AccessKeyRecord | undefined>;
  /** By name. */
  listAccessKeys(): Promise<AccessKeyRecord[]>;
  /** Refused with CredentialNotFound. */
  deleteAccessKey(id: string): Promise<void>;
  /** Replaces a key's sealed secret if it is still `expected` (a rotation of the server's key); false if not. */
  resealAccessKey(id: string, expected: string, sealedSecret: string): Promise<boolean>;
  /**
   * Claims an `Idempotency-Key` for a write about to run: undefined when this call claimed it, else the record
   * of the request that did (expired and abandoned records are dropped first).
   */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined>;
  /** Keeps a claimed key's answer, or, without one, releases the key so that a retry runs the write again. */
  settleIdempotencyKey(scope: string, key: string, response: StoredResponse | undefined): Promise<void>;
  findTokenByHash(sha256: string): Promise<TokenRecord | undefined>;
  /**
   * Records that an access key signed a request with this nonce, kept until `expiresAt` (epoch ms): false when
   * the key used the nonce already and that use has not expired, so that a signed request is served once
   * whichever node it reaches. Expired nonces are forgotten on the way.
   */
  claimNonce(accessKeyId: string, nonce: string, expiresAt: number, now: number): Promise<boolean>;

  getCode(sha256: string): Promise<Buffer | undefined>;

  /** Creates the function with its `$LATEST` and its `$DEFAULT` alias pointing at `$LATEST`. */
  createFunction(
    name: string,
    config: FunctionConfig,
    code: CodeBlob,
    change: Change,
  ): Promise<FunctionRecord>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listFunctions(options: ListOptions & { prefix?: string }): Promise<Page<FunctionRecord>>;
  /**
   * The names of the functions that sort after `after` (all, without it), at most `limit`, in order: what a
   * reload of the routing table lists, a page at a time, before reading their states.
   */
  listFunctionNames(options: { after?: string; limit: number }): Promise<string[]>;
  /**
   * The named functions that exist, each with its versions and aliases as of one moment: a reload of
   * thousands of functions reads them a page at a time, not three queries per function.
   */
  getFunctionStates(names: readonly string[]): Promise<Map<string, FunctionState>>;
  /** Changes `$LATEST` only: its configuration, its code, or both. */
  updateFunction(
    name: string,
    update: { config?: FunctionConfig; code?: CodeBlob; trigger?: HttpTrigger; async?: AsyncConfig },
    change: Change,
  ): Promise<FunctionRecord>;
  deleteFunction(name: string): Promise<void>;

  /** Snapshots `$LATEST` as the next version number, unless nothing changed since the newest version. */
  publishVersion(name: string, description: string, change: Change): Promise<VersionRecord>;
  getVersion(name: string, version: number): Promise<VersionRecord | undefined>;
  /** A page of versions; its token continues in the direction it was given for. */
  listVersions(name: string, options: VersionListOptions): Promise<Page<VersionRecord>>;
  deleteVersion(name: string, version: number): Promise<void>;

  createApi(name: string, definition: ApiDefinition, change: Change): Promise<ApiRecord>;
  getApi(name: string): Promise<ApiRecord | undefined>;
  listApis(): Promise<ApiRecord[]>;
  /** Replaces an API's routes; refused while a stage binds a route that would go. */
  updateApi(name: string, definition: ApiDefinition, change: Change): Promise<ApiRecord>;
  /** Deletes an API with its stages. */
  deleteApi(name: string): Promise<void>;
  /** Creates or replaces a stage; every binding must name an existing function, alias or version. */
  putStage(
    api: string,
    stage: string,
    spec: StageSpec,
    write: StageWrite,
  ): Promise<{ stage: StageRecord; created: boolean }>;
  getStage(api: string, stage: string): Promise<StageRecord | undefined>;
  listStages(api?: string): Promise<StageRecord[]>;
  deleteStage(api: string, stage: string, write: StageWrite): Promise<void>;
  stageHistory(api: string, stage: string): Promise<StageHistoryEntry[]>;

  /** Stores a new rollout; refused while the alias has an active one, or when its versions are missing. */
  createRollout(rollout: Rollout): Promise<void>;
  getRollout(id: string): Promise<Rollout | undefined>;
  /** A function's rollouts (of one alias, if given), newest first. */
  listRollouts(functionName: string, alias?: string): Promise<Rollout[]>;
  listActiveRollouts(): Promise<Rollout[]>;
  /** Saves a rollout's new state unless it changed since `expectedUpdatedAt` (then false). */
  saveRollout(rollout: Rollout, expectedUpdatedAt: string): Promise<boolean>;
  /**
   * Writes a rollout's alias and saves its new state in one transaction, so that no node ever sees the alias
   * moved by a rollout whose record does not say so. The rollout is saved with `aliasRevision` set to the
   * revision written. Refused with AliasConflict when the alias is not at `write.expectedRevision`, and with
   * RolloutNotActive when the rollout changed since `expectedUpdatedAt`; either way nothing is written.
   */
  saveRolloutAndAlias(
    rollout: Rollout,
    expectedUpdatedAt: string,
    spec: AliasSpec,
    write: AliasWrite,
  ): Promise<{ rollout: Rollout; alias: AliasRecord }>;
  /** Takes or renews the lease that lets one node drive a rollout; false while another node holds it. */
  claimRollout(id: string, node: string, now: number, leaseMs: number): Promise<boolean>;

  /** Writes metric rows, each replacing the same node's earlier row for its series and bucket. */
  writeMetrics(rows: readonly MetricRow[]): Promise<void>;
  /** Every node's rows of a function at one resolution, for buckets starting in [from, to) (epoch seconds). */
  queryMetrics(functionName: string, resolution: 10 | 60, from: number, to: number): Promise<MetricRow[]>;
  appendLogs(records: readonly InvocationLog[]): Promise<void>;
  /** A function's logs, oldest first (newest first when `newestFirst`), filtered. */
  queryLogs(functionName: string, filter: LogFilter & { newestFirst?: boolean }): Promise<InvocationLog[]>;
  /** Drops telemetry older than the given epoch times (ms for logs, seconds for metric buckets). */
  pruneTelemetry(before: { metrics10: number; metrics60: number; logs: number }): Promise<void>;

  putAlias(
    name: string,
    alias: string,
    spec: AliasSpec,
    write: AliasWrite,
  ): Promise<{ alias: AliasRecord; created: boolean }>;
  getAlias(name: string, alias: string): Promise<AliasRecord | undefined>;
  listAliases(name: string): Promise<AliasRecord[]>;
  deleteAlias(name: string, alias: string, write: AliasWrite): Promise<void>;
  aliasHistory(name: string, alias: string): Promise<AliasHistoryEntry[]>;
  rollbackAlias(name: string, alias: string, target: RollbackTarget, write: AliasWrite): Promise<AliasRecord>;

  /**
   * Creates or replaces a qualifier's provisioned instances; the qualifier (`$LATEST`, a version number or an
   * alias name) must exist. Deleting the function, the alias or the version deletes them too.
   */
  putProvisioned(
    name: string,
    qualifier: string,
    spec: ProvisionedSpec,
    change: Change,
  ): Promise<{ record: ProvisionedRecord; created: boolean }>;
  getProvisioned(name: string, qualifier: string): Promise<ProvisionedRecord | undefined>;
  /** A function's provisioned qualifiers, or every function's, by function and qualifier. */
  listProvisioned(name?: string): Promise<ProvisionedRecord[]>;
  /** Refused with ProvisionedNotFound when the qualifier has none. */
  deleteProvisioned(name: string, qualifier: string): Promise<void>;

  /** Queues an asynchronous invocation; FunctionNotFound when the function is gone. */
  enqueueAsync(event: NewAsyncEvent): Promise<void>;
  /**
   * Takes up to `limit` events due at `now` for `node`, under a lease until `now + leaseMs`: queued events, and
   * running ones whose lease ran out (their node died). Of nodes claiming at once, each event goes to one.
   */
  claimAsync(node: string, now: number, leaseMs: number, limit: number): Promise<AsyncEvent[]>;
  /**
   * When `node` could next claim something (epoch ms): the earliest time a queued event is due, or a lease of
   * another node's runs out. Undefined when nothing is queued or held elsewhere, so that an idle node sleeps.
   */
  nextAsyncDue(node: string): Promise<number | undefined>;
  /** Extends the leases of the events this node still runs. */
  renewAsyncLeases(node: string, ids: readonly string[], until: number): Promise<void>;
  /**
   * Ends an attempt of an event this node holds: queued again, or ended, with its destination's event queued
   * too. False (and nothing written) when the node no longer holds it: its lease ran out and another took it.
   */
  settleAsync(id: string, node: string, settle: AsyncSettle): Promise<boolean>;
  /** Records what became of an ended event's URL destination. */
  updateAsyncDestination(id: string, destination: NonNullable<AsyncEvent['destination']>): Promise<void>;
  /** Puts back in the queue the events a node held when it stopped (a node restarted under its old id). */
  releaseAsync(node: string): Promise<number>;
  getAsync(functionName: string, id: string): Promise<AsyncEvent | undefined>;
  /** A function's events, newest first. */
  listAsync(functionName: string, options: ListOptions & { status?: AsyncStatus }): Promise<Page<AsyncEvent>>;
  /** Forgets events that ended before `before` (epoch ms). */
  pruneAsync(before: number): Promise<void>;

  /** Creates a trigger; its qualifier must exist (TriggerAlreadyExists when the name is taken). */
  createTrigger(name: string, trigger: string, spec: TriggerSpec, change: Change): Promise<TriggerRecord>;
  /** Replaces a trigger's spec (TriggerNotFound when it does not exist); a timer keeps its last firing. */
  updateTrigger(name: string, trigger: string, spec: TriggerSpec, change: Change): Promise<TriggerRecord>;
  getTrigger(name: string, trigger: string): Promise<TriggerRecord | undefined>;
  /** A function's triggers by name, or every function's (for the nodes that run them). */
  listTriggers(name?: string): Promise<TriggerRecord[]>;
  deleteTrigger(name: string, trigger: string): Promise<void>;
  /**
   * Fires a timer for the time `at`, once among all nodes: moves its last firing to `at` unless it is there or
   * beyond already, and queues `event` in the same transaction. False when another node fired it first.
   */
  fireTimer(name: string, trigger: string, at: number, event: NewAsyncEvent): Promise<boolean>;

  /** Records a node's heartbeat, replacing its last, and forgets nodes silent since `forgetBefore` (epoch ms). */
  beatNode(beat: NodeBeat, forgetBefore: number): Promise<void>;
  /** Every node's last heartbeat, by node id. */
  listNodes(): Promise<NodeBeat[]>;
  /** A node that stops says so, so that the others take its share at once. */
  dropNode(node: string): Promise<void>;
}
