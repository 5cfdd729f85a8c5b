import { inspect } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** How long the condition may take to hold: generous, since a busy machine stretches every step. */
  timeout: number;
  /** What is awaited, for the failure message ("the reload after the reconnect"). */
  what: string;
  /** The pause between two checks. */
  interval?: number;
}

/**
 * Checks `condition` until it returns something other than `undefined`, `false` or `null`, and returns that;
 * fails once `timeout` ms have passed, with `what` and the last value or error the condition gave. A condition
 * that throws is checked again (an assertion inside it is how it says "not yet, and here is why").
 */
export async function waitFor<T>(
  condition: () => T | undefined | false | null | Promise<T | undefined | false | null>,
  { timeout, what, interval = 10 }: WaitOptions,
): Promise<T> {
  const deadline = performance.now() + timeout;
  for (;;) {
    let last: unknown;
    try {
      const value = await condition();
      if (value !== undefined && value !== false && value !== null) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (performance.now() >= deadline) {
      const detail = last instanceof Error ? last.message : inspect(last, { depth: 5 }).slice(0, 1500);
      throw new Error(`timed out after ${timeout} ms waiting for ${what}; last: ${detail}`);
    }
    await delay(interval);
  }
}
