/** Loads taken in interleaved rounds, so that the machine's drift falls on every contender alike. */
import type { SluiceProcess } from '../test/support/server-process.js';
import { coldStartsTotal } from './functions.js';
import { descendants, processes, usedBetween } from './procfs.js';
import { rounds, seconds, warmupSeconds } from './settings.js';
import { combineLoads, load, type LoadOptions, type LoadResult } from './wrk.js';

export interface Contender {
  name: string;
  load: Omit<LoadOptions, 'seconds'>;
  /** The Sluice server it loads, whose cold starts are counted. */
  sluice?: SluiceProcess;
  /** A process whose descendants' CPU is measured: the instances below a server, the floor's handlers. */
  cpuBelow?: number;
}

export interface Outcome {
  result: LoadResult;
  /** Instances the server started while the contender was measured (warm-up excluded). */
  coldStarts?: number;
  /** The CPU the processes below `cpuBelow` used while it was measured (warm-up excluded), all threads. */
  cpuBelowNs?: number;
}

async function turn(contender: Contender, time: number): Promise<Outcome> {
  const { sluice, cpuBelow } = contender;
  const coldBefore = sluice && (await coldStartsTotal(sluice));
  const cpuBefore = cpuBelow === undefined ? undefined : processes();
  const outcome: Outcome = { result: await load({ ...contender.load, seconds: time }) };
  if (cpuBefore && cpuBelow !== undefined) {
    const after = processes();
    outcome.cpuBelowNs = usedBetween(cpuBefore, after, descendants(after, cpuBelow), 'cpuNs');
  }
  if (sluice && coldBefore !== undefined) outcome.coldStarts = (await coldStartsTotal(sluice)) - coldBefore;
  return outcome;
}

/** The sum of the figures a contender's rounds have, if they have any. */
function total(figures: readonly (number | undefined)[]): number | undefined {
  const present = figures.filter((n) => n !== undefined);
  return present.length > 0 ? present.reduce((sum, n) => sum + n, 0) : undefined;
}

/**
 * A warm-up of each, then `rounds` rounds of `seconds` each, every round in the opposite order of the one
 * before: the outcome of each over all its rounds.
 */
export async function interleaved(contenders: readonly Contender[]): Promise<Map<string, Outcome>> {
  for (const contender of contenders) await turn(contender, warmupSeconds);
  const taken = new Map(contenders.map((c) => [c.name, [] as Outcome[]]));
  for (let round = 0; round < rounds; round++) {
    for (const contender of round % 2 === 0 ? contenders : [...contenders].reverse()) {
      taken.get(contender.name)?.push(await turn(contender, seconds));
    }
  }
  return new Map(
    [...taken].map(([name, outcomes]) => {
      const outcome: Outcome = { result: combineLoads(outcomes.map((o) => o.result)) };
      const coldStarts = total(outcomes.map((o) => o.coldStarts));
      if (coldStarts !== undefined) outcome.coldStarts = coldStarts;
      const cpuBelowNs = total(outcomes.map((o) => o.cpuBelowNs));
      if (cpuBelowNs !== undefined) outcome.cpuBelowNs = cpuBelowNs;
      return [name, outcome];
    }),
  );
}
