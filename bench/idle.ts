/** Idle is idle: the CPU an idle server and its warm instances take. */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient } from '../test/support/api-client.js';
import { makeDataDir, startSluice } from '../test/support/server-process.js';
import { BENCH_NODE, readiness, setUpCanary, triggerLoad } from './functions.js';
import { descendants, processes, usedBetween, type ProcessStat } from './procfs.js';
import { quick } from './settings.js';
import type { Table } from './table.js';
import { load } from './wrk.js';

const FUNCTIONS = ['idle_a', 'idle_b'];
const LOAD_SECONDS = quick ? 1 : 2;
/**
 * Time for what the load left behind to be done: its telemetry's flush, a WAL checkpoint, the instances' last
 * memory checks, and V8's collections after a burst of allocation, which went on for up to 40 s in the
 * instances (their CPU in 5-s windows after the load: 23, 58, 1, 0, 1, 0, 0, 16, then under 1 ms; each instance
 * then woken a time or two a minute, as an idle Node.js process is by V8 alone).
 */
const SETTLE_MS = 45_000;
const IDLE_SECONDS = quick ? 5 : 10;

const percentOfCore = (ns: number) => (100 * ns) / 1e9 / IDLE_SECONDS;
const perSecond = (count: number) => count / IDLE_SECONDS;

/**
 * A server with the defaults, each of two functions loaded over 20 connections until it holds its 10 warm
 * instances, then left alone: the CPU it and its instances' processes (everything below it) use meanwhile.
 */
export async function idleRows(table: Table): Promise<void> {
  const dir = await makeDataDir();
  const sluice = await startSluice(dir.dataDir);
  try {
    const api = apiClient(sluice.url, sluice.token);
    for (const name of FUNCTIONS) {
      await setUpCanary(api, name, BENCH_NODE);
      await load({ ...triggerLoad(sluice, name), connections: 20, seconds: LOAD_SECONDS });
    }
    await sleep(SETTLE_MS);
    const pid = sluice.child.pid as number;
    const before = processes();
    await sleep(IDLE_SECONDS * 1000);
    const after = processes();
    const warm = (await readiness(sluice.url)).instances.total;
    const below = descendants(after, pid);
    const used = (pids: number[], field: keyof Omit<ProcessStat, 'ppid'>) =>
      usedBetween(before, after, pids, field);
    const held = `${warm} warm instances of ${FUNCTIONS.length} functions (10 % canary aliases, the defaults), each function loaded over 20 connections for ${LOAD_SECONDS} s, then ${SETTLE_MS / 1000} s to settle`;
    const instances = `its ${below.length} processes below it (runtimes, standbys and their sandboxes)`;
    table.add({
      scenario: 'idle server',
      what: `the server's CPU over ${IDLE_SECONDS} s of idle, holding ${held} (all its threads' run time, from /proc's schedstat)`,
      value: percentOfCore(used([pid], 'cpuNs')),
      unit: '% of a core',
    });
    table.add({
      scenario: 'idle instances',
      what: `the CPU of ${instances} over the same ${IDLE_SECONDS} s, summed`,
      value: percentOfCore(used(below, 'cpuNs')),
      unit: '% of a core',
    });
    table.add({
      scenario: 'idle wakeups',
      what: `how often the server's threads and ${instances} were woken over the same ${IDLE_SECONDS} s (voluntary context switches)`,
      value: perSecond(used([pid, ...below], 'wakeups')),
      unit: 'per second',
    });
  } finally {
    await sluice.stop();
    await dir.remove();
  }
}
