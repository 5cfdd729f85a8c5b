import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CODE_LIMITS, type CodeLimits } from '../core/code-package.js';
import { SluiceError } from '../core/errors.js';
import {
  byPath,
  CanonicalZipWriter,
  sha256Hex,
  type CodeFile,
  type FileData,
} from '../contract/canonical-zip.js';
import { openCodeZip } from './zip-reader.js';

export interface NormalizedCode {
  zip: Buffer;
  sha256: string;
  size: number;
  files: number;
}

/** Reads a code package into memory, refusing it before inflating anything if its central directory is unsafe. */
export async function readCodeZip(zip: Buffer, limits: CodeLimits): Promise<CodeFile[]> {
  const pkg = await openCodeZip(zip, limits);
  const files: CodeFile[] = [];
  for (const file of pkg.files) {
    files.push({ path: file.path, data: await whole(await pkg.read(file)), executable: file.executable });
  }
  return files.sort(byPath);
}

/**
 * The canonical zip of an uploaded package, made a file at a time: at no point is the whole package unzipped
 * in memory, only the file being copied. It keeps the thread busy for as long as it takes; the server runs it
 * on its zip workers.
 */
export async function normalizeCodePackage(zip: Buffer, limits: CodeLimits): Promise<NormalizedCode> {
  const pkg = await openCodeZip(zip, limits);
  const writer = new CanonicalZipWriter();
  for (const file of [...pkg.files].sort(byPath)) {
    await writer.add(file.path, file.executable, await pkg.read(file));
  }
  const canonical = writer.finish();
  return { zip: canonical, sha256: sha256Hex(canonical), size: canonical.length, files: pkg.files.length };
}

/**
 * Extracts a code package into an existing empty directory as a read-only tree, a file at a time, and gives the
 * number of bytes written. A package found corrupt part-way leaves what was written before; extract into a
 * directory of your own and remove it on failure. The writes are synchronous: this runs on a zip worker, where
 * ten thousand small files would otherwise cost tens of thousands of round trips to the thread pool.
 */
export async function extractCodeZip(zip: Buffer, dir: string): Promise<number> {
  // Stored code passed the limits of the server it was uploaded to, whose --max-code-size may be larger than
  // the default: the zip's size is no reason to refuse it now. What it unzips to still is.
  const pkg = await openCodeZip(zip, { ...DEFAULT_CODE_LIMITS, zipBytes: Number.MAX_SAFE_INTEGER });
  const root = path.resolve(dir);
  // Extracting over existing content could follow a link planted there.
  if (readdirSync(root).length > 0) {
    throw new Error(`cannot extract a code package into ${dir}: it is not empty`);
  }
  const directories = new Set<string>();
  let written = 0;
  for (const file of pkg.files) {
    const target = path.resolve(root, file.path);
    // The entry checks already rule this out; a write outside the tree is too costly to rest on them alone.
    if (!target.startsWith(root + path.sep)) {
      throw invalid(`entry '${file.path}' would be extracted outside ${dir}`);
    }
    for (let parent = path.dirname(target); parent !== root; parent = path.dirname(parent)) {
      directories.add(parent);
    }
    mkdirSync(path.dirname(target), { recursive: true });
    written += await writeNewFile(target, await pkg.read(file));
    // chmod rather than a create mode, which the umask would alter.
    chmodSync(target, file.executable ? 0o555 : 0o444);
  }
  for (const directory of directories) chmodSync(directory, 0o555);
  return written;
}

async function writeNewFile(target: string, data: FileData): Promise<number> {
  const fd = openSync(target, 'wx');
  try {
    if (Buffer.isBuffer(data)) return writeAll(fd, data);
    let written = 0;
    for await (const chunk of data) written += writeAll(fd, chunk);
    return written;
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, data: Buffer): number {
  for (let at = 0; at < data.length;) at += writeSync(fd, data, at);
  return data.length;
}

async function whole(data: FileData): Promise<Buffer> {
  if (Buffer.isBuffer(data)) return data;
  const chunks: Buffer[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function invalid(message: string): SluiceError {
  return new SluiceError('InvalidCodePackage', message, [{ path: 'code', message }]);
}
