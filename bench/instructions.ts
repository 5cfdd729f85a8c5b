/**
 * Instructions per request: what the server's main thread executes for one request, counted by callgrind. On
 * this machine a server's req/s swings by 15 % from one process to the next; the instructions a request costs
 * come out within 7 % run after run (three runs), whatever else the machine does, so that a change to the hot
 * path can be told from noise. They leave out what the kernel does for the server (its reads and writes), and
 * count work done on a clock for the time callgrind stretches the run to, some 30 times the real one: each
 * instance's memory check every 100 ms came to 7,500 instructions per request in the canary row, with its 10
 * instances, where in real time it is under 300. What is kept for a moment is reused less for the same reason:
 * the HTTP event's time, written once per millisecond, is written for nearly every request here.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiClient } from '../test/support/api-client.js';
import { makeDataDir, startSluice } from '../test/support/server-process.js';
import { BENCH_NODE, setUpCanary, TUNED, TUNED_LABEL } from './functions.js';
import { startChild } from './own-servers.js';
import { BODY, CONNECTIONS, quick } from './settings.js';
import type { Table } from './table.js';

const run = promisify(execFile);

/** Requests before counting (V8 has optimised the path by then), and counted. */
const WARM_REQUESTS = quick ? 5_000 : 15_000;
const COUNTED_REQUESTS = quick ? 3_000 : 10_000;

interface Served {
  url: string;
  /** The process that valgrind runs (it runs its program in its own process). */
  pid: number;
  headers: Record<string, string>;
  stop: () => Promise<void>;
}

interface Scenario {
  scenario: string;
  what: string;
  start: (valgrind: string[]) => Promise<Served>;
}

const ownServer =
  (script: string): Scenario['start'] =>
  async (valgrind) => {
    const child = await startChild(script, [], valgrind);
    return {
      url: child.url,
      pid: child.pid,
      headers: {},
      stop: child.stop,
    };
  };

const sluice =
  (path: string, setUp: (api: ReturnType<typeof apiClient>) => Promise<void>): Scenario['start'] =>
  async (valgrind) => {
    const dir = await makeDataDir();
    const server = await startSluice(dir.dataDir, [], undefined, valgrind);
    const stop = async () => {
      await server.kill();
      await dir.remove();
    };
    try {
      await setUp(apiClient(server.url, server.token));
    } catch (error) {
      await stop();
      throw error;
    }
    return {
      url: `${server.url}${path}`,
      pid: server.child.pid as number,
      headers: { authorization: `Bearer ${server.token}` },
      stop,
    };
  };

/** The function as the warm rows set it up (two versions, a canary alias), invoked on $LATEST as they do. */
const INVOKE_PATH = '/v1/functions/bench_invoke/invocations?qualifier=%24LATEST';

const SCENARIOS: readonly Scenario[] = [
  { scenario: 'instructions bare', what: 'the ceiling', start: ownServer('./bare-server.js') },
  { scenario: 'instructions floor', what: "the floor's gateway", start: ownServer('./floor-gateway.js') },
  {
    scenario: 'instructions invoke',
    what: "Sluice's server, the invoke API on $LATEST",
    start: sluice(INVOKE_PATH, (api) => setUpCanary(api, 'bench_invoke', BENCH_NODE)),
  },
  {
    scenario: 'instructions invoke tuned',
    what: `Sluice's server, the invoke API on $LATEST (${TUNED_LABEL})`,
    start: sluice(INVOKE_PATH, (api) => setUpCanary(api, 'bench_invoke', BENCH_NODE, TUNED)),
  },
  {
    scenario: 'instructions canary',
    what: "Sluice's server, the HTTP trigger through a 10 % canary alias",
    start: sluice('/fn/bench_canary/canary/hello', (api) => setUpCanary(api, 'bench_canary', BENCH_NODE)),
  },
];

/** `count` POSTs of the bench's body, `CONNECTIONS` at a time; rejects on any answer but 200. */
async function drive(served: Served, count: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const headers = { ...served.headers, 'content-type': 'application/json', 'content-length': BODY.length };
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(served.url, { method: 'POST', agent, headers }, (res) => {
        res.resume();
        res.once('end', () => {
          if (res.statusCode === 200) resolve();
          else reject(new Error(`${served.url} answered ${res.statusCode}`));
        });
      });
      req.once('error', reject);
      req.end(BODY);
    });
  let left = count;
  try {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (left-- > 0) await one();
      }),
    );
  } finally {
    agent.destroy();
  }
}

/** The main thread's instructions per request, counted from the warm server's next `COUNTED_REQUESTS`. */
async function instructionsPerRequest(scenario: Scenario): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-callgrind-'));
  const out = join(dir, 'callgrind.out');
  // Counting starts once the path is warm; each thread's counts go to a file of their own.
  const valgrind = [
    'valgrind',
    '-q',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--separate-threads=yes',
    `--callgrind-out-file=${out}`,
  ];
  try {
    const served = await scenario.start(valgrind);
    try {
      await drive(served, WARM_REQUESTS);
      await run('callgrind_control', ['--instr=on', String(served.pid)]);
      await drive(served, COUNTED_REQUESTS);
      await run('callgrind_control', ['--dump', String(served.pid)]);
    } finally {
      await served.stop();
    }
    // The dump asked for, of thread 1: the main thread, where requests are served.
    const dumped = (await readdir(dir)).find((file) => file.endsWith('.1-01'));
    if (dumped === undefined) throw new Error(`callgrind wrote no dump of the main thread in ${dir}`);
    const totals = /^totals: (\d+)$/m.exec(await readFile(join(dir, dumped), 'utf8'))?.[1];
    if (totals === undefined) throw new Error(`${dumped} has no totals`);
    return Number(totals) / COUNTED_REQUESTS;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function instructionRows(table: Table): Promise<void> {
  const missing = ['valgrind', 'callgrind_control'].filter(
    (tool) => spawnSync(tool, ['--version']).error !== undefined,
  );
  if (missing.length > 0) {
    table.add({
      scenario: 'instructions',
      what: `not run: ${missing.join(' and ')} not found (Debian: valgrind)`,
    });
    return;
  }
  let bare = NaN;
  for (const scenario of SCENARIOS) {
    const count = await instructionsPerRequest(scenario);
    if (Number.isNaN(bare)) bare = count;
    table.add({
      scenario: scenario.scenario,
      what: `${scenario.what}: user-space instructions its main thread runs per request, counted by callgrind over ${COUNTED_REQUESTS} requests at ${CONNECTIONS} connections after ${WARM_REQUESTS} to warm up (within about 7 % run to run; work on a clock, such as each instance's memory check, is over-counted: see bench/README); ratio: bare's ÷ this`,
      value: count / 1000,
      unit: 'k instructions',
      ratio: bare / count,
    });
  }
}
