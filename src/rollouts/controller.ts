import type { Store } from '../store/store.js';
import { Alarm } from '../timing/alarm.js';
import type { RolloutEngine } from './engine.js';

export interface ControllerOptions {
  tickMs: number;
  leaseMs: number;
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = { tickMs: 1000, leaseMs: 10_000 };

/**
 * Drives active rollouts. State lives in the store; a lease decides which node drives each rollout, so a
 * rollout goes on after a restart or on another node, and never twice at once. While a rollout runs anywhere
 * every node looks every `tickMs` (to take over one whose node died); while none does, a node sleeps until a
 * function changes (a rollout's start and resume are changes of its function) and reads nothing.
 */
export class RolloutController {
  private readonly alarm = new Alarm();
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly engine: RolloutEngine,
    private readonly node: string,
    private readonly options: ControllerOptions,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** A function changed, or every change may have been missed: a rollout may have started. */
  wake(): void {
    this.alarm.ring();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.alarm.reset();
      const busy = await this.tick();
      await this.alarm.sleepUntil(busy ? Date.now() + this.options.tickMs : undefined);
    }
  }

  /** Drives the running rollouts this node holds or can take; whether any runs (or the store did not answer). */
  private async tick(): Promise<boolean> {
    try {
      const running = (await this.store.listActiveRollouts()).filter((r) => r.status === 'running');
      for (const rollout of running) {
        if (!(await this.store.claimRollout(rollout.id, this.node, Date.now(), this.options.leaseMs)))
          continue;
        try {
          await this.engine.drive(rollout);
        } catch (error) {
          this.log(`rollout ${rollout.id}: ${String(error)}`);
        }
      }
      return running.length > 0;
    } catch (error) {
      this.log(`rollouts: ${String(error)}`);
      return true;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.alarm.ring();
    await this.loop;
  }
}
