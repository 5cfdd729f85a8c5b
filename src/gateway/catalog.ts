import { setImmediate } from 'node:timers/promises';
import { RouteMatcher, type StageSpec } from '../core/api-gateway.js';
import type { FunctionRecord, VersionRecord } from '../core/model.js';
import type { HttpTrigger } from '../core/trigger.js';
import { type AsyncConfig, DEFAULT_ASYNC_CONFIG } from '../core/async-config.js';
import { LATEST_VERSION_ID } from '../core/qualifier.js';
import { LATEST, type VersionRef } from '../core/names.js';
import { compileRoute, type CompiledRoute, routeParts, type RouteParts } from '../core/routing.js';
import type { FunctionState, Store } from '../store/store.js';
import type { RunnableVersion } from '../runtime/instance.js';

/** What the data plane knows of one API: its routes, compiled, and its stages. */
export interface ApiSnapshot {
  name: string;
  matcher: RouteMatcher;
  stages: ReadonlyMap<string, StageSpec>;
}

/** What the data plane knows of one function: everything an invocation needs, held in memory. */
export interface FunctionSnapshot {
  name: string;
  latest: RunnableVersion;
  trigger: HttpTrigger;
  /** How its asynchronous invocations are retried, aged and passed on. */
  async: AsyncConfig;
  versions: ReadonlyMap<number, RunnableVersion>;
  /** Each alias, compiled when it was written. */
  aliases: ReadonlyMap<string, AliasRoute>;
}

/**
 * An alias as the data plane routes by it: compiled, its versions the runnable ones themselves, so that a
 * decision reads nothing else (undefined: a version the snapshot lacks, which the store never lets happen).
 */
export type AliasRoute = CompiledRoute<RunnableVersion | undefined>;

/** Functions a reload lists and reads at a time. */
const PAGE = 100;
/** Functions read in one store call at most. */
const MAX_BATCH = 500;

function runnable(record: FunctionRecord | VersionRecord, versionId: string): RunnableVersion {
  const functionName = 'functionName' in record ? record.functionName : record.name;
  // A published version never changes and its number is never reused; `$LATEST` changes in place.
  const state = versionId === LATEST_VERSION_ID ? JSON.stringify(record.config) : '';
  const key = [functionName, versionId, record.code.sha256, state].join('\u0000');
  return { key, functionName, versionId, config: record.config, codeSha256: record.code.sha256 };
}

/** A function as the store holds it, compiled for routing: what the catalog keeps of it. */
function snapshotOf(state: FunctionState, share: RouteParts): FunctionSnapshot {
  const name = state.fn.name;
  const latest = runnable(state.fn, LATEST_VERSION_ID);
  const versions = new Map(
    state.versions.map((v) => [v.version, runnable(v, share.text(String(v.version)))] as const),
  );
  const options = {
    resolve: (ref: VersionRef) => (ref === LATEST ? latest : versions.get(ref)),
    share,
  };
  const aliases = new Map(
    state.aliases.map((a): [string, AliasRoute] => [
      share.text(a.name),
      compileRoute(a.spec, `${name}/${a.name}`, options),
    ]),
  );
  return {
    name,
    latest,
    trigger: state.fn.trigger,
    async: state.fn.async ?? DEFAULT_ASYNC_CONFIG,
    versions,
    aliases,
  };
}

/**
 * The data plane's in-memory copy of the store: read on the invocation path, never the store itself.
 * The control plane tells it which function changed; refreshes of one function run one after another,
 * so that an older read never replaces a newer one.
 */
export class Catalog {
  private readonly functions = new Map<string, FunctionSnapshot>();
  private readonly apis = new Map<string, ApiSnapshot>();
  private readonly refreshing = new Map<string, Promise<void>>();
  /** Per key, the load queued behind the running one that has not started yet. */
  private readonly waiting = new Map<string, Promise<void>>();
  private batch: { names: Set<string>; states: Promise<Map<string, FunctionState>> } | undefined;
  /**
   * What snapshots share: alias names, version ids, rules and the names and values in them. Begun again at each
   * full reload, so that it holds what the functions name, not all they ever named.
   */
  private share = routeParts();

