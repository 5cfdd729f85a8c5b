import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SluiceError } from '../core/errors.js';
import { CODE_CACHE_RECORD, prepareCodeCacheRoot } from './code-cache-root.js';

const AS_ROOT = process.getuid?.() === 0;
const OTHER_USER = 65534;

interface Setup {
  /** A data directory that instances can reach (its parent may be entered by everyone). */
  reachable: string;
  /** A data directory under a directory only its owner may enter. */
  unreachable: string;
  /** Stands for /tmp: where a cache out of the data directory goes. */
  temporary: string;
}

async function withDirs(run: (dirs: Setup) => Promise<void>): Promise<void> {
  const base = await mkdtemp(path.join(tmpdir(), 'sluice-cache-root-test-'));
  const dirs: Setup = {
    reachable: path.join(base, 'open', '.sluice'),
    unreachable: path.join(base, 'home', '.sluice'),
    temporary: path.join(base, 'tmp'),
  };
  try {
    await chmod(base, 0o755);
    await mkdir(dirs.reachable, { recursive: true, mode: 0o700 });
    await chmod(path.dirname(dirs.reachable), 0o755);
    await mkdir(dirs.unreachable, { recursive: true, mode: 0o700 });
    await chmod(path.dirname(dirs.unreachable), 0o700);
    await mkdir(dirs.temporary);
    await chmod(dirs.temporary, 0o1777);
    await run(dirs);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

function refusal(message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SluiceError, String(error));
    assert.match(error.message, message);
    return true;
  };
}

function noLog(line: string): void {
  throw new Error(`nothing should be logged, but: ${line}`);
}

async function assertPrivate(dir: string): Promise<void> {
  const stats = await lstat(dir);
  assert.ok(stats.isDirectory());
  assert.equal(stats.uid, process.getuid?.());
  assert.equal(stats.mode & 0o777, 0o711);
}

test('the cache goes beside the data when instances can reach it, made private', async () => {
  await withDirs(async ({ reachable }) => {
    for (const runAsOther of [false, true]) {
      const root = await prepareCodeCacheRoot(reachable, runAsOther, noLog);
      assert.equal(root, path.join(reachable, 'code'));
      await assertPrivate(root);
    }
  });
});

// A link points into the test's own directory: were it followed, its target's mode would change.
const planted: [string, (code: string) => Promise<void>, RegExp, boolean][] = [
  ['a symbolic link', (code) => symlink(path.dirname(code), code), /is a symbolic link/, false],
  ['a file', (code) => writeFile(code, 'x'), /is not a directory/, false],
  [
    'a directory others may write to',
    async (code) => {
      await mkdir(code);
      await chmod(code, 0o777);
    },
    /may be written by others \(mode 777\)/,
    false,
  ],
  [
    "another user's directory",
    async (code) => {
      await mkdir(code);
      await chown(code, OTHER_USER, OTHER_USER);
    },
    new RegExp(`belongs to user ${OTHER_USER}`),
    true,
  ],
];
for (const [what, plant, message, needsRoot] of planted) {
  test(
    `a code cache in the data directory that is ${what} is refused`,
    { skip: needsRoot && !AS_ROOT },
    async () => {
      await withDirs(async ({ reachable }) => {
        const code = path.join(reachable, 'code');
        await plant(code);
        await assert.rejects(prepareCodeCacheRoot(reachable, false, noLog), refusal(message));
      });
    },
  );
}

test('out of the data directory, the cache has a random name, made by this server and kept across starts', async () => {
  await withDirs(async ({ unreachable, temporary }) => {
    // The name an earlier Sluice derived from the data directory's, planted by another user.
    const id = createHash('sha256').update(unreachable).digest('hex').slice(0, 16);
    const predictable = path.join(temporary, `sluice-code-${id}`);
    await mkdir(predictable);

    const root = await prepareCodeCacheRoot(unreachable, true, noLog, temporary);
    assert.notEqual(root, predictable);
    assert.equal(path.dirname(root), temporary);
    assert.match(path.basename(root), /^sluice-code-[A-Za-z0-9]{6}$/);
    await assertPrivate(root);
    const record = path.join(unreachable, CODE_CACHE_RECORD);
    assert.equal(await readFile(record, 'utf8'), `${root}\n`);
    assert.equal((await lstat(record)).mode & 0o777, 0o600);

    assert.equal(await prepareCodeCacheRoot(unreachable, true, noLog, temporary), root);
    assert.deepEqual(
      (await readdir(temporary)).sort(),
      [path.basename(predictable), path.basename(root)].sort(),
    );
  });
});

const replaced: [string, (root: string) => Promise<void>, RegExp, boolean][] = [
  ['removed', (root) => rm(root, { recursive: true }), /which is gone/, false],
  [
    'replaced by a symbolic link',
    async (root) => {
      await rm(root, { recursive: true });
      await symlink(path.dirname(root), root);
    },
    /which is a symbolic link/,
    false,
  ],
  [
    "replaced by another user's directory",
    async (root) => {
      await rm(root, { recursive: true });
      await mkdir(root);
      await chown(root, OTHER_USER, OTHER_USER);
    },
    new RegExp(`which belongs to user ${OTHER_USER}`),
    true,
  ],
];
for (const [what, replace, message, needsRoot] of replaced) {
  test(
    `a recorded cache that was ${what} is not used: a new one is made`,
    { skip: needsRoot && !AS_ROOT },
    async () => {
      await withDirs(async ({ unreachable, temporary }) => {
        const first = await prepareCodeCacheRoot(unreachable, true, noLog, temporary);
        await replace(first);
        const log: string[] = [];
        const second = await prepareCodeCacheRoot(unreachable, true, (line) => log.push(line), temporary);
        assert.notEqual(second, first);
        await assertPrivate(second);
        assert.equal(log.length, 1);
        assert.match(log[0] as string, message);
        assert.equal(await readFile(path.join(unreachable, CODE_CACHE_RECORD), 'utf8'), `${second}\n`);
        if (what !== 'removed') assert.ok(await lstat(first), 'what was planted stays as it was');
      });
    },
  );
}
