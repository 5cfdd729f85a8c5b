import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addInto,
  BOUNDS_MS,
  bucketIndex,
  emptyHistogram,
  fromSparse,
  observe,
  quantile,
  toSparse,
} from './histogram.js';
import { seeded } from '../../test/support/seeded.js';

/** The definition of the buckets, read plainly: the first bound at or above the value, else +Inf. */
function linearIndex(ms: number): number {
  for (let i = 0; i < BOUNDS_MS.length; i++) if (ms <= (BOUNDS_MS[i] as number)) return i;
  return BOUNDS_MS.length;
}

/** The nearest-rank percentile of the samples themselves. */
function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number;
}

describe('histogram buckets', () => {
  it('run from 0.1 ms to 15 min, strictly increasing, each at most 25 % above the last', () => {
    assert.equal(BOUNDS_MS[0], 0.1);
    assert.equal(BOUNDS_MS.at(-1), 900_000);
    for (let i = 1; i < BOUNDS_MS.length; i++) {
      const [low, high] = [BOUNDS_MS[i - 1] as number, BOUNDS_MS[i] as number];
      assert.ok(high > low, `bound ${i} (${high}) is above bound ${i - 1} (${low})`);
      // 25 %, give or take the rounding of each bound to 4 significant digits.
      assert.ok(high / low <= 1.2513, `bound ${i} is ${high / low} times the previous one`);
    }
    assert.equal(emptyHistogram().length, BOUNDS_MS.length + 1, 'one count per bound, and +Inf');
    assert.ok(
      emptyHistogram().every((c) => c === 0),
      'an empty histogram is all zeros',
    );
  });

  it('bucketIndex agrees with a linear search over the bounds, at and around every bound', () => {
    const values = [0, -0, -1, -1e9, -Infinity, 1e-9, 0.05, 0.1, 0.1000001, 899_999.9, 900_000, 900_000.001];
    values.push(1e6, 1e12, 1e300, Number.MAX_VALUE, Infinity);
    for (const bound of BOUNDS_MS) {
      values.push(bound, bound * (1 - 1e-12), bound * (1 + 1e-12), bound - 1e-4, bound + 1e-4, bound * 1.1);
    }
    for (const ms of values) assert.equal(bucketIndex(ms), linearIndex(ms), `bucketIndex(${ms})`);
  });

  it('bucketIndex agrees with a linear search on many random durations, from sub-ms to hours', () => {
    const random = seeded(7);
    for (let n = 0; n < 20_000; n++) {
      // Log-uniform over 1e-3 … 1e7 ms, then also a plain uniform value, to cover both kinds of spacing.
      const ms = 10 ** (random() * 10 - 3);
      assert.equal(bucketIndex(ms), linearIndex(ms), `bucketIndex(${ms})`);
      const flat = random() * 2000;
      assert.equal(bucketIndex(flat), linearIndex(flat), `bucketIndex(${flat})`);
    }
  });

  it('observe counts each duration once, in its bucket; nothing at all (NaN) still lands somewhere', () => {
    const h = emptyHistogram();
    for (const ms of [0, 0.1, 0.11, 5, 5, 1e9]) observe(h, ms);
    assert.equal(
      h.reduce((a, b) => a + b, 0),
      6,
    );
    assert.equal(h[0], 2, '0 and 0.1 are in the first bucket');
    assert.equal(h[1], 1, '0.11 is in (0.1, 0.125]');
    assert.equal(h[bucketIndex(5)], 2);
    assert.equal(h[BOUNDS_MS.length], 1, 'beyond the last bound is +Inf');
    const odd = emptyHistogram();
    observe(odd, Number.NaN);
    assert.equal(
      odd.reduce((a, b) => a + b, 0),
      1,
    );
    assert.equal(odd.length, BOUNDS_MS.length + 1, 'no count is written outside the histogram');
  });
});

