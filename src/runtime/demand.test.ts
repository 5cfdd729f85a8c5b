import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  arrive,
  DEMAND_WINDOW_MS,
  demandTime,
  depart,
  entitlements,
  mayGive,
  newClock,
  newDemand,
  offeredLoad,
  PAUSE_MS,
  shouldGet,
} from './demand.js';

test('offered load is arrivals per ms times ms each, per concurrency, and fades once calls stop', () => {
  const d = newDemand(0);
  const clock = newClock(0);
  // 100 calls a second for a window, 20 ms each: two instances busy.
  for (let t = 0; t < 5 * DEMAND_WINDOW_MS; t += 10) {
    arrive(clock, d, t);
    depart(clock, d, t, 20);
  }
  const now = 5 * DEMAND_WINDOW_MS;
  assert.ok(Math.abs(offeredLoad(d, now, 1) - 2) < 0.05, String(offeredLoad(d, now, 1)));
  assert.ok(Math.abs(offeredLoad(d, now, 4) - 0.5) < 0.02);
  assert.ok(offeredLoad(d, now + DEMAND_WINDOW_MS, 1) < 0.8);
  assert.equal(offeredLoad(d, now + 60_000, 1), 0, 'no longer invoked');
});

test('a version with a call running or waiting has some load, even before any has ended', () => {
  const d = newDemand(0);
  const clock = newClock(0);
  assert.equal(offeredLoad(d, 0, 1), 0);
  arrive(clock, d, 0);
  assert.ok(offeredLoad(d, 1_000_000, 1) > 0, 'still waiting, a long time later');
  depart(clock, d, 1_000_000, undefined);
  assert.equal(offeredLoad(d, 1_000_000, 1), 0);
});

test('calls refused or given up count as arrivals, not as time run', () => {
  const d = newDemand(0);
  const clock = newClock(0);
  arrive(clock, d, 0);
  depart(clock, d, 0, undefined);
  assert.deepEqual([d.wanted, d.ended, d.ranMs], [0, 0, 0]);
  assert.equal(clock.wanted, 0);
});

test("a function's demand time runs with the wall clock while it works, and skips its pauses", () => {
  const clock = newClock(1000);
  const d = newDemand(1000);
  arrive(clock, d, 1000);
  assert.equal(demandTime(clock, 61_000), 61_000, 'a minute with an invocation running counts whole');
  depart(clock, d, 61_000, 60_000);
  assert.equal(clock.time, 61_000);
  assert.equal(demandTime(clock, 61_000 + PAUSE_MS / 2), 61_000 + PAUSE_MS / 2, 'a short gap counts');
  assert.equal(
    demandTime(clock, 3_661_000),
    61_000 + PAUSE_MS,
    'an hour with nothing to do counts as a pause',
  );
  arrive(clock, d, 3_661_000);
  assert.equal(clock.time, 61_000 + PAUSE_MS);
  assert.equal(demandTime(clock, 3_661_010), 61_000 + PAUSE_MS + 10);
});

test('a pause leaves a canary as invoked as it was, however long', () => {
  const clock = newClock(0);
  const [primary, canary] = [newDemand(0), newDemand(0)];
  // 500 calls a second, one in ten to the canary, for two windows; then nothing for an hour.
  for (let i = 0; i < 5000; i++) {
    const t = i * 2;
    const d = i % 10 === 0 ? canary : primary;
    arrive(clock, d, t);
    depart(clock, d, t + 1, 1);
  }
  const shares = (wall: number) => {
    const now = demandTime(clock, wall);
    return [
      ...entitlements(
        new Map([
          ['p', offeredLoad(primary, now, 1)],
          ['c', offeredLoad(canary, now, 1)],
        ]),
        10,
      ).values(),
    ];
  };
  const [p = NaN, c = NaN] = shares(10_001);
  assert.ok(Math.abs(c - 1) < 0.05 && Math.abs(p - 9) < 0.05, `${p} ${c}`);
  const [pLater = NaN, cLater = NaN] = shares(3_610_000);
  assert.ok(Math.abs(pLater - p) < 1e-9 && Math.abs(cLater - c) < 1e-9, `${pLater} ${cLater}`);
});

test('entitlements split the capacity in proportion to load', () => {
  const shares = entitlements(
    new Map([
      ['a', 9],
      ['b', 1],
      ['c', 0],
    ]),
    10,
  );
  assert.deepEqual(
    [...shares],
    [
      ['a', 9],
      ['b', 1],
      ['c', 0],
    ],
  );
  assert.deepEqual([...entitlements(new Map([['a', 0]]), 10)], [['a', 0]]);
});

test('an instance moves only when one version holds clearly more than its share and another clearly less', () => {
  const table: [number, number, boolean, boolean][] = [
    // count, share, mayGive, shouldGet
    [9, 9, false, false],
    [9, 8.4, false, false],
    [9, 8.25, true, false],
    [2, 2.6, false, false],
    [2, 2.75, false, true],
    [1, 0.2, false, false],
    [1, 0, true, false],
    [0, 0.01, false, true],
    [0, 0, false, false],
    [3, 0, true, false],
  ];
  for (const [count, share, gives, gets] of table) {
    assert.equal(mayGive(count, share), gives, `mayGive(${count}, ${share})`);
    assert.equal(shouldGet(count, share), gets, `shouldGet(${count}, ${share})`);
  }
});

test('a version that takes an instance does not then qualify to give it back, nor the giver to take it', () => {
  for (let share = 0.5; share <= 9.5; share += 0.05) {
    for (let count = 1; count <= 10; count++) {
      if (shouldGet(count, share))
        assert.ok(!mayGive(count + 1, share), `${count} → ${count + 1} at ${share}`);
      if (mayGive(count, share))
        assert.ok(!shouldGet(count - 1, share), `${count} → ${count - 1} at ${share}`);
    }
  }
});
