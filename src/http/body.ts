import type { IncomingMessage, ServerResponse } from 'node:http';
import { SluiceError } from '../core/errors.js';

const refused = new WeakSet<IncomingMessage>();

/** Of a refused body, what is read after its answer so that the client, still sending, gets to read it. */
const LINGER = { ms: 1000, bytes: 8 * 1024 * 1024 };

/**
 * After the answer to a request whose body was refused: the connection closes once the client has had a
 * moment to read the answer (a client still sending when the connection closes may lose it), and the rest
 * of the body is never read. Node would otherwise read it to the end, to keep the connection.
 */
export function closeIfRefused(res: ServerResponse): void {
  const req = res.req;
  if (!refused.has(req)) return;
  // The answer says so: a client that kept the connection would send its next request into the close below
  // (a loaded CI run lost a request that way, "other side closed").
  res.setHeader('connection', 'close');
  // Told so, Node would close the connection as soon as the answer is written, and the body still arriving
  // would reset it, the answer with it: only the sending side ends then, and the close below comes later.
  const socket = req.socket;
  socket.destroySoon = () => {
    socket.end();
  };
  res.once('finish', () => {
    let lingered = 0;
    const close = () => {
      clearTimeout(timer);
      req.socket.destroy();
    };
    const timer = setTimeout(close, LINGER.ms);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      lingered += chunk.length;
      if (lingered > LINGER.bytes) close();
    });
    req.resume();
  });
}

/** Bodies read before their handler runs, which `readBody` then hands out. */
const buffered = new WeakMap<IncomingMessage, Buffer>();

/** Reads the whole body now, for `readBody` to hand out later: for requests that must be known before they run. */
export async function bufferBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const body = await readBody(req, limit);
  buffered.set(req, body);
  return body;
}

/**
 * Reads a request body, refusing (413) more than `limit` bytes as soon as they are declared or have arrived.
 * The rest of a refused body is not read: its answer closes the connection (`closeIfRefused`).
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  code: 'PayloadTooLarge' | 'CodeTooLarge' = 'PayloadTooLarge',
): Promise<Buffer> {
  const tooLarge = () => {
    refused.add(req);
    return new SluiceError(
      code,
      `the ${code === 'CodeTooLarge' ? 'code package' : 'request body'} is larger than ${formatBytes(limit)}`,
      { limit },
    );
  };
  const early = buffered.get(req);
  if (early) return early.length > limit ? Promise.reject(tooLarge()) : Promise.resolve(early);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.pause();
      reject(tooLarge());
    };
    req.on('data', onData);
    req.once('end', () => {
      resolve(Buffer.concat(chunks, size));
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
