import assert from 'node:assert/strict';
import { lstat, mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, spawnServer, startSluice } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

const MB = 1024 * 1024;

/** Bytes of the files under a directory; what the server removes meanwhile counts for nothing. */
async function treeBytes(dir: string): Promise<number> {
  let bytes = 0;
  try {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) bytes += await treeBytes(path);
      else if (entry.isFile()) bytes += (await lstat(path)).size;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return bytes;
}

async function invoke(api: ApiCall, name: string): Promise<string> {
  const res = await api('POST', `/v1/functions/${name}/invocations`, Buffer.from('{}'));
  assert.equal(res.status, 200, res.bytes.toString());
  return res.bytes.toString();
}

test('extracted code beyond --code-cache-size goes, least recently used first, never while an instance runs it', async () => {
  const { dataDir, remove } = await makeDataDir();
  const server = await startSluice(dataDir, ['--code-cache-size', '1', '--instance-idle-seconds', '1']);
  let warming: Promise<void> | undefined;
  const warm = new AbortController();
  try {
    const api = apiClient(server.url, server.token);
    const names = ['warm', 'f1', 'f2', 'f3', 'f4'];
    const digests = new Map<string, string>();
    for (const name of names) {
      // 0.4 MB each once extracted: the cache holds two.
      const code = await zipOf({
        'index.js': `exports.handler = (e, c, cb) => cb(null, ${JSON.stringify(name)});`,
        'pad.txt': name.repeat((0.4 * MB) / name.length),
      });
      const res = await api('POST', '/v1/functions', {
        name,
        runtime: 'nodejs20',
        handler: 'index.handler',
        code: { zipFile: code.toString('base64') },
      });
      assert.equal(res.status, 201, res.bytes.toString());
      digests.set(name, (res.body as { codeSha256: string }).codeSha256);
    }

    // The first code extracted, so the least recently extracted, but its instance never goes idle.
    assert.equal(await invoke(api, 'warm'), 'warm');
    warming = (async () => {
      while (!warm.signal.aborted) {
        assert.equal(await invoke(api, 'warm'), 'warm');
        await sleep(200);
      }
    })();
    for (const name of names.slice(1)) assert.equal(await invoke(api, name), name);

    // Once the other instances have gone idle and stopped, their code may go.
    const cache = join(dataDir, 'code');
    await waitFor(
      async () => {
        const bytes = await treeBytes(cache);
        assert.ok(bytes <= MB, `the extracted code takes ${bytes} bytes`);
        return true;
      },
      { timeout: 60_000, what: 'the code of stopped instances to go', interval: 100 },
    );
    const kept = await readdir(cache);
    assert.ok(kept.includes(digests.get('warm') as string), 'the code of a running instance stays');
    assert.ok(!kept.includes(digests.get('f1') as string), 'the least recently used code goes');
    assert.equal(await invoke(api, 'f1'), 'f1', 'code that went is extracted again when it is needed');
  } finally {
    warm.abort();
    await warming;
    await server.stop();
    await remove();
  }
});

test('a server whose code cache someone else could have filled refuses to start, saying why', async () => {
  const { dataDir, remove } = await makeDataDir();
  const elsewhere = join(dataDir, 'elsewhere');
  await mkdir(elsewhere);
  await symlink(elsewhere, join(dataDir, 'code'));
  const started = spawnServer(['--data-dir', dataDir]);
  try {
    await assert.rejects(
      started,
      /exited with 1:[\s\S]*the code cache \S+ is a symbolic link: code found there could run as any function/,
    );
  } finally {
    // Had it started, it must not outlive the test.
    await started.then(
      ({ child }) => child.kill(),
      () => undefined,
    );
    await remove();
  }
});
