import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { extractCodeZip } from '../code/zip.js';

/**
 * Extracted code packages, one read-only directory per digest under `root`, shared by every version with
 * that code. A directory appears whole (extracted aside, then renamed) or not at all.
 */
export class CodeCache {
  private readonly inProgress = new Map<string, Promise<string>>();

  constructor(private readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    // Instances run as an unprivileged user: they may enter the cache, not list it.
    await chmod(this.root, 0o711);
  }

  directory(sha256: string, loadZip: () => Promise<Buffer>): Promise<string> {
    const existing = this.inProgress.get(sha256);
    if (existing) return existing;
    const work = this.extract(sha256, loadZip).finally(() => this.inProgress.delete(sha256));
    this.inProgress.set(sha256, work);
    return work;
  }

  private async extract(sha256: string, loadZip: () => Promise<Buffer>): Promise<string> {
    const dir = join(this.root, sha256);
    if (await exists(dir)) return dir;
    const aside = join(this.root, `.extracting-${sha256}-${randomBytes(4).toString('hex')}`);
    await mkdir(aside);
    try {
      await extractCodeZip(await loadZip(), aside);
      await chmod(aside, 0o555);
      await rename(aside, dir);
    } catch (error) {
      await rm(aside, { recursive: true, force: true });
      throw error;
    }
    return dir;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where extracted code goes: beside the data, unless instances run as another user who cannot reach the data
 * directory (it sits under a directory only its owner may enter, such as /root); then under the system's
 * temporary directory, which everyone may enter.
 */
export async function codeCacheRoot(dataDir: string, instancesRunAsOther: boolean): Promise<string> {
  if (!instancesRunAsOther || (await everyoneMayEnter(dirname(dataDir)))) return join(dataDir, 'code');
  const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
  return join(tmpdir(), `sluice-code-${id}`);
}

async function everyoneMayEnter(dir: string): Promise<boolean> {
  for (let current = dir; ; current = dirname(current)) {
    if (((await stat(current)).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}
