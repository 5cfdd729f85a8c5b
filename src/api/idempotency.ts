import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SluiceError, isSluiceError, type ErrorCode } from '../core/errors.js';
import { bufferBody } from '../http/body.js';
import type { Store, StoredResponse } from '../store/store.js';
import type { ApiResponse } from './context.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const REPLAYED_HEADER = 'idempotent-replayed';
/** How long a key's answer is kept: a client retries within this or treats the request as new. */
export const IDEMPOTENCY_KEEP_MS = 24 * 60 * 60 * 1000;
/**
 * An unanswered key older than this was left by a node that died while its request ran: it may be claimed
 * anew. A write that had committed on that node could then run twice, which is why the bound is far beyond
 * any write's time.
 */
export const IDEMPOTENCY_ABANDONED_MS = 5 * 60 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;

/** A refusal as kept, to be thrown again on a replay with the replay's own request id. */
interface StoredRefusal {
  code: ErrorCode;
  message: string;
  details?: SluiceError['details'];
}

/**
 * Runs a write at most once per `Idempotency-Key` (per credential, for 24 hours): a retry with the same key
 * and the same request gets the first answer again, marked `Idempotent-Replayed: true`; the same key with
 * another request is refused. Without the header, the write simply runs.
 */
export async function runIdempotently(
  store: Store,
  request: { req: IncomingMessage; url: URL; scope: string; now: number; maxBodyBytes: number },
  run: () => Promise<ApiResponse>,
): Promise<{ response: ApiResponse; replayed: boolean }> {
  const { req, scope } = request;
  const key = req.headers[IDEMPOTENCY_HEADER];
  if (key === undefined) return { response: await run(), replayed: false };
  if (typeof key !== 'string' || !KEY.test(key))
    throw new SluiceError('InvalidArgument', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  const body = await bufferBody(req, request.maxBodyBytes);
  const fingerprint = fingerprintOf(req, request.url, body);
  const found = await store.claimIdempotencyKey({
    scope,
    key,
    fingerprint,
    now: request.now,
    expiredBefore: request.now - IDEMPOTENCY_KEEP_MS,
    abandonedBefore: request.now - IDEMPOTENCY_ABANDONED_MS,
  });
  if (found) {
    if (found.fingerprint !== fingerprint)
      throw new SluiceError(
        'IdempotencyKeyReused',
        `Idempotency-Key ${key} was sent with another request in the last 24 hours: use a new key for a new request`,
      );
    if (!found.response)
      throw new SluiceError(
        'IdempotencyKeyInProgress',
        `the request with Idempotency-Key ${key} is still running: retry once it has answered`,
      );
    return { response: replay(found.response), replayed: true };
  }
  let response: ApiResponse;
  try {
    response = await run();
  } catch (error) {
    // A refusal is the request's answer for good; a failure changed nothing, and leaves the key to a retry.
    const refusal = isSluiceError(error) && error.status < 500;
    await store
      .settleIdempotencyKey(scope, key, refusal ? storedRefusal(error) : undefined)
      .catch(() => undefined);
    throw error;
  }
  const stored = storedResponse(response);
  // The write is done: its answer goes to the caller even if it cannot be kept (a retry then waits, see above).
  await store.settleIdempotencyKey(scope, key, stored).catch(() => undefined);
  return { response, replayed: false };
}

/** What makes two requests the same request: method, target, the headers that change a write, and the body. */
function fingerprintOf(req: IncomingMessage, url: URL, body: Buffer): string {
  const hash = createHash('sha256');
  for (const part of [
    req.method ?? '',
    url.pathname + url.search,
    req.headers['content-type'] ?? '',
    req.headers['if-match'] ?? '',
    req.headers['if-none-match'] ?? '',
  ])
    hash.update(`${part}\n`);
  return hash.update(body).digest('base64url');
}

function storedRefusal(error: SluiceError): StoredResponse {
  const refusal: StoredRefusal = { code: error.code, message: error.message, details: error.details };
  return {
    status: error.status,
    headers: {},
    body: Buffer.from(JSON.stringify(refusal)).toString('base64'),
    refusal: true,
  };
}

function storedResponse(response: ApiResponse): StoredResponse | undefined {
  if ('stream' in response) return undefined;
  const headers = { ...response.headers };
  if ('bytes' in response)
    return {
      status: response.status,
      headers: { ...headers, 'content-type': response.contentType },
      body: response.bytes.toString('base64'),
    };
  if (response.json === undefined) return { status: response.status, headers, body: '' };
  return {
    status: response.status,
    headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(response.json)).toString('base64'),
  };
}

function replay(stored: StoredResponse): ApiResponse {
  if (stored.refusal) {
    const refusal = JSON.parse(Buffer.from(stored.body, 'base64').toString('utf8')) as StoredRefusal;
    throw new SluiceError(refusal.code, refusal.message, refusal.details);
  }
  const { 'content-type': contentType, ...headers } = stored.headers;
  const replayed = { ...headers, [REPLAYED_HEADER]: 'true' };
  if (contentType === undefined) return { status: stored.status, headers: replayed };
  return { status: stored.status, bytes: Buffer.from(stored.body, 'base64'), contentType, headers: replayed };
}
