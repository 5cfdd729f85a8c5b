import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yauzl from 'yauzl';
import { makeZip, patchBytes, type ZipItem } from '../../test/support/zips.js';
import { DEFAULT_CODE_LIMITS, type CodeLimits } from '../core/code-package.js';
import { SluiceError } from '../core/errors.js';
import { canonicalZip, sha256Hex, type CodeFile } from '../contract/canonical-zip.js';
import { extractCodeZip, normalizeCodePackage, readCodeZip } from './zip.js';

/** Rewrites the uncompressed size that the local header and the central directory claim for the one entry. */
function lieAboutSize(zip: Buffer, size: number): Buffer {
  const patched = Buffer.from(zip);
  patched.writeUInt32LE(size, 22);
  const central = patched.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  patched.writeUInt32LE(size, central + 24);
  return patched;
}

function refusal(code: SluiceError['code'], message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SluiceError, String(error));
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  };
}

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sluice-zip-test-'));
  try {
    await run(dir);
  } finally {
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

/** An extracted tree is read-only, which would stop a non-root user from removing it. */
async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(path.join(dir, entry.name));
  }
}

const limits: CodeLimits = { zipBytes: 1024 * 1024, unzippedBytes: 1024 * 1024, entries: 100 };

const sampleFiles: CodeFile[] = [
  { path: 'index.js', data: Buffer.from('export const handler = () => 1;\n'), executable: false },
  { path: 'bin/run', data: Buffer.from('#!/bin/sh\necho hi\n'), executable: true },
  { path: 'lib/日本語.js', data: Buffer.from('// unicode\n'), executable: false },
  { path: 'empty.txt', data: Buffer.alloc(0), executable: false },
];

const sortedSample = [...sampleFiles].sort((a, b) => (a.path < b.path ? -1 : 1));

test('canonicalZip and readCodeZip round-trip files, sorted by path', async () => {
  const files = await readCodeZip(await canonicalZip(sampleFiles), limits);
  assert.deepEqual(files, sortedSample);
});

test('readCodeZip drops directory entries and reads the executable bit from the mode', async () => {
  const zip = await makeZip([
    { name: 'lib/', directory: true },
    { name: 'lib/a.js', data: 'a' },
    { name: 'run.sh', data: 'echo', mode: 0o100750 },
    { name: 'plain', data: 'p', mode: 0 },
  ]);
  assert.deepEqual(await readCodeZip(zip, limits), [
    { path: 'lib/a.js', data: Buffer.from('a'), executable: false },
    { path: 'plain', data: Buffer.from('p'), executable: false },
    { path: 'run.sh', data: Buffer.from('echo'), executable: true },
  ]);
});

test('the canonical zip has sorted names, a fixed timestamp, fixed modes, compression and nothing else', async () => {
  const names = ['😀.js', 'a.js', 'ﬀ.js', 'B.js', 'é.js'];
  const zip = await canonicalZip(
    names.map((name, i) => ({ path: name, data: Buffer.from(name), executable: i === 1 })),
  );
  const zipfile = await yauzl.fromBufferPromise(zip, { lazyEntries: true });
  const seen = [];
  for await (const entry of zipfile.eachEntry()) {
    seen.push(entry.fileName);
    assert.equal(entry.lastModFileDate, (1 << 5) | 1, '1980-01-01');
    assert.equal(entry.lastModFileTime, 0);
    assert.equal(entry.externalFileAttributes >>> 16, entry.fileName === 'a.js' ? 0o100755 : 0o100644);
    assert.equal(entry.compressionMethod, 8);
    assert.equal(entry.extraFieldLength, 0);
    assert.equal(entry.fileCommentLength, 0);
  }
  // UTF-8 byte order: U+FB00 sorts before U+1F600, though its UTF-16 code unit is the larger.
  assert.deepEqual(seen, ['B.js', 'a.js', 'é.js', 'ﬀ.js', '😀.js']);
  assert.equal(zipfile.comment, '');
});

