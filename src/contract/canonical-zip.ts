import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { codeTooLargeError } from '../core/code-package.js';

/**
 * A file's bytes: whole, or as chunks that are never all in memory at once (a large entry being inflated).
 * Both give the same zip bytes: deflate's output does not depend on how its input is cut.
 */
export type FileData = Buffer | AsyncIterable<Buffer>;

/** A file of a code package; directories are implied by the paths of the files. */
export interface CodeFile {
  path: string;
  data: Buffer;
  executable: boolean;
}

/**
 * Builds the one zip that stands for a set of files: same files, same bytes, whatever zip they came from. The
 * server stores code by the digest of this zip and the CLI makes it too, to upload only code that changed.
 */
export async function canonicalZip(files: readonly CodeFile[]): Promise<Buffer> {
  const writer = new CanonicalZipWriter();
  for (const file of [...files].sort(byPath)) await writer.add(file.path, file.executable, file.data);
  return writer.finish();
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Byte order of the UTF-8 names, which is not the UTF-16 order that comparing strings gives. */
export function byPath(a: { path: string }, b: { path: string }): number {
  return Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));
}

// The bytes that yazl wrote for a buffer added with { mtime: local 1980-01-01 00:00, forceDosTimestamp: true,
// compress: true }, which every stored code package was made of: the canonical zip must stay that zip, since
// stored code is addressed by the digest of its bytes.
const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** Unix, version 6.3 of the specification. */
const VERSION_MADE_BY = (3 << 8) | 63;
const VERSION_NEEDED = 20;
const UTF8_NAMES = 1 << 11;
const DEFLATE = 8;
const DOS_TIME = 0;
/** 1980-01-01: day 1, month 1, year 0 of the DOS calendar. */
const DOS_DATE = 1 | (1 << 5);
const DEFLATE_LEVEL = 6;
/** Past these, the zip would need ZIP64 records, which no code package within the limits comes near. */
const MAX_ENTRIES = 0xfffe;
const MAX_OFFSET = 0xfffffffe;

/**
 * Writes the canonical zip, one file at a time, in the order added (the caller sorts); paths are taken as they
 * are, so they must be ones `checkCodeEntries` accepts. Each file is deflated as it is added, one after
 * another, so that only one file's compressor exists at a time however many files there are.
 */
export class CanonicalZipWriter {
  private readonly parts: Buffer[] = [];
  private readonly central: Buffer[] = [];
  private offset = 0;

  async add(path: string, executable: boolean, data: FileData): Promise<void> {
    if (this.central.length >= MAX_ENTRIES) throw tooLarge();
    const name = Buffer.from(path);
    const { crc, size, compressed } = Buffer.isBuffer(data) ? deflateWhole(data) : await deflateChunks(data);
    const compressedSize = compressed.reduce((sum, chunk) => sum + chunk.length, 0);
    if (size > MAX_OFFSET || compressedSize > MAX_OFFSET || this.offset > MAX_OFFSET) throw tooLarge();

    const entry = { crc, compressedSize, size, nameLength: name.length };

    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    writeEntryFields(local, 4, entry);
    // Extra field length (28-29) stays zero.

    const record = Buffer.alloc(46);
    record.writeUInt32LE(CENTRAL_HEADER, 0);
    record.writeUInt16LE(VERSION_MADE_BY, 4);
    writeEntryFields(record, 6, entry);
    // Extra field, comment, disk number and internal attributes (30-37) stay zero.
    record.writeUInt32LE(((executable ? 0o100755 : 0o100644) << 16) >>> 0, 38);
    record.writeUInt32LE(this.offset, 42);

    this.parts.push(local, name, ...compressed);
    this.central.push(record, name);
    this.offset += local.length + name.length + compressedSize;
  }

  /** The whole zip, in a buffer of its own (not a slice of a pool), so that it can be moved between threads. */
  finish(): Buffer {
    const directorySize = this.central.reduce((sum, part) => sum + part.length, 0);
    if (this.offset + directorySize > MAX_OFFSET) throw tooLarge();
    const end = Buffer.alloc(22);
    end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
    // Disk numbers (4-7) stay zero.
    end.writeUInt16LE(this.central.length / 2, 8);
    end.writeUInt16LE(this.central.length / 2, 10);
    end.writeUInt32LE(directorySize, 12);
    end.writeUInt32LE(this.offset, 16);
    end.writeUInt16LE(0, 20);
    const all = [...this.parts, ...this.central, end];
    const zip = Buffer.allocUnsafeSlow(this.offset + directorySize + end.length);
    let at = 0;
    for (const part of all) at += part.copy(zip, at);
    return zip;
  }
}

/**
 * The fields that a file's local header and its central directory record share, in the same order in both:
 * from the version needed to extract to the length of the name (24 bytes from `at`).
 */
function writeEntryFields(
  header: Buffer,
  at: number,
  entry: { crc: number; compressedSize: number; size: number; nameLength: number },
): void {
  header.writeUInt16LE(VERSION_NEEDED, at);
  header.writeUInt16LE(UTF8_NAMES, at + 2);
  header.writeUInt16LE(DEFLATE, at + 4);
  header.writeUInt16LE(DOS_TIME, at + 6);
  header.writeUInt16LE(DOS_DATE, at + 8);
  header.writeUInt32LE(entry.crc, at + 10);
  header.writeUInt32LE(entry.compressedSize, at + 14);
  header.writeUInt32LE(entry.size, at + 18);
  header.writeUInt16LE(entry.nameLength, at + 22);
}

interface Deflated {
  crc: number;
  size: number;
  compressed: Buffer[];
}

/**
 * A file whole in memory is deflated at once: for the many small files of a package, a round trip to zlib's
 * thread pool each would cost far more than deflating them.
 */
function deflateWhole(data: Buffer): Deflated {
  return {
    crc: zlib.crc32(data),
    size: data.length,
    compressed: [zlib.deflateRawSync(data, { level: DEFLATE_LEVEL })],
  };
}

/** Chunk by chunk, so that a large file is never whole in memory: only its compressed bytes are kept. */
async function deflateChunks(chunks: AsyncIterable<Buffer>): Promise<Deflated> {
  const deflated: Deflated = { crc: 0, size: 0, compressed: [] };
  await pipeline(
    chunks,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        deflated.crc = zlib.crc32(chunk, deflated.crc);
        deflated.size += chunk.length;
        yield chunk;
      }
    },
    zlib.createDeflateRaw({ level: DEFLATE_LEVEL, chunkSize: 256 * 1024 }),
    async (output: AsyncIterable<Buffer>) => {
      for await (const chunk of output) deflated.compressed.push(chunk);
    },
  );
  return deflated;
}

function tooLarge(): Error {
  return codeTooLargeError(
    'the code package is too large to zip: more than 65,534 files or 4 GB would need ZIP64 records',
  );
}
