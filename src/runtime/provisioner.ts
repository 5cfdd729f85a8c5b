import { backoffDelay, type Backoff } from '../core/backoff.js';
import type { NodeBeat, ProvisionedRecord } from '../core/model.js';
import { formatVersionRef, LATEST, parseQualifier, type VersionRef } from '../core/names.js';
import {
  planNode,
  type ProvisionedReport,
  type ProvisionedRole,
  type Traffic,
  trafficOfAlias,
} from '../core/provisioned.js';
import type { AliasSpec } from '../core/alias.js';
import type { Store } from '../store/store.js';
import type { RunnableVersion } from './instance.js';
import type { PinnedInstance } from './pool.js';
import { CoalescedRun } from '../timing/coalesced-run.js';

/** What the provisioner reads of a function in the data plane's snapshot. */
export interface ProvisionTargets {
  latest: RunnableVersion;
  versions: ReadonlyMap<number, RunnableVersion>;
  aliases: ReadonlyMap<string, { spec: AliasSpec }>;
}

export interface ProvisionerDeps {
  store: Pick<Store, 'listProvisioned' | 'beatNode' | 'listNodes' | 'dropNode'>;
  /** The pool, through the one call it needs. */
  pool: { pin(version: RunnableVersion): PinnedInstance };
  snapshot: (functionName: string) => ProvisionTargets | undefined;
  /** This node's id, as its heartbeats carry it. */
  node: string;
  /** The store is shared with other nodes (PostgreSQL): they divide the targets. Alone, a node runs them all. */
  shared: boolean;
  /** How often this node beats and reads the others' beats and the targets. */
  heartbeatMs: number;
  /** A node silent for this long is gone, and its share is taken over. */
  expireMs: number;
  /** Waits after starts that failed, per version. */
  retry?: Backoff;
  log: (line: string) => void;
  now?: () => number;
}

interface Member {
  instance: PinnedInstance;
  ready: boolean;
  released: boolean;
}

/** This node's instances of one version for one qualifier. */
interface Group {
  functionName: string;
  qualifier: string;
  version: RunnableVersion;
  ref: VersionRef;
  role: ProvisionedRole;
  /** How many this node should keep now. */
  target: number;
  members: Set<Member>;
  /** Starts that failed since one succeeded, and when the next may be tried. */
  failed: number;
  retryAt: number;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Where a qualifier's traffic goes in a function's snapshot, or undefined when it names nothing there. */
function trafficIn(targets: ProvisionTargets, qualifier: string): Traffic | undefined {
  const parsed = parseQualifier(qualifier);
  if (parsed.kind === 'latest') return { primary: LATEST };
  if (parsed.kind === 'version') return { primary: parsed.version };
  const alias = targets.aliases.get(parsed.alias);
  return alias && trafficOfAlias(alias.spec);
}

/**
 * Keeps this node's share of every qualifier's provisioned instances started, initialized and warm: it plans
 * with the pure core (`planNode`) from the targets in the store, the aliases in the data plane's snapshot and
 * the live nodes' heartbeats, and holds the instances through the pool's `pin`. An instance that exits is
 * replaced at once; starts that fail are retried with backoff. When the plan moves instances from one version
 * to another (a promotion, a canary's weight, new code of `$LATEST`), the new ones start first and the old
 * ones stop only once every new one is ready or failing, so that no provisioned share is ever without
 * instances.
 */
export class Provisioner {
  private readonly groups = new Map<string, Group>();
  private configs: ProvisionedRecord[] = [];
  private nodes: string[];
  private readonly now: () => number;
  private readonly retry: Backoff;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly beats = new CoalescedRun(
    async () => {
      await this.read();
      this.reconcile();
      return true;
    },
    () => this.closed,
  );
  private closed = false;
  private lastError: string | undefined;
  /** The report the last beat carried, and the beat asked for because it changed since. */
  private beaten = '';
  private beatTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: ProvisionerDeps) {
    this.now = deps.now ?? Date.now;
    this.retry = deps.retry ?? { firstMs: 500, maxMs: 30_000, jitter: 0.2 };
    this.nodes = [deps.node];
  }

