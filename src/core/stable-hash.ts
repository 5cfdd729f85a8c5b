/**
 * A 32-bit hash that is the same on every node, in every process, forever: FNV-1a over the UTF-16 code
 * units, finished with MurmurHash3's mixer so that similar inputs (`user-1`, `user-2`) spread evenly.
 * Routing decisions that must not change — sticky weights, `percent` rules — depend on it: never change it.
 */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export const BUCKETS = 10_000;

/** A value's place in 0..9999, for comparison with a weight or a percentage in 0.0001 steps. */
export function bucketOf(salt: string, value: string): number {
  return stableHash(`${salt}\u0000${value}`) % BUCKETS;
}