test('the same files in a different order, with other timestamps and options, normalize to the same bytes', async () => {
  const items: ZipItem[] = [
    { name: 'lib/', directory: true },
    { name: 'lib/a.js', data: 'a'.repeat(1000) },
    { name: 'index.js', data: 'index' },
    { name: 'bin/run', data: 'run', mode: 0o100700 },
  ];
  const first = await makeZip(items, { mtime: new Date('2001-02-03T04:05:06Z') });
  const second = await makeZip(
    [...items].reverse().filter((item) => !item.directory),
    {
      mtime: new Date('2024-12-31T23:59:58Z'),
      compress: false,
      forceDosTimestamp: true,
    },
  );
  assert.notDeepEqual(first, second);
  const [a, b] = await Promise.all([
    normalizeCodePackage(first, limits),
    normalizeCodePackage(second, limits),
  ]);
  assert.equal(a.sha256, b.sha256);
  assert.deepEqual(a.zip, b.zip);
  assert.deepEqual(a, { zip: a.zip, sha256: sha256Hex(a.zip), size: a.zip.length, files: 3 });
  assert.deepEqual(await normalizeCodePackage(a.zip, limits), a, 'a canonical zip is its own normal form');
});

test('the canonical zip is the same in every time zone', async () => {
  const script = `
    import { canonicalZip, sha256Hex } from ${JSON.stringify(new URL('../contract/canonical-zip.js', import.meta.url).href)};
    const zip = await canonicalZip([{ path: 'a.js', data: Buffer.from('a'), executable: false }]);
    process.stdout.write(sha256Hex(zip));
  `;
  const digests = await Promise.all(
    ['UTC', 'America/Los_Angeles', 'Asia/Tokyo', 'Pacific/Kiritimati'].map(async (zone) => {
      const run = promisify(execFile);
      const args = ['--input-type=module', '--eval', script];
      const { stdout } = await run(process.execPath, args, { env: { ...process.env, TZ: zone } });
      return stdout;
    }),
  );
  assert.equal(new Set(digests).size, 1, digests.join(' '));
  const here = await canonicalZip([{ path: 'a.js', data: Buffer.from('a'), executable: false }]);
  assert.equal(digests[0], sha256Hex(here));
});

const hostileNames: [string, string, RegExp][] = [
  ['aa/evil.js', '../evil.js', /entry '\.\.\/evil\.js' .*'\.\.' segment/],
  ['xevil.js', '/evil.js', /entry '\/evil\.js' has an absolute path/],
  ['xx/evil.js', 'C:/evil.js', /absolute path/],
  ['a/b/evil.js', 'a\\b\\evil.js', /backslash/],
  ['a/bb/c.js', 'a/../c.js', /'\.\.' segment/],
  ['ab.js', 'a\u0000.js', /control character/],
];
for (const [safe, hostile, message] of hostileNames) {
  test(`readCodeZip refuses an entry named ${JSON.stringify(hostile)}`, async () => {
    const zip = patchBytes(
      await makeZip([
        { name: 'ok.js', data: 'ok' },
        { name: safe, data: 'evil' },
      ]),
      safe,
      hostile,
    );
    await assert.rejects(readCodeZip(zip, limits), refusal('InvalidCodePackage', message));
  });
}

test('readCodeZip refuses an entry name that is not UTF-8', async () => {
  const zip = patchBytes(
    await makeZip([{ name: 'ab.js', data: 'x' }]),
    'ab.js',
    Buffer.from([0xff, 0xfe, 0x2e, 0x6a, 0x73]),
  );
  await assert.rejects(readCodeZip(zip, limits), refusal('InvalidCodePackage', /not valid UTF-8/));
});

test('readCodeZip refuses a symbolic link', async () => {
  const zip = await makeZip([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]);
  await assert.rejects(
    readCodeZip(zip, limits),
    refusal('InvalidCodePackage', /entry 'link' is a symbolic link/),
  );
});

