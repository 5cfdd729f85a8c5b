import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { SEED_NODE_HANDLER, zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';

let dataDir: string;
let removeDir: () => Promise<void>;
let server: SluiceProcess | undefined;

before(async () => {
  ({ dataDir, remove: removeDir } = await makeDataDir());
});

after(async () => {
  await server?.stop();
  await removeDir();
});

async function versionCodes(api: ApiCall, name: string): Promise<string[]> {
  const versions = (await api('GET', `/v1/functions/${name}/versions`)).body as {
    versions: { versionId: string }[];
  };
  return Promise.all(
    versions.versions.map(async (v) =>
      (await api('GET', `/v1/functions/${name}/code?qualifier=${v.versionId}`)).bytes.toString('base64'),
    ),
  );
}

test('the admin token is created once, kept as a hash, and required', async () => {
  server = await startSluice(dataDir);
  const file = join(dataDir, 'admin-token');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const token = (await readFile(file, 'utf8')).trim();
  assert.match(token, /^sluice_[A-Za-z0-9_-]{43}$/);
  const db = await readFile(join(dataDir, 'sluice.db'));
  assert.equal(db.includes(Buffer.from(token)), false, 'the database holds no plain token');

  const anonymous = apiClient(server.url, undefined);
  assert.equal((await anonymous('GET', '/v1/functions')).status, 401);
  assert.equal((await anonymous('GET', '/v1/openapi.json')).status, 200, 'the API description is public');
});

test('after a restart on the same data directory everything is still there, byte for byte', async () => {
  assert.ok(server);
  const api = apiClient(server.url, server.token);
  for (const name of ['alpha', 'beta']) {
    assert.equal(
      (await api('POST', '/v1/functions', { name, runtime: 'nodejs20', handler: 'index.handler' })).status,
      201,
    );
    for (const n of [1, 2, 3]) {
      await api(
        'PUT',
        `/v1/functions/${name}/code`,
        await zipOf({ 'index.js': `${SEED_NODE_HANDLER}//${name} ${n}` }),
      );
      assert.equal(
        (await api('POST', `/v1/functions/${name}/versions`, { description: `v${n}` })).status,
        201,
      );
    }
    await api('PUT', `/v1/functions/${name}/aliases/live`, {
      version: '2',
      canary: { version: '3', weight: 0.25 },
    });
  }
  await api('DELETE', '/v1/functions/beta/versions/1');
  const before = await snapshot(api);
  const codes = await versionCodes(api, 'alpha');
  const token = server.token;
  const tokenFile = await stat(join(dataDir, 'admin-token'));
  await server.stop();

  server = await startSluice(dataDir);
  assert.equal(server.token, token, 'the token survives a restart');
  assert.equal(
    (await stat(join(dataDir, 'admin-token'))).mtimeMs,
    tokenFile.mtimeMs,
    'the token file is not rewritten',
  );
  const again = apiClient(server.url, server.token);
  assert.deepEqual(await snapshot(again), before);
  assert.deepEqual(await versionCodes(again, 'alpha'), codes);
  const published = await again('POST', '/v1/functions/beta/versions');
  assert.equal(published.status, 409, 'nothing changed, even across a restart');
  await again('PATCH', '/v1/functions/beta', { timeout: 10 });
  const next = (await again('POST', '/v1/functions/beta/versions')).body as { versionId: string };
  assert.equal(next.versionId, '4', 'numbering continues after a restart');
});
