import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoalescedRun } from './coalesced-run.js';

/** A round that waits until the test lets it finish, and counts how many began. */
function gatedRounds(answer: () => boolean = () => true) {
  const gates: (() => void)[] = [];
  let rounds = 0;
  const round = async () => {
    rounds++;
    await new Promise<void>((resolve) => gates.push(resolve));
    return answer();
  };
  const finishOne = async () => {
    // Let the run reach its next await before opening the gate it waits at.
    while (gates.length === 0) await Promise.resolve();
    gates.shift()?.();
  };
  return { round, finishOne, rounds: () => rounds };
}

test('requests during a run make one more round after it, not runs beside it', async () => {
  const g = gatedRounds();
  const run = new CoalescedRun(g.round, () => false);
  const first = run.request();
  const second = run.request();
  const third = run.request();
  assert.equal(second, first, 'the same run answers every request made while it is under way');
  assert.equal(third, first);
  assert.equal(g.rounds(), 1);
  await g.finishOne();
  await g.finishOne();
  await first;
  assert.equal(g.rounds(), 2, 'three requests: the round under way and one more');
  assert.equal(run.current, undefined);
});

test('a round that answers false ends the run even if more was asked for', async () => {
  const g = gatedRounds(() => false);
  const run = new CoalescedRun(g.round, () => false);
  const first = run.request();
  void run.request();
  await g.finishOne();
  await first;
  assert.equal(g.rounds(), 1);
});

test('once stopped, nothing starts and a run under way takes no further round', async () => {
  let stopped = false;
  const g = gatedRounds();
  const run = new CoalescedRun(g.round, () => stopped);
  const first = run.request();
  void run.request();
  stopped = true;
  await g.finishOne();
  await first;
  assert.equal(g.rounds(), 1);
  await run.request();
  assert.equal(g.rounds(), 1);
});
