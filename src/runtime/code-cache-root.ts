import { chmod, lstat, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SluiceError } from '../core/errors.js';

/** The file in the data directory that names the code cache made under the temporary directory. */
export const CODE_CACHE_RECORD = 'code-cache-dir';

/**
 * Where extracted code goes, made or checked so that nobody but this server's user can have put anything there.
 * Beside the data, unless instances run as another user who cannot reach the data directory (it sits under a
 * directory only its owner may enter, such as /root); then a directory of a random name that this call makes
 * under the temporary directory, and records in the data directory for the next start. A path that someone
 * else could have made first, such as a name derived from the data directory's, is never used: the code found
 * in it would run as the function's.
 */
export async function prepareCodeCacheRoot(
  dataDir: string,
  instancesRunAsOther: boolean,
  log: (line: string) => void,
  temporary: string = tmpdir(),
): Promise<string> {
  if (!instancesRunAsOther || (await everyoneMayEnter(dirname(dataDir)))) {
    const root = join(dataDir, 'code');
    await mkdir(root, { mode: 0o700 }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
    const problem = await unsafe(root);
    if (problem) {
      throw new SluiceError(
        'InvalidArgument',
        `the code cache ${root} ${problem}: code found there could run as any function; remove it and start again`,
      );
    }
    return opened(root);
  }
  const record = join(dataDir, CODE_CACHE_RECORD);
  const recorded = await readFile(record, 'utf8').then(
    (text) => text.trim(),
    () => undefined,
  );
  if (recorded) {
    const problem = await unsafe(recorded);
    if (!problem) return opened(recorded);
    log(`warning: not using the code cache ${recorded}, which ${problem}; making a new one`);
  }
  const root = await mkdtemp(join(temporary, 'sluice-code-'));
  await writeFile(record, `${root}\n`, { mode: 0o600 });
  return opened(root);
}

/** Instances run as an unprivileged user: they may enter the cache, not list it. */
async function opened(root: string): Promise<string> {
  await chmod(root, 0o711);
  return root;
}

/** Why a directory may hold what others put there, or undefined when only this process's user can have. */
async function unsafe(dir: string): Promise<string | undefined> {
  const stats = await lstat(dir).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  });
  if (!stats) return 'is gone';
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (!stats.isDirectory()) return 'is not a directory';
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid)
    return `belongs to user ${stats.uid}, not to this server's ${uid}`;
  if ((stats.mode & 0o022) !== 0)
    return `may be written by others (mode ${(stats.mode & 0o777).toString(8)})`;
  // Others who may write to the parent could swap the directory for theirs, unless the sticky bit stops them.
  const parent = await stat(dirname(dir));
  if ((parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0) {
    return `lies in ${dirname(dir)}, where others may replace it`;
  }
  return undefined;
}

async function everyoneMayEnter(dir: string): Promise<boolean> {
  for (let current = dir; ; current = dirname(current)) {
    if (((await stat(current)).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}
