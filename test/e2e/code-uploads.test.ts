import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Uploads are normalized off the event loop, a few at a time and an entry at a time: the server's other callers
// do not wait for them, and its memory does not grow with what the packages unzip to.

const MB = 1024 * 1024;

async function withServer(run: (server: SluiceProcess, api: ApiCall) => Promise<void>): Promise<void> {
  const { dataDir, remove } = await makeDataDir();
  const server = await startSluice(dataDir);
  try {
    await run(server, apiClient(server.url, server.token));
  } finally {
    await server.stop();
    await remove();
  }
}

async function createFunction(api: ApiCall, name: string): Promise<void> {
  const code = await zipOf({ 'index.js': 'exports.handler = (e, c, cb) => cb(null, "empty");' });
  const res = await api('POST', '/v1/functions', {
    name,
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: code.toString('base64') },
  });
  assert.equal(res.status, 201, res.bytes.toString());
}

/** Asks `/healthz` again and again until stopped, and gives how long each answer took, in milliseconds. */
function probeHealth(url: string): { answered: () => number; stop: () => Promise<number[]> } {
  const latencies: number[] = [];
  const stopped = new AbortController();
  const probing = (async () => {
    while (!stopped.signal.aborted) {
      const started = performance.now();
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      latencies.push(performance.now() - started);
      assert.equal(res.status, 200);
      await sleep(10);
    }
  })();
  return {
    answered: () => latencies.length,
    stop: async () => {
      stopped.abort();
      await probing;
      return latencies;
    },
  };
}

test('/healthz answers promptly while a zip of 10,000 entries is normalized', async () => {
  await withServer(async (server, api) => {
    await createFunction(api, 'many');
    const files: Record<string, string> = {
      'index.js': 'exports.handler = (e, c, cb) => cb(null, String(require("./d7/f7.js")));',
    };
    for (let i = 1; i < 10_000; i++) files[`d${i % 100}/f${i}.js`] = `module.exports = ${i};\n`;
    const zip = await zipOf(files);

    const probe = probeHealth(server.url);
    await waitFor(() => probe.answered() > 0, { timeout: 30_000, what: 'the first /healthz answer' });
    const started = performance.now();
    const res = await api('PUT', '/v1/functions/many/code', zip);
    const uploadMs = performance.now() - started;
    const latencies = await probe.stop();

    assert.equal(res.status, 200, res.bytes.toString());
    const slowest = Math.max(...latencies);
    process.stdout.write(
      `# 10,000 entries: upload ${uploadMs.toFixed(0)} ms; /healthz slowest ${slowest.toFixed(1)} ms of ${latencies.length}\n`,
    );
    assert.ok(latencies.length >= 3, `only ${latencies.length} probes`);
    // Normalized on the event loop, the upload's seconds of work would hold an answer for about as long; off
    // it, an answer waits for nothing but a machine that may be busy with other tests: a second is generous.
    for (const latency of latencies) assert.ok(latency < 1000, `/healthz took ${latency.toFixed(0)} ms`);
    const invoked = await api('POST', '/v1/functions/many/invocations', Buffer.from('{}'));
    assert.equal(invoked.bytes.toString(), '7');
  });
});

/** The largest resident set of a process so far, and now, in bytes. */
async function memoryOf(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { peak: kB('VmHWM'), now: kB('VmRSS') };
}

test('four uploads that each unzip to 245 MB, at once, keep the server under 600 MB', async () => {
  await withServer(async (server, api) => {
    const zeros = Buffer.alloc(200 * MB);
    const parts = Array.from({ length: 45 }, (_, i) => ({
      path: `parts/${i}.bin`,
      data: Buffer.alloc(MB, i),
      executable: false,
    }));
    const { canonicalZip } = await import('../../src/contract/canonical-zip.js');
    const zips = await Promise.all(
      [0, 1, 2, 3].map((n) =>
        canonicalZip([
          { path: 'index.js', data: Buffer.from(`exports.handler = () => ${n};`), executable: false },
          { path: 'big.bin', data: zeros, executable: false },
          ...parts,
        ]),
      ),
    );
    for (const n of [0, 1, 2, 3]) await createFunction(api, `big${n}`);
    const pid = server.child.pid as number;
    const before = await memoryOf(pid);

    const results = await Promise.all(zips.map((zip, n) => api('PUT', `/v1/functions/big${n}/code`, zip)));
    const after = await memoryOf(pid);

    for (const res of results) assert.equal(res.status, 200, res.bytes.toString());
    process.stdout.write(
      `# 4 × 245 MB: RSS ${(before.now / MB).toFixed(0)} MB before, peak ${(after.peak / MB).toFixed(0)} MB\n`,
    );
    assert.ok(after.peak < 600 * MB, `the server's RSS reached ${(after.peak / MB).toFixed(0)} MB`);
    const invoked = await api('POST', '/v1/functions/big3/invocations', Buffer.from('{}'));
    assert.equal(invoked.bytes.toString(), '3');
  });
});