describe('quantile', () => {
  it('is undefined for an empty histogram', () => {
    assert.equal(quantile(emptyHistogram(), 0.5), undefined);
  });

  for (const [label, draw] of [
    ['log-normal around 20 ms', (r: () => number) => 20 * Math.exp(gaussian(r) * 1.2)],
    ['uniform 1–500 ms', (r: () => number) => 1 + r() * 499],
    ['exponential, mean 40 ms', (r: () => number) => -40 * Math.log(1 - r())],
    ['two modes, 3 ms and 800 ms', (r: () => number) => (r() < 0.7 ? 3 : 800) * (0.8 + r() * 0.4)],
  ] as const) {
    it(`is within 12.5 % of the exact p50, p90, p99 on random samples (${label})`, () => {
      for (const seed of [1, 2, 3]) {
        const random = seeded(seed);
        for (const size of [200, 5000]) {
          const samples = Array.from({ length: size }, () => draw(random));
          const h = emptyHistogram();
          samples.forEach((ms) => {
            observe(h, ms);
          });
          const sorted = [...samples].sort((a, b) => a - b);
          for (const q of [0.5, 0.9, 0.99]) {
            const exact = exactQuantile(sorted, q);
            const estimate = quantile(h, q) as number;
            const error = Math.abs(estimate - exact) / exact;
            assert.ok(
              error <= 0.125,
              `seed ${seed}, ${size} samples, q=${q}: estimate ${estimate} vs exact ${exact} (${(error * 100).toFixed(1)} %)`,
            );
          }
        }
      }
    });
  }

  it('is within 12.5 % even when every sample is the same, at either end of its bucket', () => {
    for (const i of [1, 2, 20, 50, BOUNDS_MS.length - 1]) {
      const [low, high] = [BOUNDS_MS[i - 1] as number, BOUNDS_MS[i] as number];
      for (const value of [low * (1 + 1e-9), (low + high) / 2, high]) {
        const h = emptyHistogram();
        for (let n = 0; n < 100; n++) observe(h, value);
        for (const q of [0, 0.01, 0.5, 0.99, 1]) {
          const estimate = quantile(h, q) as number;
          const error = Math.abs(estimate - value) / value;
          assert.ok(error <= 0.125, `q=${q} of ${value}: ${estimate} (${(error * 100).toFixed(1)} %)`);
        }
      }
    }
  });

  it('is monotonic in q and reads the +Inf bucket as the last bound', () => {
    const random = seeded(11);
    const h = emptyHistogram();
    for (let n = 0; n < 1000; n++) observe(h, 10 ** (random() * 4));
    let last = 0;
    for (let q = 0.01; q <= 1; q += 0.01) {
      const value = quantile(h, q) as number;
      assert.ok(value >= last, `quantile(${q}) = ${value} < ${last}`);
      last = value;
    }
    const inf = emptyHistogram();
    observe(inf, 1e9);
    assert.equal(quantile(inf, 0.5), 900_000);
  });
});

describe('sparse form', () => {
  it('keeps only the non-empty buckets and round-trips exactly, through JSON too', () => {
    const random = seeded(5);
    const h = emptyHistogram();
    for (let n = 0; n < 300; n++) observe(h, 10 ** (random() * 6 - 1));
    observe(h, 1e9);
    const sparse = toSparse(h);
    assert.ok(
      Object.values(sparse).every((c) => c > 0),
      'no zero is kept',
    );
    assert.equal(Object.keys(sparse).length, h.filter((c) => c > 0).length);
    assert.deepEqual(fromSparse(sparse), h);
    assert.deepEqual(fromSparse(JSON.parse(JSON.stringify(sparse)) as Record<string, number>), h);
    assert.deepEqual(toSparse(emptyHistogram()), {});
    assert.deepEqual(fromSparse({}), emptyHistogram());
  });
});

describe('addInto', () => {
  it('adds bucket by bucket, so that histograms of several nodes and times sum', () => {
    const random = seeded(9);
    const a = emptyHistogram();
    const b = emptyHistogram();
    const both = emptyHistogram();
    for (let n = 0; n < 500; n++) {
      const ms = 10 ** (random() * 5 - 1);
      observe(n % 3 === 0 ? a : b, ms);
      observe(both, ms);
    }
    const sum = emptyHistogram();
    addInto(sum, a);
    addInto(sum, b);
    assert.deepEqual(sum, both);
    const target = [1, 2];
    addInto(target, [10, 20, 30]);
    assert.deepEqual(target, [11, 22, 30], 'a shorter target grows');
    const longer = [1, 2, 3];
    addInto(longer, [1]);
    assert.deepEqual(longer, [2, 2, 3], 'a shorter source adds only where it has counts');
  });
});

/** A standard normal draw (Box–Muller). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
