import { randomUUID } from 'node:crypto';
import { nextFiring } from '../core/schedule.js';
import {
  dueFiring,
  timerEvent,
  timerSchedule,
  type TimerSpec,
  type TriggerRecord,
} from '../core/triggers.js';
import type { Store } from '../store/store.js';
import { Alarm } from '../timing/alarm.js';
import type { TriggerDirectory } from './directory.js';

/** A firing that could not be queued (the store did not answer) is tried again this much later. */
const RETRY_MS = 1000;

const key = (t: TriggerRecord) => `${t.functionName}\u0000${t.name}\u0000${t.createdAt}`;

/**
 * Fires timer triggers. Every node plans every timer from the triggers it knows (see TriggerDirectory) and
 * sleeps until the next firing of any, woken early when they change: an idle node reads and writes nothing
 * between firings. A firing is an asynchronous invocation of the timer's qualifier, queued in the transaction
 * that moves the timer's last firing to its time, so that of all nodes exactly one fires each time (the move
 * is the lease on that firing). A time missed while no node ran is not fired later: only the latest due time
 * is, once.
 */
export class TimerScheduler {
  /** The latest time each timer was fired, by this node or (as its refused move said) another. */
  private readonly fired = new Map<string, number>();
  private loop: Promise<void> | undefined;
  private readonly alarm = new Alarm();
  private closed = false;

  constructor(
    private readonly store: Pick<Store, 'fireTimer'>,
    private readonly triggers: TriggerDirectory,
    /** Told of each firing this node queued, so that its dispatcher runs it at once. */
    private readonly queued: () => void,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.triggers.onChange(() => {
      this.alarm.ring();
    });
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.alarm.ring();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.alarm.reset();
      const timers = this.triggers
        .all()
        .filter((t): t is TriggerRecord & { spec: TimerSpec } => t.spec.kind === 'timer' && t.spec.enabled);
      let next: number | undefined;
      const plan = (at: number | undefined) => {
        if (at !== undefined && (next === undefined || at < next)) next = at;
      };
      for (const trigger of timers) {
        const now = Date.now();
        const schedule = timerSchedule(trigger.spec);
        const last = Math.max(trigger.lastFired ?? -Infinity, this.fired.get(key(trigger)) ?? -Infinity);
        const at = dueFiring(
          schedule,
          last === -Infinity ? undefined : last,
          Date.parse(trigger.createdAt),
          now,
        );
        if (at !== undefined && !(await this.fire(trigger, at, now))) plan(now + RETRY_MS);
        plan(nextFiring(schedule, now));
      }
      await this.alarm.sleepUntil(next);
    }
  }

  /** Queues the firing unless another node did; false when the store did not answer. */
  private async fire(
    trigger: TriggerRecord & { spec: TimerSpec },
    at: number,
    now: number,
  ): Promise<boolean> {
    try {
      const queued = await this.store.fireTimer(trigger.functionName, trigger.name, at, {
        id: randomUUID(),
        functionName: trigger.functionName,
        qualifier: trigger.spec.qualifier,
        payload: Buffer.from(timerEvent(trigger.name, at, trigger.spec.payload)),
        source: `timer:${trigger.name}`,
        createdAt: now,
      });
      // Fired here or elsewhere, the time is done.
      this.fired.set(key(trigger), at);
      if (queued) this.queued();
      return true;
    } catch (error) {
      this.log(`timer ${trigger.functionName}/${trigger.name}: ${String(error)}`);
      return false;
    }
  }
}
