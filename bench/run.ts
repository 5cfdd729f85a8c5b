/**
 * `npm run bench [-- --quick]`: Sluice against the machine's ceiling and floor, measured in the same run, on
 * 127.0.0.1 only and bounded in time. Prints one table and writes it to bench/results/ as JSON and Markdown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient, type ApiCall } from '../test/support/api-client.js';
import { zipOf } from '../test/support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../test/support/server-process.js';
import { NODE_HANDLER, PYTHON_HANDLER } from './handler.js';
import { peerScenarios } from './peer.js';
import { routingDecisionsPerSecond } from './routing.js';
import { load, type LoadOptions, type LoadResult } from './wrk.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 8;
const warmupSeconds = quick ? 1 : 2;
const coldStarts = quick ? 10 : 30;
// Even, so that each of the two is started first in as many pairs as the other. A turn of a second varies by
// up to 10 % with the machine, a server process by several per cent: the cost, a few per cent, shows only
// over many of both.
const telemetryPairs = quick ? 4 : 12;
const telemetryTurns = quick ? 4 : 10;
const CONNECTIONS = 50;
const BODY = '{"hello":"sluice"}';

interface Row {
  scenario: string;
  what: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  errors?: number;
  ratio?: number;
}

const rows: Row[] = [];
let baseline = NaN;

function record(scenario: string, what: string, r: LoadResult): void {
  const ratio = r.requestsPerSecond / baseline;
  rows.push({
    scenario,
    what,
    rps: r.requestsPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    ratio,
  });
  process.stderr.write(`${scenario}: ${Math.round(r.requestsPerSecond)} req/s, p99 ${r.p99Ms} ms\n`);
}

async function measure(options: Omit<LoadOptions, 'seconds' | 'connections'>): Promise<LoadResult> {
  await load({ ...options, connections: CONNECTIONS, seconds: warmupSeconds });
  return load({ ...options, connections: CONNECTIONS, seconds });
}

/** Starts one of the bench's own servers (bare, floor), which prints its port. */
async function startChild(script: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => {
      resolve(d.toString().trim());
    }),
  );
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const p99 = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? NaN;
};

