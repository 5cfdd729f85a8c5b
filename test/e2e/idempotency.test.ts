import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// Issue 27: a retried write with the same Idempotency-Key applies once, through a real server and store.

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  const created = await api('POST', '/v1/functions', {
    name: 'f',
    runtime: 'nodejs20',
    handler: 'index.handler',
  });
  assert.equal(created.status, 201);
  for (const build of ['1', '2']) {
    const code = await zipOf({ 'index.js': `exports.handler = async () => '${build}';\n` });
    assert.equal((await api('PUT', '/v1/functions/f/code', code)).status, 200);
    assert.equal(
      (await api('POST', '/v1/functions/f/versions', {}, { 'idempotency-key': `publish-${build}` })).status,
      201,
    );
  }
});

after(async () => {
  await server.stop();
  await removeDir();
});

const key = (k: string) => ({ 'idempotency-key': k });
const history = async () =>
  (
    (await api('GET', '/v1/functions/f/aliases/live/history')).body as { history: { revision: number }[] }
  ).history.map((e) => e.revision);

test('a retried write answers the first answer again, marked replayed, and is applied once', async () => {
  const spec = { version: '1', canary: { version: '2', weight: 0.1 } };
  const first = await api('PUT', '/v1/functions/f/aliases/live', spec, key('live-1'));
  assert.equal(first.status, 201);
  assert.equal(first.headers.get('idempotent-replayed'), null);
  const retried = await api('PUT', '/v1/functions/f/aliases/live', spec, key('live-1'));
  assert.equal(retried.status, 201);
  assert.equal(retried.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(retried.body, first.body);
  assert.equal(retried.headers.get('etag'), first.headers.get('etag'));
  assert.deepEqual(await history(), [1]);
  // A publish retried: the same version, not a second one.
  const versions = await api('GET', '/v1/functions/f/versions');
  assert.deepEqual(
    (versions.body as { versions: { versionId: string }[] }).versions.map((v) => v.versionId),
    ['1', '2'],
  );
  const again = await api('POST', '/v1/functions/f/versions', {}, key('publish-2'));
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.equal((again.body as { versionId: string }).versionId, '2');
});

test('the same key with another request is refused, and changes nothing', async () => {
  const before = await history();
  const other = await api('PUT', '/v1/functions/f/aliases/live', { version: '2' }, key('live-1'));
  assert.equal(other.status, 422);
  assert.equal(errorCode(other), 'IdempotencyKeyReused');
  assert.deepEqual(await history(), before);
  // The same body to another resource is another request too.
  const elsewhere = await api(
    'PUT',
    '/v1/functions/f/aliases/other',
    { version: '1', canary: { version: '2', weight: 0.1 } },
    key('live-1'),
  );
  assert.equal(errorCode(elsewhere), 'IdempotencyKeyReused');
  assert.equal((await api('GET', '/v1/functions/f/aliases/other')).status, 404);
});

test('a refusal is the answer for good: a retry gets it again even once the write would succeed', async () => {
  const refused = await api('PUT', '/v1/functions/f/aliases/later', { version: '3' }, key('later-1'));
  assert.equal(errorCode(refused), 'VersionNotFound');
  const code = await zipOf({ 'index.js': `exports.handler = async () => '3';\n` });
  assert.equal((await api('PUT', '/v1/functions/f/code', code)).status, 200);
  assert.equal((await api('POST', '/v1/functions/f/versions', {})).status, 201);
  const retried = await api('PUT', '/v1/functions/f/aliases/later', { version: '3' }, key('later-1'));
  assert.equal(errorCode(retried), 'VersionNotFound');
  assert.equal((await api('GET', '/v1/functions/f/aliases/later')).status, 404);
  assert.equal(
    (await api('PUT', '/v1/functions/f/aliases/later', { version: '3' }, key('later-2'))).status,
    201,
  );
});

test('retries sent at once apply once: the others replay or are told it is still running', async () => {
  const spec = { version: '2' };
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => api('PUT', '/v1/functions/f/aliases/burst', spec, key('burst-1'))),
  );
  const outcomes = answers.map((a) =>
    a.status === 201 ? (a.headers.get('idempotent-replayed') ?? 'first') : errorCode(a),
  );
  assert.equal(outcomes.filter((o) => o === 'first').length, 1, outcomes.join());
  assert.ok(
    outcomes.every((o) => ['first', 'true', 'IdempotencyKeyInProgress'].includes(o ?? '')),
    outcomes.join(),
  );
  const burst = await api('GET', '/v1/functions/f/aliases/burst/history');
  assert.equal((burst.body as { history: unknown[] }).history.length, 1);
});

test('a malformed key is a 400 and changes nothing', async () => {
  for (const bad of ['', 'with space', 'x'.repeat(256), 'ünïcode']) {
    const res = await fetch(`${server.url}/v1/functions/f/aliases/bad`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${server.token}`,
        'content-type': 'application/json',
        'idempotency-key': bad,
      },
      body: JSON.stringify({ version: '1' }),
    }).catch(() => undefined);
    // fetch itself refuses a header value outside Latin-1; what it sends, the server refuses.
    if (res) assert.equal(res.status, 400, JSON.stringify(bad));
  }
  assert.equal((await api('GET', '/v1/functions/f/aliases/bad')).status, 404);
});
