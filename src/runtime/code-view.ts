import { randomBytes } from 'node:crypto';
import { chmod, link, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { removeTree, VIEW_PREFIX } from './code-cache.js';

/**
 * A directory that a standby's sandbox shows as its code before anyone knows which code: empty until its
 * instance's function is known, then filled with hard links to that code's extracted files (the links cost no
 * copy, and a link to a read-only file is as read-only). One per standby, never refilled, removed when its
 * process has ended: what one function's code was is never seen by another's instance.
 */
export class CodeView {
  private filled = false;

  private constructor(readonly dir: string) {}

  /** An empty view in `root` (the code cache's directory, so that links to the cache stay on one filesystem). */
  static async make(root: string): Promise<CodeView> {
    const dir = join(root, `${VIEW_PREFIX}${randomBytes(8).toString('hex')}`);
    await mkdir(dir);
    // Entered by the function's user once it is filled (the server's umask would keep it out); written by this
    // server only.
    await chmod(dir, 0o755);
    return new CodeView(dir);
  }

  /** Links every file of `source` into the view, with its directories' modes. Once. */
  async fill(source: string): Promise<void> {
    if (this.filled) throw new Error('a code view is filled once');
    this.filled = true;
    await linkTree(source, this.dir);
  }

  async remove(): Promise<void> {
    await removeTree(this.dir);
  }
}

/** `target` exists; its entries are made from `source`'s, and its mode becomes `source`'s last. */
async function linkTree(source: string, target: string): Promise<void> {
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) {
      await mkdir(to, { mode: 0o700 });
      await linkTree(from, to);
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(from), to);
    } else {
      await link(from, to);
    }
  }
  await chmod(target, (await lstat(source)).mode & 0o7777);
}
