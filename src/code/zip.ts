import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { buffer } from 'node:stream/consumers';
import yauzl from 'yauzl';
import yazl from 'yazl';
import {
  checkCodeEntries,
  codeTooLargeError,
  DEFAULT_CODE_LIMITS,
  formatMB,
  type CodeEntry,
  type CodeLimits,
} from '../core/code-package.js';
import { isSluiceError, SluiceError } from '../core/errors.js';

/** A file of a code package; directories are implied by the paths of the files. */
export interface CodeFile {
  path: string;
  data: Buffer;
  executable: boolean;
}

interface ZipEntry {
  entry: CodeEntry;
  mode: number;
  raw: yauzl.Entry;
}

const TYPE_MASK = 0o170000;
const SYMLINK = 0o120000;
const DIRECTORY = 0o040000;
const REGULAR = 0o100000;

/**
 * yazl writes the DOS timestamp in local time, so a fixed UTC instant would give different bytes on hosts in
 * different time zones; local midnight of 1980-01-01, the earliest DOS date, is written the same everywhere.
 * The DOS-only form leaves out the extra field that would record the (zone-dependent) UTC instant.
 */
const CANONICAL_ENTRY_OPTIONS = { mtime: new Date(1980, 0, 1), forceDosTimestamp: true, compress: true };

