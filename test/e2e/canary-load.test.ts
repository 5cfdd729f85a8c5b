import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// Issue 18 end to end: a canary alias under concurrent load, with the defaults a user gets (instanceConcurrency
// 1, 10 instances per function), through a real server and real instances. Counted, not timed: after warm-up,
// the instances stay put and the cold starts stop.

const HANDLER = (n: number) => `exports.handler = async (event, context) => {
  console.log('handling', context.requestId);
  return context.service.versionId;
};
// build ${n}
`;
const CALLERS = 50;

let server: SluiceProcess;
let api: ApiCall;
let remove: () => Promise<void>;

before(async () => {
  const dir = await makeDataDir();
  remove = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  const created = await api('POST', '/v1/functions', {
    name: 'canary',
    runtime: 'nodejs20',
    handler: 'index.handler',
    // The defaults that make a storm are instanceConcurrency and the instances per function; the timeout also
    // bounds how long an invocation waits for an instance, and 40 callers queued for 10 instances waited past
    // the default 3 s on a loaded machine (429): a minute is generous.
    timeout: 60,
    code: { zipFile: (await zipOf({ 'index.js': HANDLER(1) })).toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await api('POST', '/v1/functions/canary/versions')).status, 201);
  assert.equal(
    (await api('PUT', '/v1/functions/canary/code', await zipOf({ 'index.js': HANDLER(2) }))).status,
    200,
  );
  assert.equal((await api('POST', '/v1/functions/canary/versions')).status, 201);
  const alias = await api('PUT', '/v1/functions/canary/aliases/live', {
    version: '1',
    canary: { version: '2', weight: 0.1 },
  });
  assert.ok(alias.status === 200 || alias.status === 201, JSON.stringify(alias.body));
});

after(async () => {
  await server.stop();
  await remove();
});

/** `CALLERS` callers, each making `each` calls in turn; answers how many each version served. */
async function load(each: number): Promise<Record<string, number>> {
  const served: Record<string, number> = {};
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      for (let i = 0; i < each; i++) {
        const res = await fetch(`${server.url}/v1/functions/canary/invocations?qualifier=live`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.token}` },
          body: '{}',
        });
        const body = await res.text();
        assert.equal(res.status, 200, body);
        served[body] = (served[body] ?? 0) + 1;
      }
    }),
  );
  return served;
}

async function coldStarts(): Promise<number> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } });
  const families = parsePrometheus(await res.text()) as {
    name: string;
    metrics: { labels?: Record<string, string>; value?: string }[];
  }[];
  const family = families.find((f) => f.name === 'sluice_cold_starts_total');
  return (family?.metrics ?? [])
    .filter((m) => m.labels?.function === 'canary')
    .reduce((sum, m) => sum + Number(m.value ?? 0), 0);
}

test(`a 10 % canary alias at ${CALLERS} callers with the defaults: no cold-start storm`, async () => {
  await load(20);
  const warm = await coldStarts();
  // The first burst starts up to ten instances, and a few more move as the shares settle.
  assert.ok(warm >= 2 && warm <= 20, `${warm} cold starts in warm-up`);
  const served = await load(60);
  const later = (await coldStarts()) - warm;
  const total = (served['1'] ?? 0) + (served['2'] ?? 0);
  assert.equal(total, CALLERS * 60);
  assert.ok((served['2'] ?? 0) > total * 0.05 && (served['2'] ?? 0) < total * 0.15, JSON.stringify(served));
  assert.ok(later <= 3, `${later} cold starts in ${total} invocations after warm-up`);
});
