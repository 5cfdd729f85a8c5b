/**
 * `npm run bench [-- --quick] [-- --only NAME,…]`: Sluice against the machine's ceiling and floor, measured in
 * the same run, on 127.0.0.1 only and bounded in time. Prints one table and writes it to bench/results/ as JSON
 * and Markdown. `--only` runs some rows alone: warm-path rows by name (with `bare`, their baseline), or groups.
 */
import { coldRows } from './cold.js';
import { measureCost, SANDBOX, TELEMETRY } from './costs.js';
import { flipRow } from './flip.js';
import { idleRows } from './idle.js';
import { instructionRows } from './instructions.js';
import { neighbourRows } from './neighbour.js';
import { peerScenarios } from './peer.js';
import { roundRobinRows } from './round-robin.js';
import { routingRows } from './routing.js';
import { checkPostgres, scaleRows } from './scale.js';
import { BODY, CONNECTIONS, only, rounds, seconds, warmupSeconds } from './settings.js';
import { Table } from './table.js';
import { WARM_ROWS, warmRows } from './warm.js';
import { load } from './wrk.js';

interface Group {
  name: string;
  /** Its rows' ratios are taken against `bare`, which is then measured first. */
  baseline?: boolean;
  /** Rejects, before any row runs, when the group could not run here. */
  check?: () => Promise<void>;
  run: (table: Table) => Promise<void> | void;
}

/** serverless-offline, loaded as long as a warm-path row is over all its rounds. */
async function peerRows(table: Table): Promise<void> {
  const measure = async (url: string) => {
    const target = { url, method: 'POST', body: BODY, connections: CONNECTIONS };
    await load({ ...target, seconds: warmupSeconds });
    return load({ ...target, seconds: rounds * seconds });
  };
  for (const peer of await peerScenarios(measure)) {
    if (peer.result) table.record(peer.scenario, peer.what, peer.result);
    else table.add({ scenario: peer.scenario, what: peer.what });
  }
}

const GROUPS: readonly Group[] = [
  { name: 'peer', baseline: true, run: peerRows },
  { name: 'flip', run: flipRow },
  { name: 'cold', run: coldRows },
  {
    name: 'neighbour',
    run: async (table) => {
      await neighbourRows(table, [], '');
      await neighbourRows(table, ['--isolation', 'none'], ' --isolation none');
    },
  },
  { name: 'sandbox', baseline: true, run: (table) => measureCost(table, SANDBOX) },
  { name: 'telemetry', baseline: true, run: (table) => measureCost(table, TELEMETRY) },
  { name: 'routing', run: routingRows },
  { name: 'idle', run: idleRows },
  { name: 'scale-sqlite', run: (table) => scaleRows(table, 'sqlite') },
  { name: 'scale-postgres', check: checkPostgres, run: (table) => scaleRows(table, 'postgres') },
  { name: 'round-robin', run: roundRobinRows },
  { name: 'instructions', run: instructionRows },
];

const NAMES = [...WARM_ROWS.map((row) => row.name), ...GROUPS.map((group) => group.name)];

async function main(): Promise<void> {
  const unknown = [...(only ?? [])].filter((name) => !NAMES.includes(name));
  if (unknown.length > 0) {
    throw new Error(`--only: no rows called ${unknown.join(', ')}; there are ${NAMES.join(', ')}`);
  }
  const selected = only ?? new Set(NAMES);
  const groups = GROUPS.filter((group) => selected.has(group.name));
  for (const group of groups) await group.check?.();
  const table = new Table();
  if (WARM_ROWS.some((row) => selected.has(row.name)) || groups.some((group) => group.baseline)) {
    await warmRows(table, selected);
  }
  for (const group of groups) await group.run(table);
  await table.report();
}

await main();