  /**
   * Reads the targets and starts this node's share; then, on a shared store, beats every `heartbeatMs`. A node
   * alone has no one to tell it lives: it reads again when told of a change, and is idle otherwise.
   */
  async start(): Promise<void> {
    await this.tick();
    if (!this.deps.shared) return;
    this.timer = setInterval(() => {
      void this.tick();
    }, this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** A function's configuration, aliases or provisioned targets changed: plan again with them. */
  changed(): void {
    void this.tick();
  }

  /** What this node runs of each qualifier's provisioned instances, per version. */
  report(): ProvisionedReport[] {
    const out = new Map<string, ProvisionedReport>();
    for (const g of this.groups.values()) {
      const versionId = formatVersionRef(g.ref);
      const key = `${g.functionName}\u0000${g.qualifier}\u0000${versionId}`;
      const r = out.get(key) ?? {
        functionName: g.functionName,
        qualifier: g.qualifier,
        versionId,
        role: g.role,
        target: 0,
        started: 0,
        ready: 0,
        failed: 0,
      };
      // Two groups of one version id: `$LATEST` before and after its code changed, the old one stopping.
      r.target += g.target;
      r.started += g.members.size;
      r.ready += [...g.members].filter((m) => m.ready).length;
      r.failed += g.failed;
      out.set(key, r);
    }
    return [...out.values()];
  }

  /** The nodes this node divides the targets with, itself included. */
  liveNodes(): readonly string[] {
    return this.nodes;
  }

  /** Stops planning and tells the other nodes at once that this one is gone; the pool stops the instances. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.beatTimer);
    await this.beats.current;
    await this.deps.store.dropNode(this.deps.node).catch((error: unknown) => {
      this.deps.log(
        `provisioned: could not say this node stops (${message(error)}); the others will see it expire`,
      );
    });
  }

  /** One beat: announce this node, read the others and the targets, then plan. One at a time. */
  private tick(): Promise<void> {
    return this.beats.request();
  }

  private async read(): Promise<void> {
    const { store, node, shared, expireMs } = this.deps;
    const now = this.now();
    try {
      const beat: NodeBeat = { node, at: now, provisioned: this.report() };
      this.beaten = JSON.stringify(beat.provisioned);
      await store.beatNode(beat, now - expireMs);
      const [configs, beats] = await Promise.all([
        store.listProvisioned(),
        shared ? store.listNodes() : Promise.resolve([]),
      ]);
      this.configs = configs;
      const live = beats.filter((b) => b.at >= now - expireMs).map((b) => b.node);
      this.nodes = [...new Set([node, ...live])].sort();
      if (this.lastError !== undefined) this.deps.log('provisioned: the store answers again');
      this.lastError = undefined;
    } catch (error) {
      // Keep what was read last: the instances stay as they are until the store answers.
      if (this.lastError === undefined)
        this.deps.log(`provisioned: could not read the targets (${message(error)}); keeping what runs`);
      this.lastError = message(error);
    }
  }

  /** Brings this node's instances to the plan: starts what is missing, stops what is over once that is ready. */
  private reconcile(): void {
    if (this.closed) return;
    this.plan();
    // What the API shows of this node comes from its beats: one changed report is announced soon, not at the
    // next beat, and a burst of changes (instances becoming ready) in one beat.
    if (this.beatTimer === undefined && JSON.stringify(this.report()) !== this.beaten) {
      this.beatTimer = setTimeout(() => {
        this.beatTimer = undefined;
        void this.tick();
      }, 50);
      this.beatTimer.unref();
    }
  }

  private plan(): void {
    const wanted = new Set<string>();
    for (const config of this.configs) {
      const targets = this.deps.snapshot(config.functionName);
      const traffic = targets && trafficIn(targets, config.qualifier);
      if (!targets || !traffic) continue;
      const plan = planNode(
        config.functionName,
        config.qualifier,
        config.spec,
        traffic,
        this.nodes,
        this.deps.node,
      );
      for (const share of plan) {
        const version = share.version === LATEST ? targets.latest : targets.versions.get(share.version);
        if (!version) continue;
        const key = `${config.functionName}\u0000${config.qualifier}\u0000${version.key}`;
        wanted.add(key);
        const group = this.groups.get(key);
        if (group) {
          group.target = share.local;
          group.role = share.role;
        } else if (share.local > 0) {
          this.groups.set(key, {
            functionName: config.functionName,
            qualifier: config.qualifier,
            version,
            ref: share.version,
            role: share.role,
            target: share.local,
            members: new Set(),
            failed: 0,
            retryAt: 0,
          });
        }
      }
    }
    for (const [key, group] of this.groups) if (!wanted.has(key)) group.target = 0;

    const now = this.now();
    let nextRetry = Infinity;
    for (const group of this.groups.values()) {
      while (group.members.size < group.target && group.retryAt <= now) this.startOne(group);
      if (group.members.size < group.target) nextRetry = Math.min(nextRetry, group.retryAt);
    }
    if (nextRetry < Infinity) this.retryAt(nextRetry);

    // Old instances stop only once the new ones serve: every group has its target ready, or cannot start it.
    const settled = [...this.groups.values()].every(
      (g) => g.retryAt > now || [...g.members].filter((m) => m.ready).length >= g.target,
    );
    if (!settled) return;
    for (const [key, group] of this.groups) {
      const surplus = [...group.members].sort((a, b) => Number(a.ready) - Number(b.ready));
      for (const member of surplus.slice(0, Math.max(0, group.members.size - group.target))) {
        member.released = true;
        group.members.delete(member);
        member.instance.release();
      }
      if (group.target === 0 && group.members.size === 0) this.groups.delete(key);
    }
  }

  private startOne(group: Group): void {
    let instance: PinnedInstance;
    try {
      instance = this.deps.pool.pin(group.version);
    } catch (error) {
      this.failed(group, error);
      return;
    }
    const member: Member = { instance, ready: false, released: false };
    group.members.add(member);
    instance.ready.then(
      () => {
        member.ready = true;
        group.failed = 0;
        this.reconcile();
      },
      (error: unknown) => {
        group.members.delete(member);
        if (!member.released) this.failed(group, error);
        this.reconcile();
      },
    );
    void instance.gone.then(() => {
      // Exited or killed: replaced at once. (One that never started is counted by `ready` above.)
      if (member.released || !member.ready) return;
      group.members.delete(member);
      this.reconcile();
    });
  }

  private failed(group: Group, error: unknown): void {
    const delay = backoffDelay(this.retry, group.failed);
    group.failed++;
    group.retryAt = this.now() + delay;
    this.deps.log(
      `provisioned: could not start an instance of ${group.functionName} version ${formatVersionRef(group.ref)} for ${group.qualifier} (${message(error)}); trying again in ${delay} ms`,
    );
  }

  private retryAt(at: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(
      () => {
        this.reconcile();
      },
      Math.max(0, at - this.now()),
    );
    this.retryTimer.unref();
  }
}
