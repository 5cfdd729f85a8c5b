import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

const SLOW = `exports.handler = async (event) => {
  if (event.toString() === 'slow') await new Promise((r) => setTimeout(r, 1500));
  return 'done ' + event.toString();
};
`;

test('SIGTERM lets the invocation in flight finish, then the server exits', async () => {
  const dir = await makeDataDir();
  const server = await startSluice(dir.dataDir);
  try {
    const api = apiClient(server.url, server.token);
    const created = await api('POST', '/v1/functions', {
      name: 'slow',
      runtime: 'nodejs20',
      handler: 'index.handler',
      timeout: 5,
      code: { zipFile: (await zipOf({ 'index.js': SLOW })).toString('base64') },
    });
    assert.equal(created.status, 201);
    const path = '/v1/functions/slow/invocations?qualifier=%24LATEST';
    assert.equal((await api('POST', path, Buffer.from('warm'))).bytes.toString(), 'done warm');

    const inFlight = api('POST', path, Buffer.from('slow'));
    await waitFor(
      async () => {
        const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { instances: { busy: number } };
        return ready.instances.busy > 0;
      },
      { timeout: 30_000, what: 'the slow invocation to be running' },
    );
    const exited = once(server.child, 'exit');
    server.child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.bytes.toString(), 'done slow');
    const [code] = (await exited) as [number | null];
    assert.equal(code, 0);
    await assert.rejects(fetch(`${server.url}/v1/openapi.json`), 'the server no longer listens');
  } finally {
    await server.stop();
    await dir.remove();
  }
});
