import zlib from 'node:zlib';
import yauzl from 'yauzl';
import {
  checkCodeEntries,
  codeTooLargeError,
  formatMB,
  type CodeEntry,
  type CodeLimits,
} from '../core/code-package.js';
import { isSluiceError, SluiceError } from '../core/errors.js';
import type { FileData } from '../contract/canonical-zip.js';

/** A file of a code package, not yet inflated. */
export interface PackageFile {
  path: string;
  executable: boolean;
  entry: yauzl.Entry;
}

/** A code package whose central directory has been read and checked; its files are inflated one at a time. */
export interface CodeZip {
  /** The files in the zip's order; directories are implied by their paths. */
  files: PackageFile[];
  /** A file's bytes, exactly as many as its header declares; a large file comes as chunks, inflated as read. */
  read(file: PackageFile): Promise<FileData>;
}

const TYPE_MASK = 0o170000;
const SYMLINK = 0o120000;
const DIRECTORY = 0o040000;
const REGULAR = 0o100000;
const STORED = 0;
const DEFLATED = 8;

/**
 * Up to this size a file is inflated at once (bounded by its declared size); beyond, chunk by chunk. Most files
 * of a package are small, and a round trip to zlib's thread pool would cost each of them far more than its
 * inflation does.
 */
const WHOLE_FILE_BYTES = 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;

/** Opens a code package, refusing it before inflating anything if its central directory is unsafe or too large. */
export async function openCodeZip(zip: Buffer, limits: CodeLimits): Promise<CodeZip> {
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
    const described = await readEntries(zipfile, limits);
    checkCodeEntries(
      described.map(({ entry }) => entry),
      limits,
    );
    const files = described
      .filter(({ entry }) => entry.kind === 'file')
      .map(({ entry, mode, raw }) => ({ path: entry.path, executable: (mode & 0o111) !== 0, entry: raw }));
    return { files, read: (file) => readFile(zipfile, zip, file) };
  } catch (error) {
    throw packageError(error);
  }
}

interface DescribedEntry {
  entry: CodeEntry;
  mode: number;
  raw: yauzl.Entry;
}

async function readEntries(zipfile: yauzl.ZipFile, limits: CodeLimits): Promise<DescribedEntry[]> {
  const entries: DescribedEntry[] = [];
  for await (const raw of zipfile.eachEntry()) {
    entries.push(describe(raw));
    // One past the limit is enough for checkCodeEntries to refuse; reading the rest would only cost memory.
    if (entries.length > limits.entries) break;
  }
  return entries;
}

function describe(raw: yauzl.Entry): DescribedEntry {
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

/**
 * The sizes that the headers declare were held to the limits before anything was inflated; holding every file
 * to its declared size while inflating it holds the package to them too, whatever the zip claims.
 */
async function readFile(zipfile: yauzl.ZipFile, zip: Buffer, file: PackageFile): Promise<FileData> {
  const { entry } = file;
  try {
    if (entry.isEncrypted()) throw new Error(`entry '${file.path}' is encrypted`);
    const { fileDataStart } = await zipfile.readLocalFileHeaderPromise(entry, { minimal: true });
    const data = zip.subarray(fileDataStart, fileDataStart + entry.compressedSize);
    // yauzl has checked that a stored entry's two sizes agree.
    if (entry.compressionMethod === STORED) return data;
    if (entry.compressionMethod !== DEFLATED) {
      throw new Error(`entry '${file.path}' uses compression method ${entry.compressionMethod}, not deflate`);
    }
    if (entry.uncompressedSize <= WHOLE_FILE_BYTES) return inflateWhole(data, file);
    return inflateChunks(data, file);
  } catch (error) {
    throw packageError(error);
  }
}

function inflateWhole(data: Buffer, file: PackageFile): Buffer {
  const declared = file.entry.uncompressedSize;
  let inflated: Buffer;
  try {
    // One byte more than declared is enough to tell a lie, and stops a bomb there.
    inflated = zlib.inflateRawSync(data, { maxOutputLength: declared + 1 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw sizeLie(file);
    throw error;
  }
  if (inflated.length !== declared) throw sizeLie(file);
  return inflated;
}

async function* inflateChunks(data: Buffer, file: PackageFile): AsyncGenerator<Buffer> {
  const declared = file.entry.uncompressedSize;
  const inflater = zlib.createInflateRaw({ chunkSize: CHUNK_BYTES });
  inflater.end(data);
  let size = 0;
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > declared) throw sizeLie(file);
      yield chunk;
    }
  } catch (error) {
    throw packageError(error);
  }
  if (size !== declared) throw sizeLie(file);
}

function sizeLie(file: PackageFile): SluiceError {
  return invalid(
    `entry '${file.path}' does not unzip to the ${file.entry.uncompressedSize} bytes its header declares`,
  );
}

/** Whatever yauzl or zlib found wrong is the package's fault, and said so in the catalog's terms. */
function packageError(error: unknown): SluiceError {
  if (isSluiceError(error)) return error;
  return invalid(
    `the code package is not a valid zip file: ${error instanceof Error ? error.message : String(error)}`,
  );
}

function invalid(message: string): SluiceError {
  return new SluiceError('InvalidCodePackage', message, [{ path: 'code', message }]);
}
