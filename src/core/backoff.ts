/** How long to wait before trying again: doubling from `firstMs`, at most `maxMs`, spread by `jitter`. */
export interface Backoff {
  firstMs: number;
  maxMs: number;
  /**
   * The fraction by which a delay varies either way (0.2: ±20 %), so that the nodes a failure hit at once do
   * not all try again at once; 0 or absent for none.
   */
  jitter?: number;
}

/**
 * The wait before retry number `retry` (0 for the first retry). `random` is in [0, 1), injectable so that a
 * test can pin the jitter.
 */
export function backoffDelay(policy: Backoff, retry: number, random: () => number = Math.random): number {
  const jitter = policy.jitter ?? 0;
  const base = Math.min(policy.maxMs, policy.firstMs * 2 ** retry);
  return Math.round(base * (1 - jitter + 2 * jitter * random()));
}
