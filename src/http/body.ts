import type { IncomingMessage } from 'node:http';
import { SluiceError } from '../core/errors.js';

/**
 * Reads a request body, refusing (413) more than `limit` bytes without buffering them. The rest of a refused
 * body is drained rather than cut off, so that the client, still sending, can read the answer.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  code: 'PayloadTooLarge' | 'CodeTooLarge' = 'PayloadTooLarge',
): Promise<Buffer> {
  const tooLarge = () =>
    new SluiceError(
      code,
      `the ${code === 'CodeTooLarge' ? 'code package' : 'request body'} is larger than ${formatBytes(limit)}`,
      {
        limit,
      },
    );
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.once('end', () => {
      if (size > limit) reject(tooLarge());
      else resolve(Buffer.concat(chunks, size));
    });
    req.once('error', reject);
  });
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Parses a JSON body; an empty body is `undefined`, so that optional bodies need no special casing. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  if (body.length === 0) return undefined;
  const type = mediaType(req);
  if (type !== 'application/json' && type !== '') {
    throw new SluiceError('UnsupportedMediaType', `expected application/json, not ${type}`);
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch (error) {
    throw new SluiceError('MalformedRequest', `the body is not valid JSON: ${(error as Error).message}`);
  }
}
