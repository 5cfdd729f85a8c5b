import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeZip, traversalZip } from '../../test/support/zips.js';
import type { CodeLimits } from '../core/code-package.js';
import { SluiceError } from '../core/errors.js';
import { canonicalZip } from '../contract/canonical-zip.js';
import { normalizeCodePackage } from './zip.js';
import { ZipWorkers } from './zip-workers.js';

const limits: CodeLimits = { zipBytes: 1024 * 1024, unzippedBytes: 1024 * 1024, entries: 100 };

async function withWorkers(size: number, run: (workers: ZipWorkers) => Promise<void>): Promise<void> {
  const workers = new ZipWorkers(size);
  try {
    await run(workers);
  } finally {
    await workers.destroy();
  }
}

const upload = () =>
  makeZip([
    { name: 'index.js', data: 'exports.handler = () => 1;' },
    { name: 'lib/', directory: true },
    { name: 'lib/a.js', data: 'a'.repeat(5000), mode: 0o100700 },
  ]);

test('a package normalized on a worker is the one normalized on this thread', async () => {
  await withWorkers(1, async (workers) => {
    const zip = await upload();
    const normalized = await workers.normalize(zip, limits);
    assert.ok(Buffer.isBuffer(normalized.zip));
    assert.deepEqual(normalized, await normalizeCodePackage(zip, limits));
  });
});

test('refusals cross the thread boundary as the catalog errors they are, details and all', async () => {
  await withWorkers(1, async (workers) => {
    const cases: [Buffer, CodeLimits][] = [
      [await traversalZip(), limits],
      [await upload(), { ...limits, entries: 2 }],
      [Buffer.from('not a zip'), limits],
    ];
    for (const [zip, given] of cases) {
      const here = await normalizeCodePackage(zip, given).catch((error: unknown) => error as SluiceError);
      assert.ok(here instanceof SluiceError);
      await assert.rejects(workers.normalize(zip, given), (error: unknown) => {
        assert.ok(error instanceof SluiceError, String(error));
        assert.deepEqual(
          { code: error.code, status: error.status, message: error.message, details: error.details },
          { code: here.code, status: here.status, message: here.message, details: here.details },
        );
        return true;
      });
    }
  });
});

test('other errors cross with their message', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-workers-test-'));
  try {
    await writeFile(path.join(dir, 'planted'), 'x');
    await withWorkers(1, async (workers) => {
      await assert.rejects(workers.extract(await canonicalZip([]), dir), /it is not empty/);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('no more jobs run at once than there are workers; the others wait their turn', async () => {
  await withWorkers(2, async (workers) => {
    const zip = await upload();
    const jobs = Array.from({ length: 5 }, () => workers.normalize(zip, limits));
    assert.deepEqual(workers.stats(), { running: 2, pending: 3, free: 0 });
    const results = await Promise.all(jobs);
    assert.equal(new Set(results.map((r) => r.sha256)).size, 1);
    assert.deepEqual(workers.stats(), { running: 0, pending: 0, free: 2 });
  });
});

test('close() lets the jobs given finish and refuses new ones; destroy() fails them', async () => {
  const zip = await upload();
  const closing = new ZipWorkers(1);
  const given = [closing.normalize(zip, limits), closing.normalize(zip, limits)];
  await closing.close();
  assert.equal((await Promise.all(given)).length, 2);
  await assert.rejects(closing.normalize(zip, limits), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, 'ServiceUnavailable');
    return true;
  });

  const destroyed = new ZipWorkers(1);
  const failing = [destroyed.normalize(zip, limits), destroyed.normalize(zip, limits)].map((job) =>
    assert.rejects(job, /shutting down/),
  );
  await destroyed.destroy();
  await Promise.all(failing);
});

test('idle workers do not keep the process alive', async () => {
  const script = `
    import { ZipWorkers } from ${JSON.stringify(new URL('./zip-workers.js', import.meta.url).href)};
    import { canonicalZip } from ${JSON.stringify(new URL('../contract/canonical-zip.js', import.meta.url).href)};
    const workers = new ZipWorkers(2);
    const zip = await canonicalZip([{ path: 'a.js', data: Buffer.from('a'), executable: false }]);
    await Promise.all([workers.normalize(zip, ${JSON.stringify(limits)}), workers.normalize(zip, ${JSON.stringify(limits)})]);
    process.stdout.write('normalized');
  `;
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ['--input-type=module', '--eval', script], {
    timeout: 20_000,
  });
  assert.equal(stdout, 'normalized');
});
