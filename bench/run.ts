/**
 * `npm run bench [-- --quick]`: Sluice against the machine's ceiling, measured in the same run, on
 * 127.0.0.1 only and bounded in time. Prints one table and writes it to bench/results/ as JSON and Markdown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { apiClient } from '../test/support/api-client.js';
import { zipOf } from '../test/support/code.js';
import { makeDataDir, startSluice } from '../test/support/server-process.js';
import { NODE_HANDLER, PYTHON_HANDLER } from './handler.js';
import { load, type LoadResult } from './wrk.js';

const quick = process.argv.includes('--quick');
const seconds = quick ? 3 : 10;
const warmupSeconds = quick ? 1 : 3;
const coldStarts = quick ? 10 : 30;

interface Row {
  scenario: string;
  what: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  errors?: number;
  ratio?: number;
  note?: string;
}

const rows: Row[] = [];

async function measure(
  url: string,
  extra: Partial<Parameters<typeof load>[0]>,
  connections: number,
): Promise<LoadResult> {
  await load({ url, connections, seconds: warmupSeconds, ...extra });
  return load({ url, connections, seconds, ...extra });
}

async function startBare(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./bare-server.js', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => {
      resolve(d.toString().trim());
    }),
  );
  return { url: `http://127.0.0.1:${port}/`, stop: () => child.kill() };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** The time to spawn an interpreter and read its first line: the floor of any cold start. */
async function spawnTimes(command: string, args: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < coldStarts; i++) {
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.once('data', () => {
        times.push(performance.now() - started);
        child.kill();
        resolve();
      });
      child.once('error', reject);
    });
  }
  return times;
}

async function main(): Promise<void> {
  const bare = await startBare();
  const dir = await makeDataDir();
  const sluice = await startSluice(dir.dataDir);
  const api = apiClient(sluice.url, sluice.token);
  try {
    for (const [name, runtime, file, source] of [
      ['bench_node', 'nodejs20', 'index.js', NODE_HANDLER],
      ['bench_python', 'python3', 'index.py', PYTHON_HANDLER],
    ] as const) {
      const res = await api('POST', '/v1/functions', {
        name,
        runtime,
        handler: 'index.handler',
        // One instance takes every connection, as the bare server does: the comparison is of the paths, not of process counts.
        instanceConcurrency: 100,
        code: { zipFile: (await zipOf({ [file]: source })).toString('base64') },
      });
      if (res.status !== 201) throw new Error(`creating ${name} failed: ${JSON.stringify(res.body)}`);
    }
    const invoke = (name: string) => ({
      method: 'POST',
      body: '{"hello":"sluice"}',
      headers: { authorization: `Bearer ${sluice.token}`, 'content-type': 'application/json' },
      url: `${sluice.url}/v1/functions/${name}/invocations?qualifier=%24LATEST`,
    });

    for (const connections of [50, 1]) {
      const baseline = await measure(bare.url, { method: 'POST', body: '{"hello":"sluice"}' }, connections);
      rows.push({
        scenario: `bare c${connections}`,
        what: 'node:http, handler in-process (the ceiling)',
        ...pick(baseline),
        ratio: 1,
      });
      for (const [scenario, name, what] of [
        ['invoke', 'bench_node', 'Sluice invoke API, $LATEST, Node.js instance'],
        ['python', 'bench_python', 'Sluice invoke API, $LATEST, Python instance'],
      ] as const) {
        const { url, ...rest } = invoke(name);
        const result = await measure(url, rest, connections);
        rows.push({
          scenario: `${scenario} c${connections}`,
          what,
          ...pick(result),
          ratio: result.requestsPerSecond / baseline.requestsPerSecond,
        });
      }
    }

    for (const [runtime, name, command, args] of [
      ['nodejs20', 'bench_node', process.execPath, ['-e', 'console.log(1)']],
      ['python3', 'bench_python', '/usr/bin/python3', ['-c', 'print(1)']],
    ] as const) {
      const inits: number[] = [];
      for (let i = 0; i < coldStarts; i++) {
        // A change to $LATEST makes the next invocation start a new instance.
        await api('PATCH', `/v1/functions/${name}`, { environmentVariables: { COLD: String(i) } });
        const res = await api(
          'POST',
          `/v1/functions/${name}/invocations?qualifier=%24LATEST`,
          Buffer.from('{}'),
          {
            'x-fc-log-type': 'Tail',
          },
        );
        const log = Buffer.from(res.headers.get('x-fc-log-result') ?? '', 'base64').toString();
        const init = /Init Duration: ([\d.]+) ms/.exec(log);
        if (res.status !== 200 || !init)
          throw new Error(`cold start ${i} of ${name} failed: ${res.status} ${log}`);
        inits.push(Number(init[1]));
      }
      const spawnMs = await spawnTimes(command, [...args]);
      rows.push({
        scenario: `cold ${runtime}`,
        what: `instance start to ready, ${coldStarts} starts (interpreter spawn alone: median ${median(spawnMs).toFixed(1)} ms)`,
        p50Ms: median(inits),
        p99Ms: percentile(inits, 99),
        ratio: median(inits) / median(spawnMs),
        note: 'ratio = cold-start median / spawn median',
      });
    }
  } finally {
    bare.stop();
    await sluice.stop();
    await dir.remove();
  }
  await report();
}

function pick(r: LoadResult): Pick<Row, 'rps' | 'p50Ms' | 'p99Ms' | 'errors'> {
  return { rps: r.requestsPerSecond, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors };
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
  const markdown = `# Sluice benchmark, ${date}\n\n${machine.cores} cores (${machine.cpu}), Node.js ${machine.node}, ${machine.wrk}; ${quick ? 'quick' : 'full'} run, wrk -t1, ${seconds} s per scenario after ${warmupSeconds} s of warm-up. Ratios are against the bare baseline of the same run.\n\n${table}\n`;
  process.stdout.write(`${markdown}\n`);
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = date.replace(/[:.]/g, '-');
  await writeFile(`${dir}${stamp}.json`, JSON.stringify({ date, quick, machine, rows }, null, 2));
  await writeFile(`${dir}${stamp}.md`, markdown);
  await writeFile(`${dir}latest.md`, markdown);
}

await main();
