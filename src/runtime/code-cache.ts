import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { extractCodeZip } from '../code/zip.js';

/**
 * Extracted code packages, one read-only directory per digest under `root`, shared by every version with
 * that code. A directory appears whole (extracted aside, then renamed) or not at all.
 */
export class CodeCache {
  private readonly inProgress = new Map<string, Promise<string>>();

  /** `root` is made and checked by prepareCodeCacheRoot. */
  constructor(private readonly root: string) {}

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
