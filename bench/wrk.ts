import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
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
  ]);
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
  };
}
