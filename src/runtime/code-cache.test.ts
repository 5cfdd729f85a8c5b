import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '../../test/support/wait-for.js';
import { ZipWorkers } from '../code/zip-workers.js';
import { canonicalZip, sha256Hex } from '../contract/canonical-zip.js';
import { CodeCache } from './code-cache.js';

interface Package {
  sha256: string;
  zip: Buffer;
}

/** A package whose files take `bytes` bytes once extracted. */
async function codePackage(name: string, bytes: number): Promise<Package> {
  const zip = await canonicalZip([
    { path: 'index.js', data: Buffer.from(name), executable: false },
    { path: 'pad.txt', data: Buffer.alloc(bytes - name.length, name), executable: false },
  ]);
  return { sha256: sha256Hex(zip), zip };
}

async function withCache(
  maxBytes: number,
  run: (cache: CodeCache, root: string) => Promise<void>,
  prepare: (root: string) => Promise<void> = () => Promise.resolve(),
): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'sluice-code-cache-test-'));
  const workers = new ZipWorkers(1);
  try {
    await prepare(root);
    const cache = new CodeCache(root, maxBytes, workers, (line) => {
      throw new Error(`unexpected: ${line}`);
    });
    await cache.init();
    await run(cache, root);
  } finally {
    await workers.close();
    await makeWritable(root);
    await rm(root, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
  }
}

/** The directories under the cache's root once the removals it started on its own are done. */
async function settled(root: string, expected: readonly Package[]): Promise<void> {
  const want = expected.map((pkg) => pkg.sha256).sort();
  await waitFor(
    async () => {
      assert.deepEqual((await readdir(root)).sort(), want);
      return true;
    },
    { timeout: 20_000, what: 'the removals the cache started to finish' },
  );
}

test('a package is extracted once for all who ask at the same time, read-only', async () => {
  await withCache(1024 * 1024, async (cache, root) => {
    const pkg = await codePackage('a', 1000);
    let loads = 0;
    const load = () => {
      loads++;
      return Promise.resolve(pkg.zip);
    };
    const leases = await Promise.all([cache.acquire(pkg.sha256, load), cache.acquire(pkg.sha256, load)]);
    assert.equal(loads, 1);
    assert.deepEqual(
      leases.map((lease) => lease.dir),
      [path.join(root, pkg.sha256), path.join(root, pkg.sha256)],
    );
    assert.equal(await readFile(path.join(root, pkg.sha256, 'index.js'), 'utf8'), 'a');
    assert.equal((await stat(path.join(root, pkg.sha256))).mode & 0o777, 0o555);
    assert.equal(cache.size(), 1000);
  });
});

test('beyond its bound the cache removes what is least recently used and not held', async () => {
  await withCache(2500, async (cache, root) => {
    const [a, b, c, d, e] = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => codePackage(n, 1000)));
    if (!a || !b || !c || !d || !e) throw new Error('five packages');
    const acquire = (pkg: Package) => cache.acquire(pkg.sha256, () => Promise.resolve(pkg.zip));
    const heldA = await acquire(a);
    (await acquire(b)).release();
    (await acquire(c)).release();
    // a is the least recently used, but an instance runs it: b and c go instead.
    await acquire(d);
    await settled(root, [a, d]);
    await acquire(e);
    await settled(root, [a, d, e]);
    assert.equal(cache.size(), 3000, 'held code may keep the cache above its bound');
    // Released, a is no longer in the way: the bound holds again.
    heldA.release();
    await settled(root, [d, e]);
    assert.equal(cache.size(), 2000);
    // Code removed is extracted again when it is needed again.
    const again = await acquire(b);
    assert.equal(await readFile(path.join(again.dir, 'index.js'), 'utf8'), 'b');
  });
});

test('a failed extraction leaves nothing behind and is tried again', async () => {
  await withCache(1024 * 1024, async (cache, root) => {
    const pkg = await codePackage('a', 100);
    await assert.rejects(
      cache.acquire(pkg.sha256, () => Promise.resolve(Buffer.from('not a zip'))),
      /not a valid zip/,
    );
    assert.deepEqual(await readdir(root), []);
    const lease = await cache.acquire(pkg.sha256, () => Promise.resolve(pkg.zip));
    assert.equal(await readFile(path.join(lease.dir, 'index.js'), 'utf8'), 'a');
  });
});

test('at start the cache counts what is there, holds its bound, and removes what crashes left', async () => {
  const [old, recent] = await Promise.all([codePackage('old', 1000), codePackage('new', 1000)]);
  await withCache(
    1500,
    async (cache, root) => {
      await settled(root, [recent]);
      assert.equal(cache.size(), 1000);
    },
    async (root) => {
      // What an earlier server extracted, oldest first, and what it left half done: read-only, as extracted.
      const workers = new ZipWorkers(1);
      const earlier = new CodeCache(root, 1024 * 1024, workers, () => undefined);
      for (const [i, pkg] of [old, recent].entries()) {
        const lease = await earlier.acquire(pkg.sha256, () => Promise.resolve(pkg.zip));
        // Extracted a minute apart: the age a restarted cache goes by.
        const at = new Date(Date.UTC(2024, 0, 1, 0, i));
        await utimes(lease.dir, at, at);
      }
      await workers.close();
      for (const leftover of [`.extracting-${old.sha256}-0000`, `.removing-${recent.sha256}-0000`]) {
        await mkdir(path.join(root, leftover, 'lib'), { recursive: true });
        await writeFile(path.join(root, leftover, 'lib', 'a.js'), 'a');
        await chmod(path.join(root, leftover, 'lib'), 0o555);
        await chmod(path.join(root, leftover), 0o555);
      }
    },
  );
});
