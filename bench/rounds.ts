/** Loads taken in interleaved rounds, so that the machine's drift falls on every contender alike. */
import type { SluiceProcess } from '../test/support/server-process.js';
import { coldStartsTotal } from './functions.js';
import { rounds, seconds, warmupSeconds } from './settings.js';
import { combineLoads, load, type LoadOptions, type LoadResult } from './wrk.js';

export interface Contender {
  name: string;
  load: Omit<LoadOptions, 'seconds'>;
  /** The Sluice server it loads, whose cold starts are counted. */
  sluice?: SluiceProcess;
}

export interface Outcome {
  result: LoadResult;
  /** Instances the server started while the contender was measured (warm-up excluded). */
  coldStarts?: number;
}

async function turn(contender: Contender, time: number): Promise<Outcome> {
  const options = { ...contender.load, seconds: time };
  if (!contender.sluice) return { result: await load(options) };
  const before = await coldStartsTotal(contender.sluice);
  const result = await load(options);
  return { result, coldStarts: (await coldStartsTotal(contender.sluice)) - before };
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
      const cold = outcomes.map((o) => o.coldStarts).filter((n) => n !== undefined);
      const outcome: Outcome = { result: combineLoads(outcomes.map((o) => o.result)) };
      if (cold.length > 0) outcome.coldStarts = cold.reduce((sum, n) => sum + n, 0);
      return [name, outcome];
    }),
  );
}
