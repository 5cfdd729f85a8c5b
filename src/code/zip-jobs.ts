import { errorCatalog, SluiceError, type ErrorCode } from '../core/errors.js';
import type { CodeLimits } from '../core/code-package.js';
import { extractCodeZip, normalizeCodePackage, type NormalizedCode } from './zip.js';

/** What a zip worker is asked to do; buffers arrive as plain Uint8Arrays, as structured cloning leaves them. */
export type ZipJob =
  | { kind: 'normalize'; zip: Uint8Array; limits: CodeLimits }
  | { kind: 'extract'; zip: Uint8Array; dir: string };

export type ZipReply = { value: NormalizedCode | number } | { error: ErrorShape };

/** An error as it crosses the thread boundary: a catalog error whole, any other one by its message. */
interface ErrorShape {
  message: string;
  stack: string | undefined;
  sluice?: { code: ErrorCode; details: SluiceError['details'] };
}

/** Runs a job on this thread; the reply, and the buffers it can hand over rather than copy. */
export async function runZipJob(job: ZipJob): Promise<{ reply: ZipReply; transfer: ArrayBuffer[] }> {
  const zip = Buffer.from(job.zip.buffer, job.zip.byteOffset, job.zip.byteLength);
  try {
    if (job.kind === 'extract') return { reply: { value: await extractCodeZip(zip, job.dir) }, transfer: [] };
    const normalized = await normalizeCodePackage(zip, job.limits);
    // The canonical zip has a buffer of its own (CanonicalZipWriter.finish), so handing it over moves no other data.
    return { reply: { value: normalized }, transfer: [normalized.zip.buffer as ArrayBuffer] };
  } catch (error) {
    return { reply: { error: shapeOf(error) }, transfer: [] };
  }
}

function shapeOf(error: unknown): ErrorShape {
  if (!(error instanceof Error)) return { message: String(error), stack: undefined };
  const shape: ErrorShape = { message: error.message, stack: error.stack };
  if (error instanceof SluiceError) shape.sluice = { code: error.code, details: error.details };
  return shape;
}

/** The error a reply carries, as the caller would have had it on its own thread. */
export function errorOf(shape: ErrorShape): Error {
  const { sluice } = shape;
  if (sluice && sluice.code in errorCatalog)
    return new SluiceError(sluice.code, shape.message, sluice.details);
  const error = new Error(shape.message);
  // The worker's stack says where it failed; this thread's would only say that a message arrived.
  if (shape.stack !== undefined) error.stack = shape.stack;
  return error;
}
