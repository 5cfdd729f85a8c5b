import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { median } from './stats.js';

const run = promisify(execFile);

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  /** How long wrk loaded. */
  seconds: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  /** Paths on the URL's host, requested in turn, each connection's requests cycling through them all. */
  paths?: readonly string[];
}

/** Runs wrk against a URL and reads its summary through a Lua `done` hook (exact, in microseconds). */
export async function load(options: LoadOptions): Promise<LoadResult> {
  const script = join(tmpdir(), `sluice-bench-${process.pid}-${Math.random().toString(36).slice(2)}.lua`);
  const headers = Object.entries(options.headers ?? {})
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');
  await writeFile(
    script,
    `wrk.method = ${JSON.stringify(options.method ?? 'GET')}
${options.body === undefined ? '' : `wrk.body = ${JSON.stringify(options.body)}`}
${headers}
${options.paths === undefined ? '' : cyclePaths(options.paths)}
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d\\n", summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errors))
end
`,
  );
  const { stdout } = await run('wrk', [
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    options.url,
  ]).finally(() => rm(script, { force: true }));
  const match = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(stdout);
  if (!match) throw new Error(`wrk printed no result:\n${stdout}`);
  const [requests, durationUs, p50, p99, errors] = match.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  return {
    requestsPerSecond: requests / (durationUs / 1e6),
    p50Ms: p50 / 1000,
    p99Ms: p99 / 1000,
    requests,
    errors,
    seconds: durationUs / 1e6,
  };
}

/** A `request` hook: wrk then builds each request anew, which costs it a little, so compare like with like. */
function cyclePaths(paths: readonly string[]): string {
  return `local paths = { ${paths.map((p) => JSON.stringify(p)).join(', ')} }
local turn = 0
request = function()
  turn = turn % #paths + 1
  return wrk.format(nil, paths[turn])
end`;
}

/** Loads taken in turns, as one: their requests over their time, the median of their p50s and p99s. */
export function combineLoads(results: readonly LoadResult[]): LoadResult {
  const requests = results.reduce((sum, r) => sum + r.requests, 0);
  const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
  return {
    requestsPerSecond: requests / seconds,
    p50Ms: median(results.map((r) => r.p50Ms)),
    p99Ms: median(results.map((r) => r.p99Ms)),
    requests,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    seconds,
  };
}
