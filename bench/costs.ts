/** What a feature costs on the canary alias: servers with it on and off, measured side by side. */
import { apiClient } from '../test/support/api-client.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../test/support/server-process.js';
import { BENCH_NODE, setUpCanary, triggerLoad } from './functions.js';
import { CONNECTIONS, quick, warmupSeconds } from './settings.js';
import { geometricMean } from './stats.js';
import type { Table } from './table.js';
import { combineLoads, load, type LoadResult } from './wrk.js';

/** Two ways of running a server, compared: `on` and `off`, each started with its own flags. */
export interface Comparison {
  name: string;
  on: { what: string; flags: string[] };
  off: { what: string; flags: string[] };
  pairs: number;
  turns: number;
}

// Even, so that each of the two is started first in as many pairs as the other. A turn of a second varies by
// up to 10 % with the machine, a server process by several per cent: the cost, a few per cent, shows only
// over many of both.
const turns = quick ? 4 : 10;

export const TELEMETRY: Comparison = {
  name: 'telemetry',
  on: { what: 'the canary alias', flags: ['--telemetry', 'on'] },
  off: { what: 'the canary alias with --telemetry off', flags: ['--telemetry', 'off'] },
  pairs: quick ? 4 : 12,
  turns,
};

export const SANDBOX: Comparison = {
  name: 'sandbox',
  on: { what: 'the canary alias, instances sandboxed (the default)', flags: ['--isolation', 'required'] },
  off: { what: 'the canary alias with --isolation none', flags: ['--isolation', 'none'] },
  pairs: quick ? 2 : 6,
  turns,
};

type Side = 'on' | 'off';

/**
 * Two server processes differ by several per cent on this machine whatever they run (start order, placement,
 * what the JIT made of them), and the machine's speed drifts within seconds. So each pair is fresh and started
 * in alternating order, the two are loaded in turns of a second (on, off, off, on, …) rather than one after
 * the other, and the cost is the geometric mean over the pairs: a bias of whichever server started first
 * cancels out in it.
 */
export async function measureCost(table: Table, c: Comparison): Promise<void> {
  const ratios: number[] = [];
  const taken: Record<Side, LoadResult[]> = { on: [], off: [] };
  for (let pair = 0; pair < c.pairs; pair++) {
    const order = pair % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const started: { side: Side; sluice: SluiceProcess; remove: () => Promise<void> }[] = [];
    try {
      for (const side of order) {
        const dir = await makeDataDir();
        const sluice = await startSluice(dir.dataDir, c[side].flags);
        started.push({ side, sluice, remove: dir.remove });
        await setUpCanary(apiClient(sluice.url, sluice.token), 'bench_node', BENCH_NODE);
      }
      const served: Record<Side, LoadResult[]> = { on: [], off: [] };
      for (const { sluice } of started) {
        await load({
          ...triggerLoad(sluice, 'bench_node'),
          connections: CONNECTIONS,
          seconds: warmupSeconds,
        });
      }
      for (let turn = 0; turn < c.turns; turn++) {
        for (const { side, sluice } of turn % 2 === 0 ? started : [...started].reverse()) {
          served[side].push(
            await load({ ...triggerLoad(sluice, 'bench_node'), connections: CONNECTIONS, seconds: 1 }),
          );
        }
      }
      taken.on.push(...served.on);
      taken.off.push(...served.off);
      ratios.push(combineLoads(served.on).requestsPerSecond / combineLoads(served.off).requestsPerSecond);
    } finally {
      for (const { sluice, remove } of started) {
        await sluice.stop();
        await remove();
      }
    }
  }
  for (const side of ['on', 'off'] as const) {
    table.record(
      `${c.name} ${side}`,
      `${c[side].what}: ${c.pairs} fresh pairs × ${c.turns} turns of 1 s (median p50 and p99 of the turns)`,
      combineLoads(taken[side]),
    );
  }
  table.add({
    scenario: `${c.name} cost`,
    what: `req/s with ${c.name} on ÷ off, pair by pair: ${ratios.map((r) => r.toFixed(3)).join(', ')}; their geometric mean`,
    ratio: geometricMean(ratios),
  });
}