/** Reads a code package, refusing it before inflating anything if its central directory is unsafe or too large. */
export async function readCodeZip(zip: Buffer, limits: CodeLimits): Promise<CodeFile[]> {
  if (zip.length > limits.zipBytes) {
    throw codeTooLargeError(`the code package is larger than the limit of ${formatMB(limits.zipBytes)}`);
  }
  try {
    // Names stay undecoded so that the core check, not yauzl, judges and words a bad one.
    const options = {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      strictFileNames: false,
    };
    const zipfile = await yauzl.fromBufferPromise(zip, options);
    const entries = await readEntries(zipfile, limits);
    checkCodeEntries(
      entries.map((zipEntry) => zipEntry.entry),
      limits,
    );
    return await inflateFiles(zipfile, entries, limits);
  } catch (error) {
    if (isSluiceError(error)) throw error;
    throw invalid(
      `the code package is not a valid zip file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** Builds the one zip that stands for a set of files: same files, same bytes, whatever zip they came from. */
export async function canonicalZip(files: readonly CodeFile[]): Promise<Buffer> {
  const zipfile = new yazl.ZipFile();
  for (const file of [...files].sort(byPath)) {
    const mode = file.executable ? 0o100755 : 0o100644;
    zipfile.addBuffer(file.data, file.path, { ...CANONICAL_ENTRY_OPTIONS, mode });
  }
  zipfile.end();
  return buffer(zipfile.outputStream);
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function normalizeCodePackage(
  zip: Buffer,
  limits: CodeLimits,
): Promise<{ zip: Buffer; sha256: string; size: number; files: number }> {
  const files = await readCodeZip(zip, limits);
  const canonical = await canonicalZip(files);
  return { zip: canonical, sha256: sha256Hex(canonical), size: canonical.length, files: files.length };
}

/** Zips a directory tree the way its upload would be normalized, refusing what an upload would be refused for. */
export async function zipDirectory(dir: string, limits: CodeLimits): Promise<Buffer> {
  const found = await listTree(dir, '');
  checkCodeEntries(
    found.map(({ entry }) => entry),
    limits,
  );
  const files: CodeFile[] = [];
  // One at a time: thousands of files read at once would run out of file descriptors.
  for (const { entry, mode } of found) {
    files.push({
      path: entry.path,
      data: await readFile(path.join(dir, entry.path)),
      executable: isExecutable(mode),
    });
  }
  const zip = await canonicalZip(files);
  if (zip.length > limits.zipBytes) {
    throw codeTooLargeError(`the zipped directory is larger than the limit of ${formatMB(limits.zipBytes)}`);
  }
  return zip;
}

/** Extracts a code package into an existing empty directory as a read-only tree. */
export async function extractCodeZip(zip: Buffer, dir: string): Promise<void> {
  const files = await readCodeZip(zip, DEFAULT_CODE_LIMITS);
  const root = path.resolve(dir);
  // Extracting over existing content could follow a link planted there.
  if ((await readdir(root)).length > 0) {
    throw new Error(`cannot extract a code package into ${dir}: it is not empty`);
  }
  const directories = new Set<string>();
  for (const file of files) {
    const target = path.resolve(root, file.path);
    // The entry checks already rule this out; a write outside the tree is too costly to rest on them alone.
    if (!target.startsWith(root + path.sep)) {
      throw invalid(`entry '${file.path}' would be extracted outside ${dir}`);
    }
    for (let parent = path.dirname(target); parent !== root; parent = path.dirname(parent)) {
      directories.add(parent);
    }
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.data, { flag: 'wx' });
    // chmod rather than a create mode, which the umask would alter.
    await chmod(target, file.executable ? 0o555 : 0o444);
  }
  for (const directory of directories) await chmod(directory, 0o555);
}

async function readEntries(zipfile: yauzl.ZipFile, limits: CodeLimits): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  for await (const raw of zipfile.eachEntry()) {
    entries.push(describe(raw));
    // One past the limit is enough for checkCodeEntries to refuse; reading the rest would only cost memory.
    if (entries.length > limits.entries) break;
  }
  return entries;
}

function describe(raw: yauzl.Entry): ZipEntry {
  const name = decodeName(raw.fileNameRaw);
  const mode = raw.externalFileAttributes >>> 16;
  return { entry: { path: name, kind: kindOf(name, mode), size: raw.uncompressedSize }, mode, raw };
}

function decodeName(raw: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw invalid(`an entry name is not valid UTF-8: ${raw.toString('hex')}`);
  }
}

function kindOf(name: string, mode: number): CodeEntry['kind'] {
  const type = mode & TYPE_MASK;
  if (type === SYMLINK) return 'symlink';
  if (type === DIRECTORY || name.endsWith('/')) return 'directory';
  // Zips made on DOS or Windows carry no Unix mode at all.
  if (type === REGULAR || type === 0) return 'file';
  return 'other';
}

async function inflateFiles(
  zipfile: yauzl.ZipFile,
  entries: ZipEntry[],
  limits: CodeLimits,
): Promise<CodeFile[]> {
  const files: CodeFile[] = [];
  let remaining = limits.unzippedBytes;
  for (const { entry, mode, raw } of entries) {
    if (entry.kind !== 'file') continue;
    const data = await inflate(zipfile, raw, remaining, limits);
    remaining -= data.length;
    files.push({ path: entry.path, data, executable: isExecutable(mode) });
  }
  return files.sort(byPath);
}

/** Counts the bytes actually inflated, since the sizes in the headers are only the zip's own claim. */
async function inflate(
  zipfile: yauzl.ZipFile,
  raw: yauzl.Entry,
  allowance: number,
  limits: CodeLimits,
): Promise<Buffer> {
  const stream = await zipfile.openReadStreamPromise(raw);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > allowance) {
      throw codeTooLargeError(
        `the code package unzips to more than the limit of ${formatMB(limits.unzippedBytes)}`,
      );
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function listTree(root: string, relative: string): Promise<{ entry: CodeEntry; mode: number }[]> {
  const found: { entry: CodeEntry; mode: number }[] = [];
  for (const name of await readdir(path.join(root, relative))) {
    const entryPath = relative ? `${relative}/${name}` : name;
    const stats = await lstat(path.join(root, entryPath));
    if (stats.isDirectory()) {
      found.push(...(await listTree(root, entryPath)));
      continue;
    }
    const kind = stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : 'other';
    found.push({ entry: { path: entryPath, kind, size: stats.size }, mode: stats.mode });
  }
  return found;
}

function isExecutable(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

/** Byte order of the UTF-8 names, which is not the UTF-16 order that comparing strings gives. */
function byPath(a: { path: string }, b: { path: string }): number {
  return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
}

function invalid(message: string): SluiceError {
  return new SluiceError('InvalidCodePackage', message, [{ path: 'code', message }]);
}
