import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { canonicalZip, sha256Hex, type CodeFile } from '../contract/canonical-zip.js';
import { isSluiceError } from '../contract/domain.js';
import { packDirectory } from './pack.js';

async function withTree(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-pack-test-'));
  try {
    await mkdir(path.join(dir, 'lib', 'deep'), { recursive: true });
    await mkdir(path.join(dir, 'empty'));
    await mkdir(path.join(dir, '.git'));
    await writeFile(path.join(dir, '.git', 'HEAD'), 'ref: refs/heads/main');
    await writeFile(path.join(dir, 'sluice.yaml'), 'name: fn');
    await writeFile(path.join(dir, 'index.js'), 'index');
    await writeFile(path.join(dir, '.env'), 'SECRET=no');
    await writeFile(path.join(dir, 'debug.log'), 'log');
    await writeFile(path.join(dir, 'lib', 'deep', 'a.js'), 'a');
    await writeFile(path.join(dir, 'run.sh'), 'echo');
    await chmod(path.join(dir, 'run.sh'), 0o755);
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('packDirectory makes the canonical zip of a tree, without .git, sluice.yaml and the excluded', async () => {
  await withTree(async (dir) => {
    const pkg = await packDirectory(dir, ['*.log']);
    const expected: CodeFile[] = [
      { path: '.env', data: Buffer.from('SECRET=no'), executable: false },
      { path: 'index.js', data: Buffer.from('index'), executable: false },
      { path: 'lib/deep/a.js', data: Buffer.from('a'), executable: false },
      { path: 'run.sh', data: Buffer.from('echo'), executable: true },
    ];
    const zip = await canonicalZip(expected);
    assert.deepEqual(pkg, { zip, sha256: sha256Hex(zip), files: 4 });
  });
});

test('packDirectory refuses a symbolic link, naming it', async () => {
  await withTree(async (dir) => {
    await symlink('../index.js', path.join(dir, 'lib', 'link.js'));
    await assert.rejects(packDirectory(dir), (error: unknown) => {
      assert.ok(isSluiceError(error), String(error));
      assert.equal(error.code, 'InvalidCodePackage');
      assert.match(error.message, /^entry 'lib\/link\.js' is a symbolic link/);
      return true;
    });
  });
});
