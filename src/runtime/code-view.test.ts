import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CodeView } from './code-view.js';

const roots: string[] = [];
after(() => Promise.all(roots.map((root) => rm(root, { recursive: true, force: true }))));

/** A code cache's directory holding one extracted package, read-only as extraction leaves it. */
async function cacheWithCode(): Promise<{ root: string; code: string }> {
  const root = await mkdtemp(join(tmpdir(), 'sluice-view-test-'));
  roots.push(root);
  const code = join(root, 'a'.repeat(64));
  await mkdir(join(code, 'lib'), { recursive: true });
  await writeFile(join(code, 'index.py'), 'handler');
  await writeFile(join(code, 'lib', 'util.py'), 'util');
  await writeFile(join(code, 'bootstrap'), '#!/bin/sh\n', { mode: 0o755 });
  await symlink('lib/util.py', join(code, 'alias.py'));
  await chmod(join(code, 'lib'), 0o555);
  await chmod(code, 0o555);
  return { root, code };
}

describe('a code view', () => {
  it('is an empty directory others may enter, beside the cache’s code', async () => {
    const { root } = await cacheWithCode();
    const view = await CodeView.make(root);
    assert.deepEqual(await readdir(view.dir), []);
    assert.equal((await lstat(view.dir)).mode & 0o777, 0o755);
    assert.match(view.dir, /\/\.view-[0-9a-f]{16}$/);
  });

  it('is filled once with links to the code’s files, its directories’ modes and symbolic links', async () => {
    const { root, code } = await cacheWithCode();
    const view = await CodeView.make(root);
    await view.fill(code);
    for (const file of ['index.py', 'lib/util.py', 'bootstrap']) {
      const [a, b] = await Promise.all([lstat(join(code, file)), lstat(join(view.dir, file))]);
      assert.equal(b.ino, a.ino, `${file} is the same file, not a copy`);
      assert.equal(b.mode, a.mode);
    }
    assert.equal(await readlink(join(view.dir, 'alias.py')), 'lib/util.py');
    assert.equal((await lstat(join(view.dir, 'lib'))).mode & 0o777, 0o555);
    assert.equal((await lstat(view.dir)).mode & 0o777, 0o555);
    await assert.rejects(view.fill(code), /filled once/);
  });

  it('is removed whole, read-only directories and all, leaving the code it showed', async () => {
    const { root, code } = await cacheWithCode();
    const view = await CodeView.make(root);
    await view.fill(code);
    await view.remove();
    assert.deepEqual(await readdir(root), ['a'.repeat(64)]);
    assert.deepEqual((await readdir(code)).sort(), ['alias.py', 'bootstrap', 'index.py', 'lib']);
  });
});
