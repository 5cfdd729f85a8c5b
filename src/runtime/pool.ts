import { SluiceError } from '../core/errors.js';
import {
  arrive,
  type Demand,
  type DemandClock,
  demandTime,
  depart,
  entitlements,
  mayGive,
  meanRunMs,
  newClock,
  newDemand,
  offeredLoad,
  shouldGet,
} from './demand.js';
import type { InstanceCounts } from '../metrics/prometheus.js';
import {
  NotStarted,
  type Instance,
  type InvocationRequest,
  type InvocationResult,
  type RunnableVersion,
} from './instance.js';

export interface PoolLimits {
  /** Instances one function may have at once, all its versions together. */
  maxInstancesPerFunction: number;
  /** Invocations of one function that may wait for an instance; beyond, 429. */
  maxQueuePerFunction: number;
  /** The `memorySize` all instances of this node may reserve together, in MB. */
  maxInstanceMemoryMb: number;
  /** An instance with nothing to do for this long is stopped. */
  idleMs: number;
  /** How long shutdown waits for invocations in flight before killing their instances. */
  drainMs: number;
}

/**
 * Subscribes to the caller's going away, returning the unsubscription: an invocation still waiting for an
 * instance then leaves the queue and never runs. One already running runs to its end.
 */
export type WhenGone = (onGone: () => void) => () => void;

/** What the pool needs of an instance. */
export type PooledInstance = Pick<Instance, 'invoke' | 'alive' | 'exited' | 'kill' | 'pipelines' | 'sending'>;

/**
 * A version whose invocations run shorter than this on average, as its runtime measures them, may have one sent
 * ahead to each busy instance, to start there as the running one ends, while the function has no instance free:
 * sooner than any instance could start, and without the hand-off that otherwise wakes a sleeping instance for
 * every invocation, a tenth of the run or more. Behind a longer run an invocation could wait for its end while
 * another instance came free. Invocations sent ahead to one instance wait this long in all, on average.
 */
export const AHEAD_BELOW_MS = 2;

/**
 * Invocations that arrive in one turn of the event loop join an instance already sent one in that turn, rather
 * than each waking an instance of its own: its frames go out in one system call and wake its process once. With
 * instances woken one invocation each, the server spent more on those wakeups than on the invocations (a 10 %
 * canary, instanceConcurrency 1, 50 connections, this machine: 14.8k req/s, 0.55 wakeups of an instance per
 * invocation, 70 µs of the server's CPU per request; joined: 22.4k, 0.10, 48 µs). At most this many join one
 * instance, so that a run far longer than the version's mean holds few behind it.
 */
export const MAX_AHEAD = 16;

/**
 * Only invocations whose payload is at most this large join an instance (`MAX_AHEAD`), so that what waits in
 * one instance's memory stays small beside its `memorySize`: 16 payloads of 6 MB would have filled 128 MB.
 */
export const JOIN_MAX_PAYLOAD = 64 * 1024;

/**
 * A provisioned instance, held for whoever keeps them warm (see `provisioner.ts`): the pool never stops it
 * for idleness nor gives it to another version, and invocations of its version use it before any other.
 */
export interface PinnedInstance {
  /** Resolves once it is initialized; rejects when it could not start. */
  ready: Promise<void>;
  /** Resolves once it has left the pool, whatever the reason: it exited, was killed, or was released. */
  gone: Promise<void>;
  /** Stops it once its invocations in flight end; no new one reaches it. */
  release(): void;
}

/** An instance, or one being started, with the invocations assigned to it. */
interface Slot {
  key: string;
  version: RunnableVersion;
  ready: Promise<PooledInstance>;
  instance: PooledInstance | undefined;
  inFlight: number;
  startedAt: number;
  readyAt: number | undefined;
  /** When it last had nothing to do; idle ones are stopped by the sweep. */
  idleSince: number;
  dead: boolean;
  /** Provisioned: never stopped by the pool itself. */
  pinned: boolean;
  /** Told when the slot leaves the pool. */
  onGone: (() => void) | undefined;
}

