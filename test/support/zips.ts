import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import yazl from 'yazl';

export interface ZipItem {
  name: string;
  data?: string | Buffer;
  mode?: number;
  directory?: boolean;
}

export interface ZipOptions {
  mtime?: Date;
  compress?: boolean;
  forceDosTimestamp?: boolean;
}

/** A zip as other tools make it: any order, any timestamps, any modes (symlinks included). */
export async function makeZip(items: readonly ZipItem[], options: ZipOptions = {}): Promise<Buffer> {
  const zipfile = new yazl.ZipFile();
  const { mtime = new Date(), compress = true, forceDosTimestamp = false } = options;
  for (const item of items) {
    if (item.directory) {
      zipfile.addEmptyDirectory(item.name, { mtime, forceDosTimestamp, mode: item.mode ?? 0o40755 });
    } else {
      const data = Buffer.from(item.data ?? '');
      zipfile.addBuffer(data, item.name, { mtime, compress, forceDosTimestamp, mode: item.mode ?? 0o100644 });
    }
  }
  zipfile.end();
  return buffer(zipfile.outputStream);
}

/** yazl refuses unsafe names, so a hostile zip is made by rewriting a safe name of the same length in place. */
export function patchBytes(zip: Buffer, from: string, to: string | Buffer): Buffer {
  const [search, replacement] = [Buffer.from(from), Buffer.from(to)];
  assert.equal(search.length, replacement.length);
  const patched = Buffer.from(zip);
  let count = 0;
  for (let at = patched.indexOf(search); at !== -1; at = patched.indexOf(search, at + 1)) {
    replacement.copy(patched, at);
    count++;
  }
  assert.equal(count, 2, 'the name appears once in the local header and once in the central directory');
  return patched;
}

/** A zip whose one entry escapes the package through `..`. */
export async function traversalZip(): Promise<Buffer> {
  return patchBytes(await makeZip([{ name: 'aa/evil.js', data: 'x' }]), 'aa/evil.js', '../evil.js');
}

/** A zip holding a symbolic link to /etc/passwd. */
export function symlinkZip(): Promise<Buffer> {
  return makeZip([
    { name: 'index.js', data: 'module.exports.handler = () => 1;' },
    { name: 'passwd', data: '/etc/passwd', mode: 0o120777 },
  ]);
}
