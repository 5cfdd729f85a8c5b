import type { Store } from '../store/store.js';
import type { RolloutEngine } from './engine.js';

export interface ControllerOptions {
  tickMs: number;
  leaseMs: number;
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = { tickMs: 1000, leaseMs: 10_000 };

/**
 * Drives active rollouts. State lives in the store; a lease decides which node drives each rollout, so a
 * rollout goes on after a restart or on another node, and never twice at once.
 */
export class RolloutController {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly engine: RolloutEngine,
    private readonly node: string,
    private readonly options: ControllerOptions,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.tick());
    }, this.options.tickMs);
    this.timer.unref();
  }

  async tick(): Promise<void> {
    try {
      for (const rollout of await this.store.listActiveRollouts()) {
        if (rollout.status !== 'running') continue;
        if (!(await this.store.claimRollout(rollout.id, this.node, Date.now(), this.options.leaseMs)))
          continue;
        try {
          await this.engine.drive(rollout);
        } catch (error) {
          this.log(`rollout ${rollout.id}: ${String(error)}`);
        }
      }
    } catch (error) {
      this.log(`rollouts: ${String(error)}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
