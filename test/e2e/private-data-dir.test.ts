import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { SEED_NODE_HANDLER, SEED_PYTHON_HANDLER, zipOf } from '../support/code.js';
import { startSluice, type SluiceProcess } from '../support/server-process.js';

// Instances run as users of their own, who cannot enter a directory only its owner may enter (root's home, any
// 0700 directory): their code and the runtime's bootstrap must still reach them, through the sandbox's mounts.

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function assertBothRuntimesRun(server: SluiceProcess): Promise<void> {
  const api = apiClient(server.url, server.token);
  for (const [name, runtime, file, source, answer] of [
    ['node', 'nodejs20', 'index.js', SEED_NODE_HANDLER, 'LATEST'],
    ['py', 'python3', 'index.py', SEED_PYTHON_HANDLER, 'hello world'],
  ] as const) {
    const created = await api('POST', '/v1/functions', {
      name,
      runtime,
      handler: 'index.handler',
      code: { zipFile: (await zipOf({ [file]: source })).toString('base64') },
    });
    assert.equal(created.status, 201, created.bytes.toString());
    const res = await api('POST', `/v1/functions/${name}/invocations?qualifier=%24LATEST`, Buffer.from('{}'));
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal(res.bytes.toString(), answer);
  }
}

async function ownerOnlyDir(): Promise<{ home: string; remove: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'sluice-private-'));
  const home = join(parent, 'home');
  await mkdir(home, { mode: 0o700 });
  return { home, remove: () => rm(parent, { recursive: true, force: true }) };
}

test('functions run when the data directory sits under a directory only its owner may enter', async () => {
  const { home, remove } = await ownerOnlyDir();
  const server = await startSluice(join(home, '.sluice'));
  try {
    await assertBothRuntimesRun(server);
  } finally {
    await server.stop();
    await remove();
  }
});

test('functions run when Sluice itself is installed under a directory only its owner may enter', async () => {
  const { home, remove } = await ownerOnlyDir();
  const install = join(home, 'sluice');
  await mkdir(install);
  for (const entry of ['dist', 'runtime', 'package.json'])
    await cp(join(PACKAGE_ROOT, entry), join(install, entry), { recursive: true });
  await symlink(join(PACKAGE_ROOT, 'node_modules'), join(install, 'node_modules'));
  const server = await startSluice(join(home, '.sluice'), [], join(install, 'dist', 'bin', 'sluice.js'));
  try {
    await assertBothRuntimesRun(server);
  } finally {
    await server.stop();
    await remove();
  }
});
