import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { SEED_NODE_HANDLER, zipOf } from '../support/code.js';
import { startSluice } from '../support/server-process.js';

// As root, instances run as nobody, who cannot enter a data directory under an owner-only one such as /root:
// their code must still be reachable.
test('functions run when the data directory sits under a directory only its owner may enter', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'sluice-private-'));
  await mkdir(join(parent, 'home'), { mode: 0o700 });
  const server = await startSluice(join(parent, 'home', '.sluice'));
  try {
    const api = apiClient(server.url, server.token);
    const created = await api('POST', '/v1/functions', {
      name: 'f',
      runtime: 'nodejs20',
      handler: 'index.handler',
      code: { zipFile: (await zipOf({ 'index.js': SEED_NODE_HANDLER })).toString('base64') },
    });
    assert.equal(created.status, 201);
    const res = await api('POST', '/v1/functions/f/invocations?qualifier=%24LATEST', Buffer.from('{}'));
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal(res.bytes.toString(), 'LATEST');
  } finally {
    await server.stop();
    await rm(parent, { recursive: true, force: true });
  }
});
