import assert from 'node:assert/strict';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDataDir, spawnServer } from '../support/server-process.js';

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