interface Waiter {
  version: RunnableVersion;
  /** Its payload's size (see `JOIN_MAX_PAYLOAD`). */
  size: number;
  /** Arrival order across the function's versions. */
  seq: number;
  resolve: (slot: Slot) => void;
  reject: (error: SluiceError) => void;
  timer: NodeJS.Timeout;
}

/** One version of a function in the pool: its instances, its waiting invocations, its demand. */
interface VersionState {
  slots: Slot[];
  queue: Waiter[];
  demand: Demand;
}

interface FunctionInstances {
  versions: Map<string, VersionState>;
  clock: DemandClock;
  instances: number;
  /** Of `instances`, those provisioned: the function's instance limit bounds only the others. */
  pinned: number;
  waiting: number;
}

/**
 * Warm instances per function version: reused while warm, started on demand, stopped when idle, bounded per
 * function with a bounded wait queue. A freed instance serves the next invocation of its own version; it
 * changes version only as the versions' demand shifts (see `demand.ts`). `close()` drains what is in flight;
 * `destroy()` kills everything.
 */
export class InstancePool {
  private readonly functions = new Map<string, FunctionInstances>();
  private closing = false;
  private active = 0;
  private onIdle: (() => void) | undefined;
  private seq = 0;
  /** The `memorySize` of every instance started or starting. */
  private memoryMb = 0;
  /** Released provisioned instances that still run invocations: stopped when the last one ends. */
  private readonly draining = new Set<Slot>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limits: PoolLimits,
    private readonly start: (version: RunnableVersion) => Promise<PooledInstance>,
    private readonly now: () => number = () => performance.now(),
  ) {
    // One sweep for every instance rather than a timer each, reset on every invocation.
    this.sweeper = setInterval(
      () => {
        this.sweep();
      },
      Math.max(10, Math.min(limits.idleMs / 4, 30_000)),
    );
    this.sweeper.unref();
  }

  /**
   * Runs one invocation on a warm instance, or one started for it. `onReady` hears, before the invocation
   * runs, how long the start took when this invocation had to wait for one (undefined when it was warm): a
   * cold start counts whether the invocation then succeeds or fails. It also hears whether the instance is a
   * provisioned one.
   */
  async invoke(
    version: RunnableVersion,
    request: InvocationRequest,
    onReady?: (initDurationMs: number | undefined, provisioned: boolean) => void,
    whenGone?: WhenGone,
  ): Promise<InvocationResult> {
    if (this.closing) throw new SluiceError('ServiceUnavailable', 'the server is shutting down');
    const f = this.instancesOf(version.functionName);
    const state = this.versionOf(f, version.key);
    arrive(f.clock, state.demand, this.now());
    const size = request.payload.length;
    for (;;) {
      let slot: Slot;
      try {
        slot = this.takeSlot(f, state, version, size) ?? (await this.wait(f, state, version, size, whenGone));
      } catch (error) {
        depart(f.clock, state.demand, this.now(), undefined);
        throw error;
      }
      const result = await this.runOn(f, state, slot, request, onReady);
      if (result) return result;
    }
  }

  /** Runs the invocation on `slot`; undefined when it was sent ahead to an instance that ended before it started. */
  private async runOn(
    f: FunctionInstances,
    state: VersionState,
    slot: Slot,
    request: InvocationRequest,
    onReady: ((initDurationMs: number | undefined, provisioned: boolean) => void) | undefined,
  ): Promise<InvocationResult | undefined> {
    this.active++;
    const cold = slot.readyAt === undefined;
    let ranFrom: number | undefined;
    let ranMs: number | undefined;
    let ended = true;
    try {
      const instance = slot.instance ?? (await slot.ready);
      onReady?.(cold ? (slot.readyAt ?? this.now()) - slot.startedAt : undefined, slot.pinned);
      const result = await instance.invoke(request, () => {
        ranFrom = this.now();
      });
      ranMs = result.ranMs;
      return result;
    } catch (error) {
      if (!(error instanceof NotStarted) || this.closing) throw error;
      ended = false;
      return undefined;
    } finally {
      this.active--;
      const endedAt = this.now();
      // The runtime's own measure where it gives one: the pool's adds the server's delays, and under load
      // those alone passed AHEAD_BELOW_MS and stopped the calls being sent ahead when it mattered most. An
      // instance's first invocation, which loads and compiles what the handler uses, says nothing of how long
      // the next take: a canary's, 17 ms against 0.05 ms, once made it look 17 times as wanted.
      if (ended)
        depart(
          f.clock,
          state.demand,
          endedAt,
          cold ? undefined : (ranMs ?? (ranFrom === undefined ? undefined : endedAt - ranFrom)),
        );
      this.release(f, state, slot);
    }
  }

  /** Instances per version, started and busy, and the invocations waiting for one, for metrics. */
  stats(): InstanceCounts[] {
    const out: InstanceCounts[] = [];
    for (const f of this.functions.values()) {
      for (const state of f.versions.values()) {
        const version = state.slots[0]?.version ?? state.queue[0]?.version;
        if (!version) continue;
        out.push({
          functionName: version.functionName,
          versionId: version.versionId,
          instances: state.slots.length,
          busy: state.slots.filter((s) => s.inFlight > 0).length,
          provisioned: state.slots.filter((s) => s.pinned).length,
          waiting: state.queue.length + aheadOf(state),
        });
      }
    }
    return out;
  }

  private instancesOf(functionName: string): FunctionInstances {
    let f = this.functions.get(functionName);
    if (!f) {
      f = { versions: new Map(), clock: newClock(this.now()), instances: 0, pinned: 0, waiting: 0 };
      this.functions.set(functionName, f);
    }
    return f;
  }

  private versionOf(f: FunctionInstances, key: string): VersionState {
    let state = f.versions.get(key);
    if (!state) {
      state = { slots: [], queue: [], demand: newDemand(demandTime(f.clock, this.now())) };
      f.versions.set(key, state);
    }
    return state;
  }

  /**
   * A slot with room for one more invocation, without waiting. For a short invocation (`AHEAD_BELOW_MS`), one
   * already sent an invocation in this turn (`MAX_AHEAD`); else a warm one; for a short invocation, a busy one
   * to run it next, rather than a start to wait for, while another instance starts for the invocations after
   * it; one starting; a new one, or one in place of an idle one.
   */
  private takeSlot(
    f: FunctionInstances,
    state: VersionState,
    version: RunnableVersion,
    size: number,
  ): Slot | undefined {
    const concurrency = version.config.instanceConcurrency;
    let slot: Slot | undefined;
    let starting: Slot | undefined;
    let joined: Slot | undefined;
    for (const s of state.slots) {
      if (s.instance?.alive === false) continue;
      if (s.inFlight >= concurrency) {
        if (!joined && this.joinable(s, size) && this.takesAhead(state, s, size)) joined = s;
        continue;
      }
      if (s.instance) slot ??= s;
      else starting ??= s;
    }
    if (joined && this.waitingIn(f) < this.limits.maxQueuePerFunction) slot = joined;
    if (!slot) {
      const ahead = this.aheadSlot(f, state, size);
      if (ahead && !starting) this.launchIfRoom(f, state, version, false);
      slot = ahead ?? starting ?? this.launchIfRoom(f, state, version, true);
      if (!slot) return undefined;
    }
    slot.inFlight++;
    return slot;
  }

  /**
   * A new slot of `version`, if the function's limit and the node's memory leave room for it; at the limit,
   * with `recycle`, in place of an idle instance of another version (`recyclable`).
   */
  private launchIfRoom(
    f: FunctionInstances,
    state: VersionState,
    version: RunnableVersion,
    recycle: boolean,
  ): Slot | undefined {
    const full = f.instances - f.pinned >= this.limits.maxInstancesPerFunction;
    const idle = full && recycle ? this.recyclable(f, version.key) : undefined;
    if (full && !idle) return undefined;
    if (idle) this.retire(f, idle);
    return this.makeRoom(version.config.memorySize) ? this.launch(f, state, version) : undefined;
  }

  /** Whether an invocation of `size` bytes may join `slot`'s frames of this turn, still unsent (`MAX_AHEAD`). */
  private joinable(slot: Slot, size: number): boolean {
    return slot.instance?.sending === true && size <= JOIN_MAX_PAYLOAD;
  }

  /** A busy slot to send one more invocation to, if that waits no more than the queue's bound allows. */
  private aheadSlot(f: FunctionInstances, state: VersionState, size: number): Slot | undefined {
    if (this.waitingIn(f) >= this.limits.maxQueuePerFunction) return undefined;
    return state.slots.find((s) => this.takesAhead(state, s, size));
  }

  /** The function's invocations waiting: in its queue, and sent ahead to its instances. */
  private waitingIn(f: FunctionInstances): number {
    let ahead = 0;
    for (const state of f.versions.values()) ahead += aheadOf(state);
    return f.waiting + ahead;
  }

  /**
   * Whether `slot`, busy, may be sent one more invocation ahead, to start there as those before it end: one, or
   * while its frames of this turn are unsent, as many as wait `AHEAD_BELOW_MS` in all on average (`MAX_AHEAD`,
   * `JOIN_MAX_PAYLOAD`).
   */
  private takesAhead(state: VersionState, slot: Slot, size: number): boolean {
    const mean = meanRunMs(state.demand);
    const ahead = slot.inFlight - slot.version.config.instanceConcurrency;
    return (
      ahead >= 0 &&
      (ahead === 0 || this.joinable(slot, size)) &&
      slot.instance?.alive === true &&
      slot.instance.pipelines &&
      mean !== undefined &&
      ahead < MAX_AHEAD &&
      (ahead + 1) * mean < AHEAD_BELOW_MS
    );
  }

  /**
   * An idle instance that may stop so that version `key` gets one: one whose process is exiting, or one of a
   * version holding more than its share while `key` holds less.
   */
  private recyclable(f: FunctionInstances, key: string): Slot | undefined {
    let best: { slot: Slot; over: number } | undefined;
    /** For a version with no instance at all: the idle one of the least wanted other version. */
    let leastWanted: { slot: Slot; share: number } | undefined;
    const shares = this.shares(f);
    const mine = f.versions.get(key)?.slots.length ?? 0;
    const under = shouldGet(mine, shares.get(key) ?? 0);
    for (const [k, state] of f.versions) {
      const share = shares.get(k) ?? 0;
      const gives = mayGive(state.slots.length, share);
      for (const slot of state.slots) {
        if (slot.inFlight > 0 || slot.pinned) continue;
        if (slot.instance?.alive === false) return slot;
        if (k === key) continue;
        if (mine === 0 && (!leastWanted || share < leastWanted.share)) leastWanted = { slot, share };
        if (!under || !gives) continue;
        const over = state.slots.length - share;
        if (!best || over > best.over) best = { slot, over };
      }
    }
    // A version's first instance is owed even where no other holds clearly too many: with more versions
    // wanted than the function has instances, the least wanted one waits.
    return best?.slot ?? leastWanted?.slot;
  }

  /**
   * Whether an instance of `mb` fits in the node's memory, once idle instances of any function, the longest
   * idle first, have stopped to make room for it.
   */
  private makeRoom(mb: number): boolean {
    while (this.memoryMb + mb > this.limits.maxInstanceMemoryMb) {
      let oldest: { f: FunctionInstances; slot: Slot } | undefined;
      for (const f of this.functions.values()) {
        for (const state of f.versions.values()) {
          for (const slot of state.slots) {
            if (slot.inFlight > 0 || slot.readyAt === undefined || slot.pinned) continue;
            if (!oldest || slot.idleSince < oldest.slot.idleSince) oldest = { f, slot };
          }
        }
      }
      if (!oldest) return false;
      this.retire(oldest.f, oldest.slot);
    }
    return true;
  }

  /**
   * Starts a provisioned instance of `version`. Refused while the pool closes, or when the node's memory
   * cannot hold it even once idle on-demand instances have stopped.
   */
  pin(version: RunnableVersion): PinnedInstance {
    if (this.closing) throw new SluiceError('ServiceUnavailable', 'the server is shutting down');
    if (!this.makeRoom(version.config.memorySize))
      throw tooMany(
        version,
        `this node's instances reserve ${this.memoryMb} of its ${this.limits.maxInstanceMemoryMb} MB (--instance-memory)`,
      );
    const f = this.instancesOf(version.functionName);
    const slot = this.launch(f, this.versionOf(f, version.key), version, true);
    const gone = new Promise<void>((resolve) => {
      slot.onGone = resolve;
    });
    return {
      ready: slot.ready.then(() => undefined),
      gone,
      release: () => {
        if (slot.dead) return;
        this.remove(f, slot);
        if (slot.inFlight === 0) this.kill(slot);
        else this.draining.add(slot);
      },
    };
  }

  private launch(f: FunctionInstances, state: VersionState, version: RunnableVersion, pinned = false): Slot {
    const now = this.now();
    const slot: Slot = {
      key: version.key,
      version,
      ready: this.start(version),
      instance: undefined,
      inFlight: 0,
      startedAt: now,
      readyAt: undefined,
      idleSince: now,
      dead: false,
      pinned,
      onGone: undefined,
    };
    // Provisioned instances first, oldest first: an invocation takes the first slot with room, and a warm
    // provisioned one before one that is still starting.
    if (pinned) state.slots.splice(state.slots.filter((s) => s.pinned).length, 0, slot);
    else state.slots.push(slot);
    f.instances++;
    if (pinned) f.pinned++;
    this.memoryMb += version.config.memorySize;
    slot.ready.then(
      (instance) => {
        slot.readyAt = this.now();
        slot.instance = instance;
        void instance.exited.then(() => {
          this.remove(f, slot);
          this.dispatch(f);
        });
      },
      () => {
        this.remove(f, slot);
        this.dispatch(f);
      },
    );
    return slot;
  }

  private wait(
    f: FunctionInstances,
    state: VersionState,
    version: RunnableVersion,
    size: number,
    whenGone: WhenGone | undefined,
  ): Promise<Slot> {
    if (f.instances === 0) {
      // Below its own limit with no instance, it waits for the node's memory, which no release of its own frees.
      throw tooMany(
        version,
        `this node's instances reserve ${this.memoryMb} of its ${this.limits.maxInstanceMemoryMb} MB (--instance-memory), and none is idle`,
      );
    }
    const waiting = this.waitingIn(f);
    if (waiting >= this.limits.maxQueuePerFunction) {
      throw tooMany(
        version,
        `all ${this.limits.maxInstancesPerFunction} instances are busy and ${waiting} invocations are waiting`,
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      let stopWatching = (): void => undefined;
      const waiter: Waiter = {
        version,
        size,
        seq: this.seq++,
        resolve: (slot) => {
          stopWatching();
          resolve(slot);
        },
        reject: (error) => {
          stopWatching();
          reject(error);
        },
        timer: setTimeout(() => {
          this.leave(f, state, waiter);
          waiter.reject(
            tooMany(
              version,
              `no instance became free within the function's timeout of ${version.config.timeout} s`,
            ),
          );
        }, version.config.timeout * 1000),
      };
      state.queue.push(waiter);
      f.waiting++;
      if (whenGone)
        stopWatching = whenGone(() => {
          if (!this.leave(f, state, waiter)) return;
          waiter.reject(
            new SluiceError(
              'RequestCancelled',
              'the caller went away while the invocation waited for an instance',
            ),
          );
        });
    });
  }

  /** Takes a waiter out of its queue, if it is still there. */
  private leave(f: FunctionInstances, state: VersionState, waiter: Waiter): boolean {
    const at = state.queue.indexOf(waiter);
    if (at < 0) return false;
    state.queue.splice(at, 1);
    f.waiting--;
    clearTimeout(waiter.timer);
    return true;
  }

  private release(f: FunctionInstances, state: VersionState, slot: Slot): void {
    slot.inFlight--;
    if (slot.inFlight === 0) {
      slot.idleSince = this.now();
      if (slot.dead && this.draining.delete(slot)) this.kill(slot);
    }
    const next = state.queue[0];
    if (
      next &&
      !slot.dead &&
      slot.instance?.alive !== false &&
      (slot.inFlight < slot.version.config.instanceConcurrency || this.takesAhead(state, slot, next.size))
    ) {
      // Another waiting version owed an instance (`shortOf`) takes this one; otherwise, the common case under
      // load, the next invocation of this version does.
      const other =
        slot.inFlight === 0 && !slot.pinned && f.waiting > state.queue.length
          ? this.shortOf(f, slot.key)
          : undefined;
      if (other) {
        this.retire(f, slot);
        this.placeFirst(f, other);
      } else {
        slot.inFlight++;
        this.handOver(f, state, next, slot);
      }
    } else if (f.waiting > 0) {
      this.dispatch(f);
    }
    if (this.active === 0) this.onIdle?.();
  }

  /** What each version's demand entitles it to of the function's instances. */
  private shares(f: FunctionInstances): Map<string, number> {
    const now = demandTime(f.clock, this.now());
    const demands = new Map<string, number>();
    for (const [key, state] of f.versions) {
      const concurrency = state.slots[0]?.version.config.instanceConcurrency ?? 1;
      demands.set(key, offeredLoad(state.demand, now, concurrency));
    }
    return entitlements(demands, this.limits.maxInstancesPerFunction);
  }

  /**
   * The waiting version that should take an instance of version `key`, whose first invocation has waited
   * longest: one with no instance at all, if `key` holds more than one; one holding fewer than its share, if
   * `key` holds more than its own.
   */
  private shortOf(f: FunctionInstances, key: string): VersionState | undefined {
    const shares = this.shares(f);
    const held = f.versions.get(key)?.slots.length ?? 0;
    const gives = mayGive(held, shares.get(key) ?? 0);
    let found: VersionState | undefined;
    for (const [k, state] of f.versions) {
      const head = state.queue[0];
      if (k === key || !head) continue;
      // A version's first instance is owed, as in `recyclable`: waiting for one to fall idle took half a second
      // at 50 callers, every caller that drew the version waiting with it.
      const owed =
        state.slots.length === 0 ? held > 1 : gives && shouldGet(state.slots.length, shares.get(k) ?? 0);
      if (owed && (!found || head.seq < (found.queue[0] as Waiter).seq)) found = state;
    }
    return found;
  }

  /** Gives `waiter` a slot already counted as taken for it. */
  private handOver(f: FunctionInstances, state: VersionState, waiter: Waiter, slot: Slot): void {
    state.queue.shift();
    f.waiting--;
    clearTimeout(waiter.timer);
    waiter.resolve(slot);
  }

  /** Gives room to waiting invocations, oldest first, as long as some can be placed. */
  private dispatch(f: FunctionInstances): void {
    while (f.waiting > 0) {
      let oldest: { state: VersionState; waiter: Waiter } | undefined;
      for (const state of f.versions.values()) {
        const head = state.queue[0];
        if (head && (!oldest || head.seq < oldest.waiter.seq)) oldest = { state, waiter: head };
      }
      const placed = oldest ? this.placeFirst(f, oldest.state) : false;
      if (!placed && !this.placeAny(f)) return;
    }
  }

  /** Places the first waiter of `state` if there is room for it; answers whether it did. */
  private placeFirst(f: FunctionInstances, state: VersionState): boolean {
    const waiter = state.queue[0];
    if (!waiter) return false;
    const slot = this.takeSlot(f, state, waiter.version, waiter.size);
    if (!slot) return false;
    this.handOver(f, state, waiter, slot);
    return true;
  }

  /** When the oldest waiter cannot be placed, a younger one of another version may. */
  private placeAny(f: FunctionInstances): boolean {
    for (const state of f.versions.values()) {
      if (state.queue.length > 0 && this.placeFirst(f, state)) return true;
    }
    return false;
  }

  /**
   * Stops instances idle for `idleMs`, and forgets versions nobody asks for, and functions with no instance
   * and nothing to run: their demand, which stands still while they rest, has nothing left to share.
   */
  private sweep(): void {
    const now = this.now();
    for (const [name, f] of this.functions) {
      const demandNow = demandTime(f.clock, now);
      for (const [key, state] of f.versions) {
        for (const slot of [...state.slots]) {
          if (slot.inFlight === 0 && !slot.pinned && now - slot.idleSince >= this.limits.idleMs)
            this.retire(f, slot);
        }
        if (
          state.slots.length === 0 &&
          state.queue.length === 0 &&
          offeredLoad(state.demand, demandNow, 1) === 0
        ) {
          f.versions.delete(key);
        }
      }
      if (f.versions.size === 0 || (f.instances === 0 && f.clock.wanted === 0)) this.functions.delete(name);
    }
  }

  private retire(f: FunctionInstances, slot: Slot): void {
    this.remove(f, slot);
    this.kill(slot);
  }

  private kill(slot: Slot): void {
    slot.ready.then(
      (instance) => {
        instance.kill('InstanceCrashed', 'the instance was stopped');
      },
      () => undefined,
    );
  }

  private remove(f: FunctionInstances, slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    const slots = f.versions.get(slot.key)?.slots;
    slots?.splice(slots.indexOf(slot), 1);
    f.instances--;
    if (slot.pinned) f.pinned--;
    this.memoryMb -= slot.version.config.memorySize;
    slot.onGone?.();
  }

  /** Takes no new invocations, waits (up to `drainMs`) for those in flight, then stops every instance. */
  async close(): Promise<void> {
    this.closing = true;
    for (const f of this.functions.values()) {
      for (const state of f.versions.values()) {
        for (const waiter of state.queue.splice(0)) {
          clearTimeout(waiter.timer);
          waiter.reject(new SluiceError('ServiceUnavailable', 'the server is shutting down'));
        }
      }
      f.waiting = 0;
    }
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.limits.drainMs);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await this.destroy();
  }

  /** Kills every instance now; invocations in flight fail. */
  async destroy(): Promise<void> {
    this.closing = true;
    clearInterval(this.sweeper);
    const exits: Promise<void>[] = [];
    for (const slot of this.draining) {
      this.kill(slot);
      exits.push(
        slot.ready.then(
          (instance) => instance.exited,
          () => undefined,
        ),
      );
    }
    this.draining.clear();
    for (const f of this.functions.values()) {
      for (const state of f.versions.values()) {
        for (const slot of [...state.slots]) {
          this.retire(f, slot);
          exits.push(
            slot.ready.then(
              (instance) => instance.exited,
              () => undefined,
            ),
          );
        }
      }
    }
    await Promise.all(exits);
  }
}

/** A version's invocations sent ahead to its busy instances, not yet started (as far as the pool knows). */
function aheadOf(state: VersionState): number {
  let ahead = 0;
  for (const slot of state.slots)
    ahead += Math.max(0, slot.inFlight - slot.version.config.instanceConcurrency);
  return ahead;
}

function tooMany(version: RunnableVersion, why: string): SluiceError {
  return new SluiceError(
    'TooManyRequests',
    `function ${version.functionName} is at its concurrency limit: ${why}`,
  );
}
