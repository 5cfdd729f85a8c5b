import { SluiceError } from '../core/errors.js';
import type { Instance, InvocationRequest, InvocationResult, RunnableVersion } from './instance.js';

export interface PoolLimits {
  /** Instances one function may have at once, all its versions together. */
  maxInstancesPerFunction: number;
  /** Invocations of one function that may wait for an instance; beyond, 429. */
  maxQueuePerFunction: number;
  /** An instance with nothing to do for this long is stopped. */
  idleMs: number;
  /** How long shutdown waits for invocations in flight before killing their instances. */
  drainMs: number;
}

/** An instance, or one being started, with the invocations assigned to it. */
interface Slot {
  key: string;
  version: RunnableVersion;
  ready: Promise<Instance>;
  instance: Instance | undefined;
  inFlight: number;
  startedAt: number;
  readyAt: number | undefined;
  idleTimer: NodeJS.Timeout | undefined;
  dead: boolean;
}

interface Waiter {
  key: string;
  version: RunnableVersion;
  resolve: (slot: Slot) => void;
  reject: (error: SluiceError) => void;
  timer: NodeJS.Timeout;
}

interface FunctionInstances {
  slots: Slot[];
  queue: Waiter[];
}

/**
 * Warm instances per function version: reused while warm, started on demand, stopped when idle, bounded per
 * function with a bounded wait queue. `close()` drains what is in flight; `destroy()` kills everything.
 */
export class InstancePool {
  private readonly functions = new Map<string, FunctionInstances>();
  private closing = false;
  private active = 0;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly limits: PoolLimits,
    private readonly start: (version: RunnableVersion) => Promise<Instance>,
  ) {}

  /**
   * Runs one invocation on a warm instance, or one started for it. `onReady` hears, before the invocation
   * runs, how long the start took when this invocation had to wait for one (undefined when it was warm): a
   * cold start counts whether the invocation then succeeds or fails.
   */
  async invoke(
    version: RunnableVersion,
    request: InvocationRequest,
    onReady?: (initDurationMs: number | undefined) => void,
  ): Promise<InvocationResult> {
    if (this.closing) throw new SluiceError('ServiceUnavailable', 'the server is shutting down');
    const key = version.key;
    const slot = this.takeSlot(key, version) ?? (await this.wait(key, version));
    this.active++;
    try {
      const cold = slot.readyAt === undefined;
      const instance = await slot.ready;
      onReady?.(cold ? (slot.readyAt ?? Date.now()) - slot.startedAt : undefined);
      return await instance.invoke(request);
    } finally {
      this.active--;
      this.release(slot);
    }
  }

  /** Instances per version, started and busy, for metrics. */
  stats(): { functionName: string; versionId: string; instances: number; busy: number }[] {
    const byVersion = new Map<
      string,
      { functionName: string; versionId: string; instances: number; busy: number }
    >();
    for (const f of this.functions.values()) {
      for (const slot of f.slots) {
        const key = `${slot.version.functionName}\u0000${slot.version.versionId}`;
        let entry = byVersion.get(key);
        if (!entry) {
          entry = {
            functionName: slot.version.functionName,
            versionId: slot.version.versionId,
            instances: 0,
            busy: 0,
          };
          byVersion.set(key, entry);
        }
        entry.instances++;
        if (slot.inFlight > 0) entry.busy++;
      }
    }
    return [...byVersion.values()];
  }

  private instancesOf(functionName: string): FunctionInstances {
    let f = this.functions.get(functionName);
    if (!f) {
      f = { slots: [], queue: [] };
      this.functions.set(functionName, f);
    }
    return f;
  }

  /** A slot with room for one more invocation, without waiting: warm, new, or in place of another version's idle one. */
  private takeSlot(key: string, version: RunnableVersion): Slot | undefined {
    const f = this.instancesOf(version.functionName);
    const concurrency = version.config.instanceConcurrency;
    let slot = f.slots.find(
      (s) => s.key === key && !s.dead && s.inFlight < concurrency && s.instance?.alive !== false,
    );
    if (!slot) {
      if (f.slots.length >= this.limits.maxInstancesPerFunction) {
        // An idle instance of another version, or one of this version that is exiting, makes room.
        const idle = f.slots.find((s) => s.inFlight === 0 && (s.key !== key || s.instance?.alive === false));
        if (!idle) return undefined;
        this.retire(f, idle);
      }
      slot = this.launch(f, key, version);
    }
    clearTimeout(slot.idleTimer);
    slot.inFlight++;
    return slot;
  }

  private launch(f: FunctionInstances, key: string, version: RunnableVersion): Slot {
    const slot: Slot = {
      key,
      version,
      ready: this.start(version),
      instance: undefined,
      inFlight: 0,
      startedAt: Date.now(),
      readyAt: undefined,
      idleTimer: undefined,
      dead: false,
    };
    f.slots.push(slot);
    slot.ready.then(
      (instance) => {
        slot.readyAt = Date.now();
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

  private wait(key: string, version: RunnableVersion): Promise<Slot> {
    const f = this.instancesOf(version.functionName);
    if (f.queue.length >= this.limits.maxQueuePerFunction) {
      throw tooMany(
        version,
        `all ${this.limits.maxInstancesPerFunction} instances are busy and ${f.queue.length} invocations are waiting`,
      );
    }
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        version,
        resolve,
        reject,
        timer: setTimeout(() => {
          f.queue.splice(f.queue.indexOf(waiter), 1);
          reject(
            tooMany(
              version,
              `no instance became free within the function's timeout of ${version.config.timeout} s`,
            ),
          );
        }, version.config.timeout * 1000),
      };
      f.queue.push(waiter);
    });
  }

  private release(slot: Slot): void {
    slot.inFlight--;
    const f = this.instancesOf(slot.version.functionName);
    this.dispatch(f);
    if (slot.inFlight === 0 && !slot.dead) {
      clearTimeout(slot.idleTimer);
      slot.idleTimer = setTimeout(() => {
        this.retire(f, slot);
        this.dispatch(f);
      }, this.limits.idleMs);
      slot.idleTimer.unref();
    }
    if (this.active === 0) this.onIdle?.();
  }

  /** Hands free room to waiting invocations, oldest first. */
  private dispatch(f: FunctionInstances): void {
    for (const waiter of [...f.queue]) {
      const slot = this.takeSlot(waiter.key, waiter.version);
      if (!slot) continue;
      f.queue.splice(f.queue.indexOf(waiter), 1);
      clearTimeout(waiter.timer);
      waiter.resolve(slot);
    }
  }

  private retire(f: FunctionInstances, slot: Slot): void {
    this.remove(f, slot);
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
    clearTimeout(slot.idleTimer);
    f.slots.splice(f.slots.indexOf(slot), 1);
  }

  /** Takes no new invocations, waits (up to `drainMs`) for those in flight, then stops every instance. */
  async close(): Promise<void> {
    this.closing = true;
    for (const f of this.functions.values()) {
      for (const waiter of f.queue.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(new SluiceError('ServiceUnavailable', 'the server is shutting down'));
      }
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
    const exits: Promise<void>[] = [];
    for (const f of this.functions.values()) {
      for (const slot of [...f.slots]) {
        this.retire(f, slot);
        exits.push(
          slot.ready.then(
            (instance) => instance.exited,
            () => undefined,
          ),
        );
      }
    }
    await Promise.all(exits);
  }
}

function tooMany(version: RunnableVersion, why: string): SluiceError {
  return new SluiceError(
    'TooManyRequests',
    `function ${version.functionName} is at its concurrency limit: ${why}`,
  );
}
