/** Flat as functions multiply: 100 functions, each warm, driven round-robin, against one under the same load. */
import { apiClient, type ApiCall } from '../test/support/api-client.js';
import { zipOf } from '../test/support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../test/support/server-process.js';
import { BENCH_NODE, coldStartsTotal, ok, readiness, triggerLoad } from './functions.js';
import { interleaved, type Contender, type Outcome } from './rounds.js';
import { startChild } from './own-servers.js';
import { BODY, rounds, seconds } from './settings.js';
import { loadFigures, type Table } from './table.js';
import { load } from './wrk.js';

const FUNCTIONS = 100;
/**
 * Fewer than the suite's 50: each function should see at most one request at a time, as one warm instance
 * each implies. At 50, a function often gets a second one meanwhile, and with the defaults
 * (instanceConcurrency 1) starts an instance for it: 190 instances, cold-starting on two cores.
 */
const CONNECTIONS = 10;
const SETTLE_SECONDS = 2;
const SETTLE_TRIES = 10;
const names = Array.from({ length: FUNCTIONS }, (_, i) => `rr_${String(i).padStart(3, '0')}`);

/** A function with the defaults, its version 1, and an alias `live` on it (no canary). */
async function setUpLive(api: ApiCall, name: string): Promise<void> {
  const zipFile = (await zipOf({ [BENCH_NODE.file]: BENCH_NODE.source })).toString('base64');
  await ok(
    api('POST', '/v1/functions', { name, runtime: 'nodejs20', handler: 'index.handler', code: { zipFile } }),
    name,
  );
  await ok(api('POST', `/v1/functions/${name}/versions`), `${name} publish`);
  await ok(api('PUT', `/v1/functions/${name}/aliases/live`, { version: '1' }), `${name} alias`);
}

/** A few at a time, as many callers would: each function then has its warm instance. */
async function warmEach(call: (name: string) => Promise<void>): Promise<void> {
  let next = 0;
  const caller = async () => {
    for (let i = next++; i < names.length; i = next++) await call(names[i] as string);
  };
  await Promise.all(Array.from({ length: 4 }, caller));
}

/** Loads until a load starts no instance: the pool has settled to what the load needs. */
async function settle(sluice: SluiceProcess, options: Contender['load']): Promise<number> {
  for (let tries = 1; tries <= SETTLE_TRIES; tries++) {
    const before = await coldStartsTotal(sluice);
    await load({ ...options, seconds: SETTLE_SECONDS });
    if ((await coldStartsTotal(sluice)) === before) return tries;
  }
  throw new Error(`instances were still starting after ${SETTLE_TRIES} loads of ${SETTLE_SECONDS} s`);
}

/** The CPU below a contender's process per request it served, in µs. */
const microsPerCall = (outcome: Outcome) => (outcome.cpuBelowNs ?? NaN) / 1000 / outcome.result.requests;

export async function roundRobinRows(table: Table): Promise<void> {
  const dir = await makeDataDir();
  const sluice = await startSluice(dir.dataDir);
  const floor = await startChild('./floor-gateway.js', [String(FUNCTIONS)]);
  try {
    const api = apiClient(sluice.url, sluice.token);
    for (const name of names) await setUpLive(api, name);
    await warmEach(async (name) => {
      const res = await api('POST', `/fn/${name}/live/hello`, '{}');
      if (res.status !== 200) throw new Error(`${name} answered ${res.status}`);
    });
    const base = triggerLoad(sluice, names[0] as string, 'live');
    const path = (name: string) => `/fn/${name}/live/hello`;
    const many = { ...base, connections: CONNECTIONS, paths: names.map(path) };
    const tries = await settle(sluice, many);
    const instances = (await readiness(sluice.url)).instances.total;
    const floorLoad = { url: floor.url, method: 'POST', body: BODY, connections: CONNECTIONS };
    const floorPaths = names.map((_, i) => `/${i}/hello`);
    const server = sluice.child.pid as number;
    const outcomes = await interleaved([
      {
        name: 'one',
        load: { ...base, connections: CONNECTIONS, paths: [path(names[0] as string)] },
        sluice,
        cpuBelow: server,
      },
      { name: 'many', load: many, sluice, cpuBelow: server },
      { name: 'floor one', load: { ...floorLoad, paths: floorPaths.slice(0, 1) }, cpuBelow: floor.pid },
      { name: 'floor many', load: { ...floorLoad, paths: floorPaths }, cpuBelow: floor.pid },
    ]);
    const one = outcomes.get('one') as Outcome;
    const all = outcomes.get('many') as Outcome;
    const how = `wrk -c${CONNECTIONS}, ${rounds} interleaved rounds of ${seconds} s`;
    table.add({
      scenario: 'round-robin 1',
      what: `one function (defaults, an alias without canary) through its HTTP trigger (${how})`,
      ...loadFigures(one.result, one.coldStarts),
    });
    table.add({
      scenario: `round-robin ${FUNCTIONS}`,
      what: `${FUNCTIONS} such functions requested in turn over the same connections (${how}), after loads of ${SETTLE_SECONDS} s until one started no instance (${tries}; ${instances} warm instances then); ratio: ÷ round-robin 1`,
      ...loadFigures(all.result, all.coldStarts),
      ratio: all.result.requestsPerSecond / one.result.requestsPerSecond,
    });
    const floorOne = outcomes.get('floor one') as Outcome;
    const floorMany = outcomes.get('floor many') as Outcome;
    table.add({
      scenario: 'round-robin floor 1',
      what: `the floor's gateway (fork() IPC) forwarding to one handler process, in the same rounds (${how})`,
      ...loadFigures(floorOne.result),
    });
    table.add({
      scenario: `round-robin floor ${FUNCTIONS}`,
      what: `the same gateway forwarding to ${FUNCTIONS} handler processes in turn, one per path: what the processes alone cost, whatever routes to them; ratio: ÷ round-robin floor 1`,
      ...loadFigures(floorMany.result),
      ratio: floorMany.result.requestsPerSecond / floorOne.result.requestsPerSecond,
    });
    table.add({
      scenario: `round-robin ${FUNCTIONS} instance CPU`,
      what: `the CPU of the processes below the server (runtimes and sandboxes, all threads, from /proc's schedstat) per call in the round-robin ${FUNCTIONS} rounds, each instance woken for one call; one function's: ${microsPerCall(one).toFixed(1)} µs; ratio: ÷ the floor's handler processes' in its ${FUNCTIONS} rounds (${microsPerCall(floorMany).toFixed(1)} µs; one: ${microsPerCall(floorOne).toFixed(1)} µs)`,
      value: microsPerCall(all),
      unit: 'µs per call',
      ratio: microsPerCall(all) / microsPerCall(floorMany),
    });
  } finally {
    await floor.stop();
    await sluice.stop();
    await dir.remove();
  }
}
