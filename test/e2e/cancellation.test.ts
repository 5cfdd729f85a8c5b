import assert from 'node:assert/strict';
import { request } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// A caller that goes away while its invocation waits for an instance takes it out of the queue: through a
// real server, with one instance per function so that the second caller must wait.

/** Each invocation takes a number from the instance's counter, then sleeps `ms`: a skipped number shows a run. */
const COUNTER = `let n = 0;
exports.handler = async (event) => {
  const { ms } = JSON.parse(event.toString() || '{}');
  const mine = ++n;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { n: mine };
};`;

let dir: { dataDir: string; remove: () => Promise<void> };
let sluice: SluiceProcess;
let api: ApiCall;

before(async () => {
  dir = await makeDataDir();
  sluice = await startSluice(dir.dataDir, ['--instances-per-function', '1']);
  api = apiClient(sluice.url, sluice.token);
  const zipFile = (await zipOf({ 'index.js': COUNTER })).toString('base64');
  const created = await api('POST', '/v1/functions', {
    name: 'counter',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile },
  });
  assert.equal(created.status, 201);
});

after(async () => {
  await sluice.stop();
  await dir.remove();
});

const invoke = (ms: number) => api('POST', '/v1/functions/counter/invocations', { ms });

/** `sluice_invocations_waiting` of the function, summed over its versions. */
async function waiting(): Promise<number> {
  const res = await fetch(`${sluice.url}/metrics`, { headers: { authorization: `Bearer ${sluice.token}` } });
  const text = await res.text();
  return [...text.matchAll(/^sluice_invocations_waiting\{function="counter",[^}]*\} (\d+)$/gm)]
    .map((m) => Number(m[1]))
    .reduce((sum, n) => sum + n, 0);
}

/** Polls until `condition` holds; the deadline is generous, for a loaded machine, and only bounds a failure. */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await delay(20);
  }
}

test('an invocation whose caller disconnects while it waits never runs, and the next caller gets the instance', async () => {
  // Calls of 50 ms are too long to be sent ahead to a busy instance (AHEAD_BELOW_MS): the second caller waits
  // in the queue, whence it can leave.
  assert.deepEqual((await invoke(50)).body, { n: 1 }, 'warm-up');

  // Long enough for the steps below on a loaded machine; the test waits on conditions, never on this.
  const running = invoke(1500);
  await until(async () => (await waiting()) === 0, 'the long invocation runs');

  const gone = request(`${sluice.url}/v1/functions/counter/invocations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${sluice.token}`, 'content-type': 'application/json' },
  });
  const goneAnswer = new Promise<string>((resolve) => {
    gone.on('response', () => {
      resolve('answered');
    });
    gone.on('error', () => {
      resolve('closed');
    });
  });
  gone.end(JSON.stringify({ ms: 0 }));
  await until(async () => (await waiting()) === 1, 'the second caller waits');
  gone.destroy();
  await until(async () => (await waiting()) === 0, 'the departed caller left the queue');
  assert.equal(await goneAnswer, 'closed');

  const next = invoke(0);
  assert.deepEqual((await running).body, { n: 2 });
  assert.deepEqual((await next).body, { n: 3 }, 'the departed caller’s invocation never ran');

  const metrics = await (
    await fetch(`${sluice.url}/metrics`, { headers: { authorization: `Bearer ${sluice.token}` } })
  ).text();
  const invocations = [
    ...metrics.matchAll(/^sluice_invocations_total\{function="counter",[^}]*\} (\d+)$/gm),
  ].reduce((sum, m) => sum + Number(m[1]), 0);
  assert.equal(invocations, 3, 'the cancelled invocation is not counted');
});
