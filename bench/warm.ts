/**
 * The warm path: the ceiling (`bare`), the floor, and Sluice's ways in, all serving the same small handler,
 * loaded in interleaved rounds so that the machine's drift falls on every row alike. Sluice runs with the
 * defaults a user gets; the rows marked tuned show what the defaults cost, and compare with earlier runs.
 */
import { apiClient, type ApiCall } from '../test/support/api-client.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../test/support/server-process.js';
import {
  BENCH_CSHARP,
  BENCH_CUSTOM,
  BENCH_NODE,
  BENCH_PHP,
  BENCH_PYTHON,
  ok,
  SEED_NODE,
  setUpCanary,
  type Target,
  triggerLoad,
  TUNED,
  TUNED_LABEL,
} from './functions.js';
import { interleaved, type Contender, type Outcome } from './rounds.js';
import { startChild } from './own-servers.js';
import { BODY, CONNECTIONS } from './settings.js';
import type { Table } from './table.js';

type WarmRow = {
  /** What `--only` calls it. */
  name: string;
  scenario: string;
  what: string;
  connections?: number;
  /** A row of the same run it is compared with, in its `what`. */
  versus?: string;
  /** A row of the same run whose p99 this row's is held against, in its `what`. */
  latencyVersus?: string;
} & ({ on: 'bare' | 'floor' } | { on: 'sluice'; target: (sluice: SluiceProcess) => Target });

const invokeLoad = (sluice: SluiceProcess, name: string): Target => ({
  url: `${sluice.url}/v1/functions/${name}/invocations?qualifier=%24LATEST`,
  method: 'POST',
  body: BODY,
  headers: { authorization: `Bearer ${sluice.token}` },
});

export const WARM_ROWS: readonly WarmRow[] = [
  {
    name: 'bare',
    scenario: 'bare',
    what: 'node:http answering the handler in-process (the ceiling)',
    on: 'bare',
  },
  {
    name: 'bare-1',
    scenario: 'bare, 1 connection',
    what: 'the ceiling at one connection: the latency a lone caller gets',
    connections: 1,
    on: 'bare',
  },
  {
    name: 'floor',
    scenario: 'floor',
    what: 'a gateway forwarding to one handler process over fork() IPC (the floor)',
    on: 'floor',
  },
  {
    name: 'floor-1',
    scenario: 'floor, 1 connection',
    what: 'the floor at one connection: what a second process costs a lone caller',
    connections: 1,
    latencyVersus: 'bare-1',
    on: 'floor',
  },
  {
    name: 'invoke',
    scenario: 'invoke',
    what: 'Sluice invoke API, $LATEST, Node.js',
    on: 'sluice',
    target: (s) => invokeLoad(s, 'bench_invoke'),
  },
  {
    name: 'invoke-tuned',
    scenario: `invoke (${TUNED_LABEL})`,
    what: 'the same, the function tuned',
    versus: 'invoke',
    on: 'sluice',
    target: (s) => invokeLoad(s, 'bench_invoke_tuned'),
  },
  {
    name: 'alias-canary',
    scenario: 'alias-canary',
    what: 'HTTP trigger through an alias with a 10 % canary',
    latencyVersus: 'bare',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_node'),
  },
  {
    name: 'alias-canary-1',
    scenario: 'alias-canary, 1 connection',
    what: 'the same at one connection',
    connections: 1,
    latencyVersus: 'bare-1',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_node'),
  },
  {
    name: 'alias-canary-10',
    scenario: 'alias-canary, 10 connections',
    what: 'the same at 10 connections',
    connections: 10,
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_node'),
  },
  {
    name: 'alias-canary-tuned',
    scenario: `alias-canary (${TUNED_LABEL})`,
    what: 'the same at 50 connections, the function tuned',
    versus: 'alias-canary',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_node_tuned'),
  },
  {
    name: 'seed-canary',
    scenario: 'seed-canary',
    what: "the seeds' sample handler (two log lines per call) through a 10 % canary alias",
    versus: 'alias-canary',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'seed_node'),
  },
  {
    name: 'seed-canary-tuned',
    scenario: `seed-canary (${TUNED_LABEL})`,
    what: 'the same, the function tuned',
    versus: 'alias-canary-tuned',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'seed_node_tuned'),
  },
  {
    name: 'alias-rules',
    scenario: 'alias-rules',
    what: 'the same as alias-canary through a 3-condition header rule (matching)',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_rules', 'rules', { 'x-user': 'bob', 'x-tier': 'gold', 'x-n': '42' }),
  },
  {
    name: 'stage',
    scenario: 'stage',
    what: 'an API stage bound to the canary alias',
    on: 'sluice',
    target: (s) => ({ ...triggerLoad(s, 'bench_node'), url: `${s.url}/gw/bench/live/hello` }),
  },
  {
    name: 'python',
    scenario: 'python',
    what: 'the same handler in Python through the canary alias',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_python'),
  },
  {
    name: 'php',
    scenario: 'php',
    what: 'the same handler in PHP through the canary alias',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_php'),
  },
  {
    name: 'csharp',
    scenario: 'csharp',
    what: 'the same handler in C# (Mono) through the canary alias',
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_csharp'),
  },
  {
    name: 'custom',
    scenario: 'custom',
    what: "the same answer from a custom runtime (Python's http.server) through the canary alias",
    on: 'sluice',
    target: (s) => triggerLoad(s, 'bench_custom'),
  },
];

