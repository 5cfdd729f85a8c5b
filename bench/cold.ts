/** Cold starts of each runtime, sandboxed and not, from a standby and not, against the interpreter's bare spawn. */
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { apiClient, type ApiCall } from '../test/support/api-client.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../test/support/server-process.js';
import { BENCH_CSHARP, BENCH_CUSTOM, BENCH_NODE, BENCH_PHP, BENCH_PYTHON, setUpCanary } from './functions.js';
import { STANDBY_RUNTIMES } from '../src/runtime/launchers.js';
import { quick } from './settings.js';
import { median, p99 } from './stats.js';
import type { Table } from './table.js';

const coldStarts = quick ? 10 : 30;

/** One cold start of `name`'s `$LATEST`: its Init Duration. */
async function coldStart(api: ApiCall, name: string, i: number): Promise<number> {
  // A change to $LATEST makes the next invocation start a new instance.
  await api('PATCH', `/v1/functions/${name}`, { environmentVariables: { COLD: String(i) } });
  const res = await api('POST', `/v1/functions/${name}/invocations?qualifier=%24LATEST`, Buffer.from('{}'), {
    'x-fc-log-type': 'Tail',
  });
  const init = /Init Duration: ([\d.]+) ms/.exec(
    Buffer.from(res.headers.get('x-fc-log-result') ?? '', 'base64').toString(),
  );
  if (res.status !== 200 || !init) throw new Error(`cold start ${i} of ${name} failed: ${res.status}`);
  return Number(init[1]);
}

/** How long the interpreter takes to start and print, alone. */
async function bareSpawns(command: string, args: readonly string[]): Promise<number[]> {
  const spawns: number[] = [];
  for (let i = 0; i < coldStarts; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.once('data', () => {
        spawns.push(performance.now() - started);
        child.kill();
        resolve();
      });
      child.once('error', reject);
    });
  }
  return spawns;
}

/** How long the bench waits for a server to have a standby ready again: far beyond one interpreter's start. */
const STANDBY_WAIT_MS = 30_000;

