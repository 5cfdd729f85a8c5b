/**
 * Durations in fixed, log-spaced buckets: 0.1 ms to 15 min, each bound 25 % above the last, so that a
 * percentile read from the buckets is within 12.5 % of the true one. Fixed bounds let histograms from
 * different nodes and different times be added bucket by bucket.
 */
const GROWTH = 1.25;
const FIRST_MS = 0.1;
export const BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let b = FIRST_MS; b < 900_000; b *= GROWTH) bounds.push(Number(b.toPrecision(4)));
  bounds.push(900_000);
  return bounds;
})();

/** Counts per bucket: `counts[i]` holds durations ≤ BOUNDS_MS[i] (and above the previous bound); the last is +Inf. */
export type Histogram = number[];

export function emptyHistogram(): Histogram {
  return new Array<number>(BOUNDS_MS.length + 1).fill(0);
}

const LOG_GROWTH = Math.log(GROWTH);

export function bucketIndex(ms: number): number {
  if (!(ms > FIRST_MS)) return 0;
  // Capped at +Inf's index: a huge value (ms / FIRST_MS = Infinity) would otherwise count down forever.
  let i = Math.min(BOUNDS_MS.length, Math.ceil(Math.log(ms / FIRST_MS) / LOG_GROWTH));
  // The rounded bounds can put a value one bucket off the logarithm's answer: settle it against them.
  while (i > 0 && ms <= (BOUNDS_MS[i - 1] ?? Infinity)) i--;
  while (i < BOUNDS_MS.length && ms > (BOUNDS_MS[i] as number)) i++;
  return i;
}

export function observe(histogram: Histogram, ms: number): void {
  const i = bucketIndex(ms);
  histogram[i] = (histogram[i] ?? 0) + 1;
}

export function addInto(target: Histogram, source: readonly number[]): void {
  for (let i = 0; i < source.length; i++) target[i] = (target[i] ?? 0) + (source[i] ?? 0);
}

/** The q-quantile (0.5, 0.9, 0.99) in ms, interpolated inside its bucket; undefined when empty. */
export function quantile(histogram: readonly number[], q: number): number | undefined {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    const count = histogram[i] ?? 0;
    if (count > 0 && seen + count >= rank) {
      const low = i === 0 ? 0 : (BOUNDS_MS[i - 1] as number);
      const high = BOUNDS_MS[i] ?? low;
      const estimate = low + (high - low) * Math.min(1, Math.max(0, (rank - seen) / count));
      if (i === 0 || i === BOUNDS_MS.length) return estimate;
      // Where the samples sit inside the bucket is unknown: kept within 12.5 % of both of its ends, the
      // estimate is within 12.5 % of any of them (interpolating alone can be 25 % off, all at one end).
      return Math.min(low * 1.125, Math.max(high / 1.125, estimate));
    }
    seen += count;
  }
  return BOUNDS_MS[BOUNDS_MS.length - 1];
}

/** The non-empty buckets only, as `{index: count}`: most of a histogram is zeros. */
export function toSparse(histogram: readonly number[]): Record<string, number> {
  const sparse: Record<string, number> = {};
  histogram.forEach((count, i) => {
    if (count > 0) sparse[i] = count;
  });
  return sparse;
}

export function fromSparse(sparse: Record<string, number>): Histogram {
  const histogram = emptyHistogram();
  for (const [i, count] of Object.entries(sparse)) histogram[Number(i)] = count;
  return histogram;
}
