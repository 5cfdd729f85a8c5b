/** A step slower than this says so, and again as often, until it ends. */
export const SLOW_STEP_MS = 10_000;

/**
 * Runs `steps` one after another, each to its end. One still running after `everyMs` is named in `log`, and
 * again as often: a shutdown that stalls says where, where it said nothing.
 */
export async function runNamedSteps(
  steps: readonly (readonly [name: string, step: () => unknown])[],
  log: (line: string) => void,
  everyMs = SLOW_STEP_MS,
): Promise<void> {
  for (const [name, step] of steps) {
    const started = performance.now();
    const slow = setInterval(() => {
      log(`still stopping ${name} after ${Math.round((performance.now() - started) / 1000)} s`);
    }, everyMs);
    try {
      await step();
    } finally {
      clearInterval(slow);
    }
  }
}