/** Waits until the server has a standby of `runtime` ready (on the host's network), as its /metrics says. */
async function standbyReady(sluice: SluiceProcess, runtime: string): Promise<void> {
  const line = `sluice_standby_instances{runtime="${runtime}",network="host",state="ready"} 1`;
  const deadline = performance.now() + STANDBY_WAIT_MS;
  for (;;) {
    const res = await fetch(`${sluice.url}/metrics`, {
      headers: { authorization: `Bearer ${sluice.token}` },
    });
    if ((await res.text()).includes(line)) return;
    if (performance.now() > deadline)
      throw new Error(`no standby of ${runtime} within ${STANDBY_WAIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A server of the cold rows: sandboxed or not, with standbys or none. */
interface ColdServer {
  sluice: SluiceProcess;
  remove: () => Promise<void>;
  label: string;
  standbys: boolean;
}

const SERVERS = [
  { flags: [], label: ', a standby ready', standbys: true },
  { flags: ['--standby-instances', '0'], label: ', no standby', standbys: false },
  { flags: ['--isolation', 'none'], label: ' --isolation none, a standby ready', standbys: true },
  {
    flags: ['--isolation', 'none', '--standby-instances', '0'],
    label: ' --isolation none, no standby',
    standbys: false,
  },
] as const;

/**
 * Cold starts of every runtime on four servers, sandboxed or not (`--isolation none`), each with a standby
 * ready before every start or with none (`--standby-instances 0`), taken in turn (a start on one, then on the
 * next) so that the machine's drift falls on all alike. Node.js keeps no standbys: its rows are the servers'
 * without. A start with a standby waits until the server has one ready, as it has between two cold starts
 * that are not back to back; the first start of each runtime, which makes the first standby, is not counted.
 */
export async function coldRows(table: Table): Promise<void> {
  const servers: ColdServer[] = [];
  try {
    for (const { flags, label, standbys } of SERVERS) {
      const dir = await makeDataDir();
      servers.push({
        sluice: await startSluice(dir.dataDir, [...flags]),
        remove: dir.remove,
        label,
        standbys,
      });
    }
    const apis = new Map(
      servers.map((server) => [server, apiClient(server.sluice.url, server.sluice.token)]),
    );
    for (const api of apis.values()) {
      await setUpCanary(api, 'bench_node', BENCH_NODE);
      await setUpCanary(api, 'bench_python', BENCH_PYTHON);
      await setUpCanary(api, 'bench_php', BENCH_PHP);
      await setUpCanary(api, 'bench_csharp', BENCH_CSHARP);
      await setUpCanary(api, 'bench_custom', BENCH_CUSTOM);
      // C# is counted from a compiled assembly: its sources are compiled once per code, before the first start.
      await api('POST', '/v1/functions/bench_csharp/invocations?qualifier=%24LATEST', Buffer.from('{}'));
    }
    const hello = await compiledHello();
    for (const [runtime, name, command, args] of [
      ['nodejs20', 'bench_node', process.execPath, ['-e', 'console.log(1)']],
      ['python3', 'bench_python', '/usr/bin/python3', ['-c', 'print(1)']],
      ['php8.2', 'bench_php', '/usr/bin/php', ['-r', 'echo 1;']],
      ['csharp', 'bench_csharp', '/usr/bin/mono', [hello.exe]],
      // A custom runtime's start is its own server's: here Python's, with the module it serves from.
      ['custom', 'bench_custom', '/usr/bin/python3', ['-c', 'import http.server; print(1)']],
    ] as const) {
      const keeps = STANDBY_RUNTIMES.includes(runtime);
      const targets = servers.filter((server) => keeps || !server.standbys);
      for (const target of targets.filter((t) => t.standbys))
        await coldStart(apis.get(target) as ApiCall, name, -1);
      const inits = targets.map(() => [] as number[]);
      for (let i = 0; i < coldStarts; i++) {
        const order = i % 2 === 0 ? targets : [...targets].reverse();
        for (const target of order) {
          if (target.standbys) await standbyReady(target.sluice, runtime);
          inits[targets.indexOf(target)]?.push(await coldStart(apis.get(target) as ApiCall, name, i));
        }
      }
      const spawns = await bareSpawns(command, args);
      targets.forEach(({ label, standbys }, t) => {
        const times = inits[t] as number[];
        table.add({
          scenario: `cold ${runtime}${keeps ? label : label.replace(', no standby', '')}`,
          what: `start to ready over ${coldStarts} starts${standbys ? ', each from a standby made ready before it' : keeps ? ', each starting a process of its own' : ' (Node.js keeps no standbys)'}, taken in turn with the other servers'; the interpreter's bare spawn: median ${median(spawns).toFixed(1)} ms, p99 ${p99(spawns).toFixed(1)} ms; ratio: median ÷ the spawn's`,
          p50Ms: median(times),
          p99Ms: p99(times),
          ratio: median(times) / median(spawns),
        });
      });
    }
  } finally {
    for (const { sluice, remove } of servers) {
      await sluice.stop();
      await remove();
    }
    await rm(helloDir, { recursive: true, force: true });
  }
}

const helloDir = join(tmpdir(), `sluice-bench-hello-${process.pid}`);

/** Mono's bare spawn runs an assembly too: one that prints and ends, compiled by mcs. */
async function compiledHello(): Promise<{ exe: string }> {
  await mkdir(helloDir, { recursive: true });
  await writeFile(
    join(helloDir, 'Hello.cs'),
    'class Hello { static void Main() { System.Console.WriteLine(1); } }\n',
  );
  const exe = join(helloDir, 'Hello.exe');
  await promisify(execFile)('/usr/bin/mcs', [`-out:${exe}`, join(helloDir, 'Hello.cs')]);
  return { exe };
}