/**
 * Every function the rows call: each runtime's handler and the seeds' sample, with the defaults and tuned. Rows
 * that run different versions have functions of their own: a function's instances are shared by its versions,
 * and rows taken in turn on one function would have its instances change version from round to round.
 */
async function setUp(api: ApiCall): Promise<void> {
  await setUpCanary(api, 'bench_invoke', BENCH_NODE);
  await setUpCanary(api, 'bench_invoke_tuned', BENCH_NODE, TUNED);
  await setUpCanary(api, 'bench_node', BENCH_NODE);
  await setUpCanary(api, 'bench_rules', BENCH_NODE);
  await setUpCanary(api, 'bench_node_tuned', BENCH_NODE, TUNED);
  await setUpCanary(api, 'bench_python', BENCH_PYTHON);
  await setUpCanary(api, 'bench_php', BENCH_PHP);
  await setUpCanary(api, 'bench_csharp', BENCH_CSHARP);
  await setUpCanary(api, 'bench_custom', BENCH_CUSTOM);
  await setUpCanary(api, 'seed_node', SEED_NODE);
  await setUpCanary(api, 'seed_node_tuned', SEED_NODE, TUNED);
  await ok(
    api('PUT', '/v1/functions/bench_rules/aliases/rules', {
      version: '1',
      canary: {
        version: '2',
        match: 'all',
        rules: [
          { source: 'header', name: 'x-user', op: '=', value: 'bob' },
          { source: 'header', name: 'x-tier', op: 'in', value: ['gold', 'beta'] },
          { source: 'header', name: 'x-n', op: '>', value: 10 },
        ],
      },
    }),
    'rules',
  );
  await ok(api('POST', '/v1/apis', { name: 'bench', routes: [{ method: 'ANY', path: '/{proxy+}' }] }), 'api');
  await ok(
    api('PUT', '/v1/apis/bench/stages/live', { function: 'bench_node', qualifier: 'canary' }),
    'stage',
  );
}

const signed = (ms: number) => `${ms < 0 ? '−' : '+'}${Math.abs(ms).toFixed(2)}`;

interface Servers {
  bare: string;
  floor: string | undefined;
  sluice: SluiceProcess | undefined;
}

function contender(row: WarmRow, servers: Servers): Contender {
  const connections = row.connections ?? CONNECTIONS;
  if (row.on !== 'sluice') {
    const url = servers[row.on];
    if (url === undefined) throw new Error(`${row.on} was not started`);
    return { name: row.name, load: { url, method: 'POST', body: BODY, connections } };
  }
  if (!servers.sluice) throw new Error('Sluice was not started');
  return { name: row.name, load: { ...row.target(servers.sluice), connections }, sluice: servers.sluice };
}

/**
 * Measures the named rows (and `bare`, the baseline, whether named or not) in interleaved rounds, and sets the
 * table's baseline.
 */
export async function warmRows(table: Table, names: ReadonlySet<string>): Promise<void> {
  const named = WARM_ROWS.filter((row) => names.has(row.name));
  // A row's p99 is read against another's: that one is measured in the same rounds, named or not.
  const wanted = new Set(['bare', ...names, ...named.flatMap((row) => row.latencyVersus ?? [])]);
  const selected = WARM_ROWS.filter((row) => wanted.has(row.name));
  const bare = await startChild('./bare-server.js');
  const floor = selected.some((row) => row.on === 'floor')
    ? await startChild('./floor-gateway.js')
    : undefined;
  const dir = await makeDataDir();
  let sluice: SluiceProcess | undefined;
  try {
    if (selected.some((row) => row.on === 'sluice')) {
      sluice = await startSluice(dir.dataDir);
      await setUp(apiClient(sluice.url, sluice.token));
    }
    const servers: Servers = { bare: bare.url, floor: floor?.url, sluice };
    const outcomes = await interleaved(selected.map((row) => contender(row, servers)));
    const rate = (name: string) => outcomes.get(name)?.result.requestsPerSecond ?? NaN;
    const p99 = (name: string) => outcomes.get(name)?.result.p99Ms ?? NaN;
    table.baseline = rate('bare');
    for (const row of selected) {
      const { result, coldStarts } = outcomes.get(row.name) as Outcome;
      const against = [
        row.versus !== undefined && outcomes.has(row.versus)
          ? `÷ ${row.versus} of this run: ${(result.requestsPerSecond / rate(row.versus)).toFixed(2)}`
          : undefined,
        row.latencyVersus !== undefined && outcomes.has(row.latencyVersus)
          ? `p99 against ${row.latencyVersus}'s of this run: ${signed(result.p99Ms - p99(row.latencyVersus))} ms, ${(result.p99Ms / p99(row.latencyVersus)).toFixed(1)}×`
          : undefined,
      ].filter((part) => part !== undefined);
      table.record(row.scenario, [row.what, ...against].join('; '), result, coldStarts);
    }
  } finally {
    await bare.stop();
    await floor?.stop();
    await sluice?.stop();
    await dir.remove();
  }
}
