import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import yazl from 'yazl';
import { seeded } from '../../test/support/seeded.js';
import { makeZip } from '../../test/support/zips.js';
import { canonicalZip, CanonicalZipWriter, type CodeFile } from '../contract/canonical-zip.js';
import { normalizeCodePackage } from './zip.js';

// Stored code is addressed by the digest of its canonical zip, which yazl made until the writer replaced it:
// the same files must keep giving the same bytes, or code uploaded again would be stored twice and versions
// that did not change would look changed.

/** The canonical zip as it was made before CanonicalZipWriter: one yazl buffer entry per file. */
async function yazlCanonicalZip(files: readonly CodeFile[]): Promise<Buffer> {
  const zipfile = new yazl.ZipFile();
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  for (const file of sorted) {
    zipfile.addBuffer(file.data, file.path, {
      mtime: new Date(1980, 0, 1),
      forceDosTimestamp: true,
      compress: true,
      mode: file.executable ? 0o100755 : 0o100644,
    });
  }
  zipfile.end();
  return buffer(zipfile.outputStream);
}

const file = (path: string, data: string | Buffer, executable = false): CodeFile => ({
  path,
  data: Buffer.from(data),
  executable,
});

const MB = 1024 * 1024;

const packages: [string, () => CodeFile[]][] = [
  ['no files', () => []],
  ['an empty file', () => [file('empty.txt', '')]],
  [
    'names in several scripts, executable and not',
    () => [
      file('😀.js', 'a'),
      file('bin/run', '#!/bin/sh\n', true),
      file('lib/日本語.js', 'b'),
      file('B.js', 'c'),
    ],
  ],
  ['incompressible bytes', () => [file('random.bin', randomBytes(300 * 1024))]],
  [
    'files larger than the size inflated at once',
    () => [
      file('big.bin', Buffer.concat([randomBytes(MB), Buffer.alloc(3 * MB, 'sluice ')])),
      file('exactly-1mb.bin', Buffer.alloc(MB, 7)),
      file('small.js', 'small'),
    ],
  ],
  [
    '3,000 files',
    () =>
      Array.from({ length: 3000 }, (_, i) =>
        file(`d${i % 30}/f${i}.js`, `${i} `.repeat(i % 40), i % 7 === 0),
      ),
  ],
];

for (const [what, make] of packages) {
  test(`the canonical zip of ${what} has the bytes it always had`, async () => {
    const files = make();
    const expected = await yazlCanonicalZip(files);
    assert.deepEqual(await canonicalZip(files), expected, 'from the files');
    for (const compress of [true, false]) {
      const uploaded = await makeZip(
        files.map((f) => ({ name: f.path, data: f.data, mode: f.executable ? 0o100700 : 0o100600 })),
        { compress, mtime: new Date('2019-06-07T08:09:10Z') },
      );
      const normalized = await normalizeCodePackage(uploaded, {
        zipBytes: 64 * MB,
        unzippedBytes: 64 * MB,
        entries: 10_000,
      });
      assert.deepEqual(normalized.zip, expected, `from a zip ${compress ? 'deflated' : 'stored'} otherwise`);
    }
  });
}

test('a file given in chunks of any size gives the bytes of the file given whole', async () => {
  const data = Buffer.concat([randomBytes(200_000), Buffer.alloc(2 * MB, 'abc'), randomBytes(50_000)]);
  const whole = new CanonicalZipWriter();
  await whole.add('f.bin', false, data);
  const chunks: Buffer[] = [];
  const random = seeded(7);
  for (let at = 0; at < data.length;) {
    const size = 1 + Math.floor(random() * 100_000);
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  const chunked = new CanonicalZipWriter();
  await chunked.add('f.bin', false, Readable.from(chunks));
  assert.deepEqual(chunked.finish(), whole.finish());
});

test('the zip has a buffer of its own, which can be handed to another thread', async () => {
  const zip = await canonicalZip([file('a.js', 'a')]);
  assert.equal(zip.byteOffset, 0);
  assert.equal(zip.buffer.byteLength, zip.length);
});
