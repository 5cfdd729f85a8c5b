/** The bench's one table: its rows, the baseline their throughput ratios are taken against, and its report. */
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CONNECTIONS, only, quick, rounds, seconds, warmupSeconds } from './settings.js';
import type { LoadResult } from './wrk.js';

export interface Row {
  scenario: string;
  what: string;
  rps?: number;
  p50Ms?: number;
  p99Ms?: number;
  errors?: number;
  /** Instances started while the row was measured (warm-up excluded), from the server's /metrics. */
  coldStarts?: number;
  /** A figure that is not a rate or a latency (a start time, a memory size, a share of a core). */
  value?: number;
  unit?: string;
  ratio?: number;
}

/** A load's figures, as a row shows them. */
export function loadFigures(
  r: LoadResult,
  coldStarts?: number,
): Pick<Row, 'rps' | 'p50Ms' | 'p99Ms' | 'errors' | 'coldStarts'> {
  return {
    rps: r.requestsPerSecond,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    errors: r.errors,
    ...(coldStarts !== undefined && { coldStarts }),
  };
}

/** A value with one decimal, or two where it is below 1 (an idle server's share of a core, say). */
const valueText = (row: Row) =>
  `${(row.value ?? NaN).toFixed(Math.abs(row.value ?? 0) < 1 ? 2 : 1)} ${row.unit ?? ''}`;

export class Table {
  readonly rows: Row[] = [];
  /** The ceiling's req/s in this run (the `bare` row), which throughput ratios are taken against. */
  baseline = NaN;

  add(row: Row): void {
    this.rows.push(row);
    const figures = [
      row.rps === undefined ? '' : `${Math.round(row.rps)} req/s`,
      row.p99Ms === undefined ? '' : `p99 ${row.p99Ms} ms`,
      row.coldStarts === undefined ? '' : `${row.coldStarts} cold starts`,
      row.value === undefined ? '' : valueText(row),
      row.ratio === undefined ? '' : `ratio ${row.ratio.toFixed(2)}`,
    ].filter(Boolean);
    process.stderr.write(`${row.scenario}: ${figures.join(', ')}\n`);
  }

  /** A throughput row, its ratio against the baseline. */
  record(scenario: string, what: string, r: LoadResult, coldStarts?: number): void {
    this.add({ scenario, what, ...loadFigures(r, coldStarts), ratio: r.requestsPerSecond / this.baseline });
  }

  /** Prints the table and writes it to bench/results/ as JSON and Markdown. */
  async report(): Promise<void> {
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
      '| scenario | what runs | req/s | p50 ms | p99 ms | errors | cold starts | value | ratio |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...this.rows.map(
        (r) =>
          `| ${r.scenario} | ${r.what} | ${fmt(r.rps, 0)} | ${fmt(r.p50Ms, 2)} | ${fmt(r.p99Ms, 2)} | ${r.errors ?? ''} | ${r.coldStarts ?? ''} | ${r.value === undefined ? '' : valueText(r)} | ${fmt(r.ratio, 2)} |`,
      ),
    ].join('\n');
    const run = quick ? 'quick' : 'full';
    const markdown = `# Sluice benchmark, ${date}

${machine.cores} cores (${machine.cpu}), Node.js ${machine.node}, ${machine.wrk}; ${run} run${only ? ` of ${[...only].join(', ')} alone` : ''}: wrk -t1 -c${CONNECTIONS} unless a row says otherwise, load generator on the same cores. Throughput rows: ${rounds} interleaved rounds of ${seconds} s after ${warmupSeconds} s of warm-up each; req/s over all rounds, p50 and p99 the median of the rounds'. Sluice runs with a user's defaults (instanceConcurrency 1, 10 instances per function, telemetry on) except in rows marked tuned. Ratios: req/s against \`bare\` of the same run unless the row says otherwise.

${table}
`;
    process.stdout.write(`${markdown}\n`);
    const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
    await mkdir(dir, { recursive: true });
    const stamp = date.replace(/[:.]/g, '-');
    const selected = only && [...only];
    await writeFile(
      `${dir}${stamp}.json`,
      JSON.stringify({ date, quick, only: selected, machine, rows: this.rows }, null, 2),
    );
    await writeFile(`${dir}${stamp}.md`, markdown);
    // A run of some rows alone must not pass for the whole table.
    if (!only) await writeFile(`${dir}latest.md`, markdown);
  }
}