test('readCodeZip refuses a special file', async () => {
  const zip = await makeZip([{ name: 'fifo', data: '', mode: 0o010644 }]);
  await assert.rejects(
    readCodeZip(zip, limits),
    refusal('InvalidCodePackage', /neither a file nor a directory/),
  );
});

test('readCodeZip refuses duplicate entries', async () => {
  const zip = await makeZip([
    { name: 'a.js', data: '1' },
    { name: 'a.js', data: '2' },
  ]);
  await assert.rejects(
    readCodeZip(zip, limits),
    refusal('InvalidCodePackage', /'a\.js' appears more than once/),
  );
});

const notZips: [string, () => Promise<Buffer>][] = [
  ['text', () => Promise.resolve(Buffer.from('this is not a zip file at all'))],
  ['an empty buffer', () => Promise.resolve(Buffer.alloc(0))],
  ['a truncated zip', async () => (await canonicalZip(sampleFiles)).subarray(0, 60)],
  [
    'a zip with corrupt compressed data',
    async () => {
      const zip = await makeZip([{ name: 'a.js', data: 'hello '.repeat(100) }], { forceDosTimestamp: true });
      const corrupt = Buffer.from(zip);
      corrupt.fill(0xff, 30 + 'a.js'.length, 30 + 'a.js'.length + 4);
      return corrupt;
    },
  ],
];
for (const [what, make] of notZips) {
  test(`readCodeZip refuses ${what} as not a valid zip`, async () => {
    await assert.rejects(
      readCodeZip(await make(), limits),
      refusal('InvalidCodePackage', /^the code package is not a valid zip file: ./),
    );
  });
}

test('readCodeZip refuses a zip larger than zipBytes', async () => {
  const zip = await canonicalZip(sampleFiles);
  await assert.rejects(
    readCodeZip(zip, { ...limits, zipBytes: zip.length - 1 }),
    refusal('CodeTooLarge', /larger than the limit/),
  );
  assert.equal((await readCodeZip(zip, { ...limits, zipBytes: zip.length })).length, sampleFiles.length);
});

test('readCodeZip refuses a zip bomb', async () => {
  const zip = await makeZip([{ name: 'zeros.bin', data: Buffer.alloc(10 * 1024 * 1024) }]);
  assert.ok(zip.length < 100 * 1024);
  await assert.rejects(
    readCodeZip(zip, limits),
    refusal('CodeTooLarge', /unzips to more than the limit of 1 MB/),
  );
});

test('readCodeZip refuses a zip bomb whose headers understate its size', async () => {
  const zip = lieAboutSize(await makeZip([{ name: 'zeros.bin', data: Buffer.alloc(10 * 1024 * 1024) }]), 100);
  await assert.rejects(readCodeZip(zip, limits), (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.ok(['CodeTooLarge', 'InvalidCodePackage'].includes(error.code), error.message);
    return true;
  });
});

const sizeLies: [string, number, number][] = [
  ['a small file that unzips to more than declared', 100, 200],
  ['a small file that unzips to less than declared', 200, 100],
  ['a large file that unzips to more than declared', 1_500_000, 3_000_000],
  ['a large file that unzips to less than declared', 3_000_001, 3_000_000],
];
for (const [what, declared, actual] of sizeLies) {
  test(`normalizeCodePackage refuses ${what}`, async () => {
    const zip = lieAboutSize(await makeZip([{ name: 'a.bin', data: Buffer.alloc(actual, 'a') }]), declared);
    const roomy = { ...limits, unzippedBytes: 10 * 1024 * 1024 };
    await assert.rejects(
      normalizeCodePackage(zip, roomy),
      refusal('InvalidCodePackage', new RegExp(`'a\\.bin' does not unzip to the ${declared} bytes`)),
    );
  });
}