async function ok(call: Promise<{ status: number; body: unknown }>, what: string): Promise<void> {
  const res = await call;
  if (res.status >= 300) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A function with two versions of the handler and a 10 % canary alias on them. */
async function setUpCanary(api: ApiCall, name: string, runtime: 'nodejs20' | 'python3'): Promise<void> {
  const [file, source, comment] =
    runtime === 'python3' ? ['index.py', PYTHON_HANDLER, '#'] : ['index.js', NODE_HANDLER, '//'];
  // One instance takes every connection, as the bare server does: the comparison is of paths, not of process counts.
  await ok(
    api('POST', '/v1/functions', { name, runtime, handler: 'index.handler', instanceConcurrency: 100 }),
    name,
  );
  for (const tag of ['v1', 'v2']) {
    await ok(
      api('PUT', `/v1/functions/${name}/code`, await zipOf({ [file]: `${source}\n${comment} ${tag}\n` })),
      `${name} code`,
    );
    await ok(api('POST', `/v1/functions/${name}/versions`), `${name} publish`);
  }
  await ok(
    api('PUT', `/v1/functions/${name}/aliases/canary`, {
      version: '1',
      canary: { version: '2', weight: 0.1 },
    }),
    'canary',
  );
}

/** Both runtimes behind aliases: a 10 % canary, a 3-condition rule, and a stage on the canary alias. */
async function setUp(api: ApiCall): Promise<void> {
  for (const [name, runtime] of [
    ['bench_node', 'nodejs20'],
    ['bench_python', 'python3'],
  ] as const) {
    await setUpCanary(api, name, runtime);
    await ok(
      api('PUT', `/v1/functions/${name}/aliases/rules`, {
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
  }
  await ok(api('POST', '/v1/apis', { name: 'bench', routes: [{ method: 'ANY', path: '/{proxy+}' }] }), 'api');
  await ok(
    api('PUT', '/v1/apis/bench/stages/live', { function: 'bench_node', qualifier: 'canary' }),
    'stage',
  );
}

const canaryLoad = (sluice: SluiceProcess, name = 'bench_node') => ({
  url: `${sluice.url}/fn/${name}/canary/hello`,
  method: 'POST',
  body: BODY,
  headers: { authorization: `Bearer ${sluice.token}` },
});

async function sluiceScenarios(sluice: SluiceProcess): Promise<void> {
  const auth = { authorization: `Bearer ${sluice.token}` };
  record(
    'invoke',
    'Sluice invoke API, $LATEST, Node.js',
    await measure({
      url: `${sluice.url}/v1/functions/bench_node/invocations?qualifier=%24LATEST`,
      method: 'POST',
      body: BODY,
      headers: auth,
    }),
  );
  record(
    'alias-canary',
    'HTTP trigger through an alias with a 10 % canary',
    await measure(canaryLoad(sluice)),
  );
  record(
    'alias-rules',
    'the same through a 3-condition header rule (matching)',
    await measure({
      url: `${sluice.url}/fn/bench_node/rules/hello`,
      method: 'POST',
      body: BODY,
      headers: { ...auth, 'x-user': 'bob', 'x-tier': 'gold', 'x-n': '42' },
    }),
  );
  record(
    'stage',
    'an API stage bound to the canary alias',
    await measure({
      url: `${sluice.url}/gw/bench/live/hello`,
      method: 'POST',
      body: BODY,
      headers: auth,
    }),
  );
  record(
    'python',
    'the same handler in Python through the canary alias',
    await measure(canaryLoad(sluice, 'bench_python')),
  );
}

/** Two ways of running a server, compared: `on` and `off`, each started with its own flags. */
interface Comparison {
  name: string;
  on: { what: string; flags: string[] };
  off: { what: string; flags: string[] };
  pairs: number;
  turns: number;
}

const TELEMETRY: Comparison = {
  name: 'telemetry',
  on: { what: 'the canary alias', flags: ['--telemetry', 'on'] },
  off: { what: 'the canary alias with --telemetry off', flags: ['--telemetry', 'off'] },
  pairs: telemetryPairs,
  turns: telemetryTurns,
};

const SANDBOX: Comparison = {
  name: 'sandbox',
  on: { what: 'the canary alias, instances sandboxed (the default)', flags: ['--isolation', 'required'] },
  off: { what: 'the canary alias with --isolation none', flags: ['--isolation', 'none'] },
  pairs: quick ? 2 : 6,
  turns: telemetryTurns,
};

/**
 * What a feature costs on the canary alias: a server with it on and one with it off. Two server processes
 * differ by several per cent on this machine whatever they run (start order, placement, what the JIT made of
 * them), and the machine's speed drifts within seconds. So each pair is fresh and started in alternating
 * order, the two are loaded in turns of a second (on, off, off, on, …) rather than one after the other, and
 * the cost is the geometric mean over the pairs: a bias of whichever server started first cancels out in it.
 */
async function measureCost(c: Comparison): Promise<void> {
  const ratios: number[] = [];
  const turns: Record<'on' | 'off', LoadResult[]> = { on: [], off: [] };
  for (let pair = 0; pair < c.pairs; pair++) {
    const order = pair % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const);
    const started: { side: 'on' | 'off'; sluice: SluiceProcess; remove: () => Promise<void> }[] = [];
    try {
      for (const side of order) {
        const dir = await makeDataDir();
        const sluice = await startSluice(dir.dataDir, c[side].flags);
        started.push({ side, sluice, remove: dir.remove });
        await setUpCanary(apiClient(sluice.url, sluice.token), 'bench_node', 'nodejs20');
      }
      const served = { on: { requests: 0, seconds: 0 }, off: { requests: 0, seconds: 0 } };
      for (const { sluice } of started) {
        await load({ ...canaryLoad(sluice), connections: CONNECTIONS, seconds: warmupSeconds });
      }
      for (let turn = 0; turn < c.turns; turn++) {
        for (const { side, sluice } of turn % 2 === 0 ? started : [...started].reverse()) {
          const result = await load({ ...canaryLoad(sluice), connections: CONNECTIONS, seconds: 1 });
          turns[side].push(result);
          served[side].requests += result.requests;
          served[side].seconds += result.requests / result.requestsPerSecond;
        }
      }
      const rate = (side: 'on' | 'off') => served[side].requests / served[side].seconds;
      ratios.push(rate('on') / rate('off'));
    } finally {
      for (const { sluice, remove } of started) {
        await sluice.stop();
        await remove();
      }
    }
  }
  for (const side of ['on', 'off'] as const) {
    const results = turns[side];
    const requests = results.reduce((sum, r) => sum + r.requests, 0);
    const seconds = results.reduce((sum, r) => sum + r.requests / r.requestsPerSecond, 0);
    record(
      `${c.name} ${side}`,
      `${c[side].what}: ${c.pairs} fresh pairs × ${c.turns} turns of 1 s (median p50 and p99 of the turns)`,
      {
        requestsPerSecond: requests / seconds,
        p50Ms: median(results.map((r) => r.p50Ms)),
        p99Ms: median(results.map((r) => r.p99Ms)),
        requests,
        errors: results.reduce((sum, r) => sum + r.errors, 0),
      },
    );
  }
  rows.push({
    scenario: `${c.name} cost`,
    what: `req/s with ${c.name} on ÷ off, pair by pair: ${ratios.map((r) => r.toFixed(3)).join(', ')}; their geometric mean`,
    ratio: Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length),
  });
}

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

/**
 * Cold starts of both runtimes on each server of `targets`, taken in turn (a start on one, then on the next),
 * so that the machine's drift falls on all alike, against the interpreter's bare spawn.
 */
async function measureColdStarts(targets: { api: ApiCall; label: string }[]): Promise<void> {
  for (const [runtime, name, command, args] of [
    ['nodejs20', 'bench_node', process.execPath, ['-e', 'console.log(1)']],
    ['python3', 'bench_python', '/usr/bin/python3', ['-c', 'print(1)']],
  ] as const) {
    const inits = targets.map(() => [] as number[]);
    for (let i = 0; i < coldStarts; i++) {
      const order = i % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) inits[targets.indexOf(target)]?.push(await coldStart(target.api, name, i));
    }
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
    targets.forEach(({ label }, t) => {
      const times = inits[t] as number[];
      rows.push({
        scenario: `cold ${runtime}${label}`,
        what: `start to ready over ${coldStarts} starts, taken in turn with the other servers'; the interpreter's bare spawn: median ${median(spawns).toFixed(1)} ms, p99 ${p99(spawns).toFixed(1)} ms`,
        p50Ms: median(times),
        p99Ms: p99(times),
        ratio: median(times) / median(spawns),
      });
    });
  }
}

const SPINNER = `const { Worker } = require('worker_threads');
exports.handler = async (event) => {
  const { ms } = JSON.parse(event.toString());
  const source = 'const end = Date.now() + ' + ms + '; while (Date.now() < end) {}';
  for (let i = 0; i < 8; i++) new Worker(source, { eval: true });
  return 'spinning';
};
`;

/**
 * A victim's latency beside a function that spins 8 busy threads, on a server started with `flags`: one
 * call at a time, in rounds alone and beside the loops, alternating, so that the machine's drift falls on both.
 */
async function measureNeighbour(flags: string[], label: string): Promise<void> {
  const dir = await makeDataDir();
  const sluice = await startSluice(dir.dataDir, flags);
  try {
    const api = apiClient(sluice.url, sluice.token);
    for (const [name, source, config] of [
      ['victim', 'exports.handler = async () => ({ ok: true });\n', {}],
      ['spinner', SPINNER, { memorySize: 512, timeout: 10 }],
    ] as const) {
      const code = (await zipOf({ 'index.js': source })).toString('base64');
      await ok(
        api('POST', '/v1/functions', {
          name,
          runtime: 'nodejs20',
          handler: 'index.handler',
          code: { zipFile: code },
          ...config,
        }),
        name,
      );
    }
    const calls = quick ? 200 : 500;
    const latencies = async () => {
      const times: number[] = [];
      for (let i = 0; i < calls; i++) {
        const started = performance.now();
        const res = await api('POST', '/v1/functions/victim/invocations', Buffer.from('{}'));
        if (res.status !== 200) throw new Error(`the victim answered ${res.status}`);
        times.push(performance.now() - started);
      }
      return times;
    };
    await latencies();
    const alone: number[] = [];
    const busy: number[] = [];
    for (let round = 0; round < 3; round++) {
      alone.push(...(await latencies()));
      const spinMs = 6000;
      const until = Date.now() + spinMs;
      await ok(api('POST', '/v1/functions/spinner/invocations', JSON.stringify({ ms: spinMs })), 'spin');
      await sleep(100);
      busy.push(...(await latencies()));
      await sleep(Math.max(0, until - Date.now() + 200));
    }
    for (const [side, times] of [
      ['alone', alone],
      ['busy', busy],
    ] as const) {
      rows.push({
        scenario: `neighbour ${side}${label}`,
        what:
          side === 'alone'
            ? `a victim called one at a time, ${times.length} calls in 3 rounds`
            : `the same beside a function spinning 8 busy threads; ratio: its p99 ÷ the p99 alone`,
        p50Ms: median(times),
        p99Ms: p99(times),
        ...(side === 'busy' && { ratio: p99(busy) / p99(alone) }),
      });
    }
  } finally {
    await sluice.stop();
    await dir.remove();
  }
}

/** 200 req/s through the canary alias while it is repointed 20 times: every request must succeed. */
async function flip(sluice: SluiceProcess, api: ApiCall): Promise<void> {
  let failed = 0;
  let sent = 0;
  const state = { flipping: true };
  const traffic = (async () => {
    while (state.flipping) {
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          sent++;
          const res = await fetch(`${sluice.url}/fn/bench_node/canary/flip`, {
            method: 'POST',
            body: BODY,
            headers: { authorization: `Bearer ${sluice.token}` },
          }).catch(() => undefined);
          if (res?.status !== 200) failed++;
          await res?.arrayBuffer();
        }),
      );
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();
  for (let i = 0; i < 20; i++) {
    const body =
      i % 2 === 0
        ? { version: '2', canary: { version: '1', weight: 0.5 } }
        : { version: '1', canary: { version: '2', weight: 0.1 } };
    await ok(api('PUT', '/v1/functions/bench_node/aliases/canary', body), 'flip');
    await sleep(150);
  }
  state.flipping = false;
  await traffic;
  rows.push({
    scenario: 'flip',
    what: `${sent} requests at ~200 req/s while the alias was repointed 20 times`,
    errors: failed,
  });
}

async function main(): Promise<void> {
  const bare = await startChild('./bare-server.js');
  const floor = await startChild('./floor-gateway.js');
  const dir = await makeDataDir();
  const sluice = await startSluice(dir.dataDir);
  try {
    const bareResult = await measure({ url: bare.url, method: 'POST', body: BODY });
    baseline = bareResult.requestsPerSecond;
    record('bare', 'node:http answering the handler in-process (the ceiling)', bareResult);
    record(
      'floor',
      'a gateway forwarding to one handler process over fork() IPC (the floor)',
      await measure({ url: floor.url, method: 'POST', body: BODY }),
    );
    floor.stop();
    for (const peer of await peerScenarios((url) => measure({ url, method: 'POST', body: BODY }))) {
      if (peer.result) record(peer.scenario, peer.what, peer.result);
      else rows.push({ scenario: peer.scenario, what: peer.what });
    }
    const api = apiClient(sluice.url, sluice.token);
    await setUp(api);
    await sluiceScenarios(sluice);
    await flip(sluice, api);
    const unsandboxedDir = await makeDataDir();
    const unsandboxed = await startSluice(unsandboxedDir.dataDir, ['--isolation', 'none']);
    try {
      const unsandboxedApi = apiClient(unsandboxed.url, unsandboxed.token);
      await setUp(unsandboxedApi);
      await measureColdStarts([
        { api, label: '' },
        { api: unsandboxedApi, label: ' --isolation none' },
      ]);
    } finally {
      await unsandboxed.stop();
      await unsandboxedDir.remove();
    }
    await sluice.stop();
    await measureNeighbour([], '');
    await measureNeighbour(['--isolation', 'none'], ' --isolation none');
    await measureCost(SANDBOX);
    await measureCost(TELEMETRY);
    for (const functions of [10, 10_000]) {
      rows.push({
        scenario: `routing ${functions}`,
        what: `routing decisions per second over ${functions} functions' aliases (half weighted, half 3-condition rules)`,
        rps: routingDecisionsPerSecond(functions, quick ? 500 : 2000),
      });
    }
  } finally {
    bare.stop();
    floor.stop();
    await sluice.stop();
    await dir.remove();
  }
  await report();
}

async function report(): Promise<void> {
  const machine = {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    // wrk prints its version with its usage and exits non-zero.
    wrk: spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]?.trim() ?? '',
  };
  const date = new Date().toISOString();
  const fmt = (n: number | undefined, digits: number) => (n === undefined ? '' : n.toFixed(digits));
  const table = [
    '| scenario | what runs | req/s | p50 ms | p99 ms | errors | ratio |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.scenario} | ${r.what} | ${fmt(r.rps, 0)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${r.errors ?? ''} | ${fmt(r.ratio, 2)} |`,
    ),
  ].join('\n');
  const markdown = `# Sluice benchmark, ${date}

${machine.cores} cores (${machine.cpu}), Node.js ${machine.node}, ${machine.wrk}; ${quick ? 'quick' : 'full'} run: wrk -t1 -c${CONNECTIONS}, ${seconds} s per scenario after ${warmupSeconds} s of warm-up, load generator on the same cores. Ratios: req/s against \`bare\` of the same run; for cold starts, the median against the bare spawn of the interpreter.

${table}
`;
  process.stdout.write(`${markdown}\n`);
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  await writeFile(`${dir}${stamp}.json`, JSON.stringify({ date, quick, machine, rows }, null, 2));
  await writeFile(`${dir}${stamp}.md`, markdown);
  await writeFile(`${dir}latest.md`, markdown);
}

await main();
