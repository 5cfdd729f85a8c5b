import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { SEED_NODE_HANDLER, zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// Seed 004, "Use case with invoke API", played against a real server at the control-plane level:
// function B; aliases release and prepub at $LATEST; versions 1–4; prepub → 3; release → 1 with version 2
// at 10 % then 50 %; then release rolled back to all-1. Stored state is checked after every step.
let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
});

after(async () => {
  await server.stop();
  await removeDir();
});

const B = '/v1/functions/B';

async function alias(name: string): Promise<Record<string, unknown>> {
  const res = await api('GET', `${B}/aliases/${name}`);
  assert.equal(res.status, 200);
  return res.body as Record<string, unknown>;
}

async function deploy(revision: number): Promise<void> {
  const code = await zipOf({ 'index.js': `${SEED_NODE_HANDLER}// revision ${revision}\n` });
  const res = await api('PUT', `${B}/code`, code);
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

test('seed 004 release workflow at the API level', async (t) => {
  await t.test('create function B: $LATEST and $DEFAULT → $LATEST', async () => {
    const res = await api('POST', '/v1/functions', {
      name: 'B',
      runtime: 'nodejs20',
      handler: 'index.handler',
      code: { zipFile: (await zipOf({ 'index.js': SEED_NODE_HANDLER })).toString('base64') },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const fn = res.body as Record<string, unknown>;
    assert.equal(fn.memorySize, 128);
    assert.equal(fn.timeout, 3);
    const def = await alias('$DEFAULT');
    assert.equal(def.version, '$LATEST');
    assert.equal(def.revision, 1);
  });

  await t.test('aliases release and prepub point at $LATEST', async () => {
    for (const name of ['release', 'prepub']) {
      const res = await api('PUT', `${B}/aliases/${name}`, { version: '$LATEST' });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('etag'), '"1"');
    }
    const list = (await api('GET', `${B}/aliases`)).body as { aliases: { name: string; version: string }[] };
    assert.deepEqual(
      list.aliases.map((a) => [a.name, a.version]),
      [
        ['$DEFAULT', '$LATEST'],
        ['prepub', '$LATEST'],
        ['release', '$LATEST'],
      ],
    );
  });

  await t.test('versions 1 to 4 are published in sequence, each a snapshot of its code', async () => {
    const digests: string[] = [];
    for (let n = 1; n <= 4; n++) {
      await deploy(n);
      const res = await api('POST', `${B}/versions`, { description: `version ${n}` });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const version = res.body as { versionId: string; codeSha256: string };
      assert.equal(version.versionId, String(n));
      digests.push(version.codeSha256);
    }
    assert.equal(new Set(digests).size, 4);
    const again = await api('POST', `${B}/versions`, {});
    assert.equal(again.status, 409);
    assert.equal(errorCode(again), 'NothingToPublish');
    const list = (await api('GET', `${B}/versions`)).body as {
      versions: { versionId: string; codeSha256: string }[];
    };
    assert.deepEqual(
      list.versions.map((v) => v.versionId),
      ['1', '2', '3', '4'],
    );
    assert.deepEqual(
      list.versions.map((v) => v.codeSha256),
      digests,
    );
  });

  await t.test('prepub → version 3', async () => {
    const res = await api('PUT', `${B}/aliases/prepub`, { version: '3' }, { 'if-match': '"1"' });
    assert.equal(res.status, 200);
    const prepub = await alias('prepub');
    assert.equal(prepub.version, '3');
    assert.equal(prepub.canary, undefined);
    assert.equal(prepub.revision, 2);
  });

  await t.test('prepub: Bob goes to version 4 by a header rule', async () => {
    const res = await api('PUT', `${B}/aliases/prepub`, {
      version: '3',
      canary: { version: '4', rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const prepub = await alias('prepub');
    assert.deepEqual(prepub.canary, {
      version: '4',
      match: 'all',
      rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }],
    });
  });

  await t.test('release → 1, then version 2 at 10 % and at 50 %', async () => {
    assert.equal((await api('PUT', `${B}/aliases/release`, { version: '1' })).status, 200);
    assert.equal((await alias('release')).version, '1');
    for (const weight of [0.1, 0.5]) {
      const res = await api('PUT', `${B}/aliases/release`, {
        version: '1',
        canary: { version: '2', weight },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const release = await alias('release');
      assert.equal(release.version, '1');
      assert.deepEqual(release.canary, { version: '2', weight });
    }
    const inUse = await api('DELETE', `${B}/versions/2`);
    assert.equal(errorCode(inUse), 'VersionInUse');
    assert.deepEqual((inUse.body as { error: { details: unknown } }).error.details, { aliases: ['release'] });
  });

  await t.test('rollback: release sends all its traffic to version 1', async () => {
    const res = await api('POST', `${B}/aliases/release/rollback`, { to: 'primary' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const release = await alias('release');
    assert.equal(release.version, '1');
    assert.equal(release.canary, undefined);
    assert.equal(release.revision, 5);
    const history = (await api('GET', `${B}/aliases/release/history`)).body as {
      history: { revision: number; action: string; actor: string; before: unknown; after: unknown }[];
    };
    // The admin token by its name and id.
    assert.deepEqual(
      history.history.map((h) => [h.revision, h.action, h.actor.replace(/ \(.+\)$/, '')]),
      [
        [1, 'create', 'admin'],
        [2, 'update', 'admin'],
        [3, 'update', 'admin'],
        [4, 'update', 'admin'],
        [5, 'rollback', 'admin'],
      ],
    );
    assert.match(history.history[0]!.actor, /^admin \([0-9a-f-]{36}\)$/);
    assert.deepEqual(history.history[4]!.before, {
      version: '1',
      description: '',
      canary: { version: '2', weight: 0.5 },
    });
    assert.deepEqual(history.history[4]!.after, { version: '1', description: '' });
  });

  await t.test('the other aliases were not touched by the release', async () => {
    assert.equal((await alias('$DEFAULT')).version, '$LATEST');
    assert.equal((await alias('prepub')).version, '3');
  });
});
