/** A victim's latency beside a function spinning busy threads, sandboxed and not. */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient } from '../test/support/api-client.js';
import { zipOf } from '../test/support/code.js';
import { makeDataDir, startSluice } from '../test/support/server-process.js';
import { ok } from './functions.js';
import { quick } from './settings.js';
import { median, p99 } from './stats.js';
import type { Table } from './table.js';

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
export async function neighbourRows(table: Table, flags: string[], label: string): Promise<void> {
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
      table.add({
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