test('readCodeZip refuses more entries than the limit', async () => {
  const zip = await makeZip(Array.from({ length: 4 }, (_, i) => ({ name: `f${i}.js`, data: 'x' })));
  await assert.rejects(
    readCodeZip(zip, { ...limits, entries: 3 }),
    refusal('CodeTooLarge', /limit of 3 entries/),
  );
  assert.equal((await readCodeZip(zip, { ...limits, entries: 4 })).length, 4);
});

async function modeOf(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

test('extractCodeZip writes a read-only tree inside the directory only', async () => {
  await withTempDir(async (parent) => {
    const out = path.join(parent, 'out');
    await mkdir(out);
    await extractCodeZip(await canonicalZip(sampleFiles), out);
    for (const file of sampleFiles) {
      assert.deepEqual(await readFile(path.join(out, file.path)), file.data);
      assert.equal(await modeOf(path.join(out, file.path)), file.executable ? 0o555 : 0o444);
    }
    assert.equal(await modeOf(path.join(out, 'bin')), 0o555);
    assert.equal(await modeOf(path.join(out, 'lib')), 0o555);
    assert.deepEqual((await readdir(out)).sort(), ['bin', 'empty.txt', 'index.js', 'lib']);
    assert.deepEqual(await readdir(parent), ['out']);
  });
});

test('extractCodeZip writes a file larger than is inflated at once, and counts the bytes it wrote', async () => {
  await withTempDir(async (parent) => {
    const out = path.join(parent, 'out');
    await mkdir(out);
    const big = Buffer.concat([Buffer.alloc(3 * 1024 * 1024, 'x'), Buffer.from('end')]);
    const files: CodeFile[] = [...sampleFiles, { path: 'lib/big.bin', data: big, executable: false }];
    const written = await extractCodeZip(await canonicalZip(files), out);
    assert.deepEqual(await readFile(path.join(out, 'lib/big.bin')), big);
    assert.equal(
      written,
      files.reduce((sum, file) => sum + file.data.length, 0),
    );
  });
});

test('extractCodeZip refuses a hostile zip and writes nothing', async () => {
  await withTempDir(async (parent) => {
    const out = path.join(parent, 'out');
    await mkdir(out);
    const zip = patchBytes(
      await makeZip([
        { name: 'ok.js', data: 'ok' },
        { name: 'aa/evil.js', data: 'evil' },
      ]),
      'aa/evil.js',
      '../evil.js',
    );
    await assert.rejects(extractCodeZip(zip, out), refusal('InvalidCodePackage', /'\.\.' segment/));
    assert.deepEqual(await readdir(out), []);
    assert.deepEqual(await readdir(parent), ['out']);
  });
});

test('extractCodeZip refuses a directory that is not empty', async () => {
  await withTempDir(async (dir) => {
    await writeFile(path.join(dir, 'index.js'), 'old');
    await assert.rejects(extractCodeZip(await canonicalZip(sampleFiles), dir), /not empty/);
    assert.equal(await readFile(path.join(dir, 'index.js'), 'utf8'), 'old');
  });
});

test('extractCodeZip applies the default limits', async () => {
  await withTempDir(async (dir) => {
    const declared = DEFAULT_CODE_LIMITS.unzippedBytes + 1;
    const zip = lieAboutSize(await makeZip([{ name: 'a.js', data: 'a' }]), declared);
    await assert.rejects(extractCodeZip(zip, dir), refusal('CodeTooLarge', /limit of 250 MB/));
    assert.deepEqual(await readdir(dir), []);
  });
});

test('extractCodeZip takes stored code larger than the default upload limit (a server may raise it)', async () => {
  await withTempDir(async (dir) => {
    const big = randomBytes(DEFAULT_CODE_LIMITS.zipBytes + 1024 * 1024);
    const zip = await canonicalZip([{ path: 'big.bin', data: big, executable: false }]);
    assert.ok(zip.length > DEFAULT_CODE_LIMITS.zipBytes);
    assert.equal(await extractCodeZip(zip, dir), big.length);
  });
});
