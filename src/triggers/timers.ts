import { randomUUID } from 'node:crypto';
import {
  dueFiring,
  timerEvent,
  timerSchedule,
  type TimerSpec,
  type TriggerRecord,
} from '../core/triggers.js';
import type { Store } from '../store/store.js';

export interface TimerOptions {
  /** How often the timers are looked at: a firing is queued at most this long after its time. */
  tickMs: number;
}

export const DEFAULT_TIMER_OPTIONS: TimerOptions = { tickMs: 500 };

/**
 * Fires timer triggers. Every node looks at every timer; a firing is an asynchronous invocation of the
 * timer's qualifier, queued in the transaction that moves the timer's last firing to its time, so that of
 * all nodes exactly one fires each time (the move is the lease on that firing). A time missed while no node
 * ran is not fired later: only the latest due time is, once.
 */
export class TimerScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    /** Told of each firing this node queued, so that its dispatcher runs it at once. */
    private readonly fired: () => void,
    private readonly options: TimerOptions,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, this.options.tickMs);
    this.timer.unref();
  }

  async tick(now = Date.now()): Promise<void> {
    let triggers: TriggerRecord[];
    try {
      triggers = await this.store.listTriggers();
    } catch (error) {
      this.log(`timers: could not read the triggers: ${String(error)}`);
      return;
    }
    for (const trigger of triggers) {
      if (trigger.spec.kind !== 'timer' || !trigger.spec.enabled) continue;
      await this.fire(trigger, trigger.spec, now).catch((error: unknown) => {
        this.log(`timer ${trigger.functionName}/${trigger.name}: ${String(error)}`);
      });
    }
  }

  private async fire(trigger: TriggerRecord, spec: TimerSpec, now: number): Promise<void> {
    const at = dueFiring(timerSchedule(spec), trigger.lastFired, Date.parse(trigger.createdAt), now);
    if (at === undefined) return;
    const queued = await this.store.fireTimer(trigger.functionName, trigger.name, at, {
      id: randomUUID(),
      functionName: trigger.functionName,
      qualifier: spec.qualifier,
      payload: Buffer.from(timerEvent(trigger.name, at, spec.payload)),
      source: `timer:${trigger.name}`,
      createdAt: now,
    });
    if (queued) this.fired();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
