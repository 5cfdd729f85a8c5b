/**
 * A small seeded generator (mulberry32) for tests that draw at random: the same seed gives the same draws on
 * every run, so that a failure can be replayed, and a statistical bound holds or fails for good.
 */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
