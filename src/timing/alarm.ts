import { setTimeout as sleep } from 'node:timers/promises';

/** The longest timer Node.js keeps (about 24.8 days); a later time is slept towards in steps. */
const MAX_SLEEP_MS = 2_147_483_647;

/**
 * What lets a loop sleep until the next thing it knows is due, and be woken early when something changes: the
 * loop calls `reset` before it looks at what to do and `sleepUntil` after; a `ring` in between is kept, so
 * that the next sleep returns at once and no wake is lost. An idle loop takes no timer at all.
 */
export class Alarm {
  private rung = false;
  private abort: (() => void) | undefined;

  ring(): void {
    this.rung = true;
    this.abort?.();
  }

  reset(): void {
    this.rung = false;
  }

  /** Until `until` (epoch ms; undefined for as long as it takes) or a ring, whichever comes first. */
  async sleepUntil(until: number | undefined): Promise<void> {
    if (this.rung) return;
    const ms = until === undefined ? undefined : until - Date.now();
    if (ms !== undefined && ms <= 0) return;
    const controller = new AbortController();
    this.abort = () => {
      controller.abort();
    };
    try {
      await (ms === undefined
        ? new Promise((_, reject) => {
            controller.signal.addEventListener('abort', reject);
          })
        : sleep(Math.min(ms, MAX_SLEEP_MS), undefined, { signal: controller.signal }));
    } catch {
      // Rung.
    } finally {
      this.abort = undefined;
    }
  }
}
