import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ZipWorkers } from '../code/zip-workers.js';

export const DEFAULT_CODE_CACHE_BYTES = 1024 * 1024 * 1024;

/** A code directory in use: it stays until released, which must happen once the code's process has exited. */
export interface CodeLease {
  dir: string;
  release: () => void;
}

interface Cached {
  /** Leases not yet released. */
  users: number;
  /** When it was last acquired or released, on a counter of this cache's own. */
  lastUsed: number;
  /** Bytes of its files, once extracted. */
  bytes: number;
  /** Settles when the directory is there whole; rejects when its extraction failed. */
  ready: Promise<void>;
  extracted: boolean;
}

const DIGEST = /^[0-9a-f]{64}$/;
/** The prefix of standbys' code views (code-view.ts), which live beside the cache's directories. */
export const VIEW_PREFIX = '.view-';
/** What an extraction or a removal interrupted by a crash leaves behind, and the views of a server that died. */
const LEFTOVER = /^\.(extracting|removing|view)-/;

/**
 * Extracted code packages, one read-only directory per digest under `root`, shared by every version with that
 * code. A directory appears whole (extracted aside, then renamed) or not at all. Beyond `maxBytes` of files, the
 * directories least recently used go, never one that a lease holds: a running instance keeps its code, and the
 * cache may stay above the bound for as long as the instances that hold it run.
 */
export class CodeCache {
  private readonly entries = new Map<string, Cached>();
  /** Directories being removed, by digest: extracting the same code again waits for them. */
  private readonly removals = new Map<string, Promise<void>>();
  private bytes = 0;
  private clock = 0;

  constructor(
    readonly root: string,
    private readonly maxBytes: number,
    private readonly workers: ZipWorkers,
    private readonly log: (line: string) => void,
  ) {}

  /** Counts what earlier runs extracted, so that the bound holds across restarts, and removes their leftovers. */
  async init(): Promise<void> {
    const found: { sha256: string; bytes: number; mtimeMs: number }[] = [];
    for (const entry of await readdir(this.root, { withFileTypes: true })) {
      const path = join(this.root, entry.name);
      if (LEFTOVER.test(entry.name)) await removeTree(path);
      else if (DIGEST.test(entry.name) && entry.isDirectory()) {
        found.push({
          sha256: entry.name,
          bytes: await treeBytes(path),
          mtimeMs: (await lstat(path)).mtimeMs,
        });
      }
    }
    // Extracted earliest, used least recently: the best guess there is without a record of use.
    for (const { sha256, bytes } of found.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      this.entries.set(sha256, {
        users: 0,
        lastUsed: ++this.clock,
        bytes,
        ready: Promise.resolve(),
        extracted: true,
      });
      this.bytes += bytes;
    }
    this.prune();
  }

  /** Bytes of extracted files held now, for tests and metrics. */
  size(): number {
    return this.bytes;
  }

  /** The directory of a code package, extracted first if it is not there yet, held until the lease is released. */
  async acquire(sha256: string, loadZip: () => Promise<Buffer>): Promise<CodeLease> {
    let cached = this.entries.get(sha256);
    if (!cached) {
      const fresh: Cached = { users: 0, lastUsed: 0, bytes: 0, ready: Promise.resolve(), extracted: false };
      fresh.ready = this.extract(sha256, fresh, loadZip);
      this.entries.set(sha256, fresh);
      cached = fresh;
    }
    const held = cached;
    held.users++;
    held.lastUsed = ++this.clock;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.users--;
      held.lastUsed = ++this.clock;
      this.prune();
    };
    try {
      await held.ready;
    } catch (error) {
      release();
      throw error;
    }
    return { dir: join(this.root, sha256), release };
  }

  private async extract(sha256: string, cached: Cached, loadZip: () => Promise<Buffer>): Promise<void> {
    try {
      await this.removals.get(sha256);
      const aside = join(this.root, `.extracting-${sha256}-${randomBytes(4).toString('hex')}`);
      await mkdir(aside);
      try {
        cached.bytes = await this.workers.extract(await loadZip(), aside);
        await chmod(aside, 0o555);
        await rename(aside, join(this.root, sha256));
      } catch (error) {
        await removeTree(aside);
        throw error;
      }
    } catch (error) {
      // The next start tries again.
      if (this.entries.get(sha256) === cached) this.entries.delete(sha256);
      throw error;
    }
    cached.extracted = true;
    this.bytes += cached.bytes;
    this.prune();
  }

  /** Removes directories no lease holds, least recently used first, until the cache is within its bound. */
  private prune(): void {
    if (this.bytes <= this.maxBytes) return;
    const idle = [...this.entries].filter(([, cached]) => cached.extracted && cached.users === 0);
    for (const [sha256, cached] of idle.sort(([, a], [, b]) => a.lastUsed - b.lastUsed)) {
      if (this.bytes <= this.maxBytes) return;
      this.entries.delete(sha256);
      this.bytes -= cached.bytes;
      const removal = this.remove(sha256).finally(() => this.removals.delete(sha256));
      this.removals.set(sha256, removal);
    }
  }

  private async remove(sha256: string): Promise<void> {
    // Renamed aside at once, so that an extraction of the same code can start while this one is deleted.
    const aside = join(this.root, `.removing-${sha256}-${randomBytes(4).toString('hex')}`);
    try {
      await rename(join(this.root, sha256), aside);
      await removeTree(aside);
    } catch (error) {
      this.log(`warning: could not remove the extracted code ${sha256}: ${String(error)}`);
    }
  }
}

/** Removes a tree that extraction made read-only, which would stop a server that is not root. */
export async function removeTree(dir: string): Promise<void> {
  await makeWritable(dir);
  await rm(dir, { recursive: true, force: true });
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}

async function treeBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += await treeBytes(path);
    else if (entry.isFile()) bytes += (await lstat(path)).size;
  }
  return bytes;
}