  constructor(private readonly store: Store) {}

  get(name: string): FunctionSnapshot | undefined {
    return this.functions.get(name);
  }

  getApi(name: string): ApiSnapshot | undefined {
    return this.apis.get(name);
  }

  /** How many functions and APIs the data plane knows. */
  counts(): { functions: number; apis: number } {
    return { functions: this.functions.size, apis: this.apis.size };
  }

  /**
   * Reloads everything from the store: every function and API it lists, and those held here that it no longer
   * lists (deleted meanwhile: their refresh drops them). Each goes through its serialized refresh, so that a
   * change refreshed at the same time is never overwritten by an older read.
   */
  async loadAll(): Promise<void> {
    this.share = routeParts();
    const apis = (await this.store.listApis()).map((api) => api.name);
    const gone = [...this.apis.keys()].filter((name) => !apis.includes(name));
    await Promise.all([...apis, ...gone].map((name) => this.refreshApi(name)));
    const listed = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const names = await this.store.listFunctionNames({
        limit: PAGE,
        ...(after !== undefined && { after }),
      });
      for (const name of names) listed.add(name);
      await Promise.all(names.map((name) => this.refresh(name)));
      // A store that answers at once (SQLite) would otherwise hold the event loop for the whole reload:
      // seconds, over thousands of functions, during which no request is served.
      await setImmediate();
      if (names.length < PAGE) break;
      after = names.at(-1);
    }
    await Promise.all([...this.functions.keys()].filter((n) => !listed.has(n)).map((n) => this.refresh(n)));
  }

  refresh(name: string): Promise<void> {
    return this.serialized(`function:${name}`, () => this.load(name));
  }

  refreshApi(name: string): Promise<void> {
    return this.serialized(`api:${name}`, () => this.loadApi(name));
  }

  /**
   * Runs `load` after the key's running load, if any. A load already waiting to start is shared instead of
   * queueing another: it has yet to read, so it will see whatever its new caller committed.
   */
  private serialized(key: string, load: () => Promise<void>): Promise<void> {
    const waiting = this.waiting.get(key);
    if (waiting) return waiting;
    const previous = this.refreshing.get(key) ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => {
        if (this.waiting.get(key) === next) this.waiting.delete(key);
        return load();
      });
    this.waiting.set(key, next);
    this.refreshing.set(key, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.refreshing.get(key) === next) this.refreshing.delete(key);
      });
    return next;
  }

  private async loadApi(name: string): Promise<void> {
    const api = await this.store.getApi(name);
    if (!api) {
      this.apis.delete(name);
      return;
    }
    const stages = new Map((await this.store.listStages(name)).map((s) => [s.name, s.spec] as const));
    this.apis.set(name, { name, matcher: new RouteMatcher(api.definition.routes), stages });
  }

  private async load(name: string): Promise<void> {
    const state = await this.readState(name);
    if (state) this.functions.set(name, snapshotOf(state, this.share));
    else this.functions.delete(name);
  }

  /**
   * Reads of functions asked for in the same turn of the event loop (a reload's page, a burst of changes)
   * go to the store as one call. Each load still reads after the previous load of its function ended.
   */
  private readState(name: string): Promise<FunctionState | undefined> {
    let batch = this.batch;
    if (!batch || batch.names.size >= MAX_BATCH) {
      const names = new Set<string>();
      const started = new Promise<void>((resolve) => {
        process.nextTick(resolve);
      });
      const states = started.then(() => {
        if (this.batch?.names === names) this.batch = undefined;
        return this.store.getFunctionStates([...names]);
      });
      batch = { names, states };
      this.batch = batch;
    }
    batch.names.add(name);
    return batch.states.then((states) => states.get(name));
  }
}
