import type { IncomingMessage } from 'node:http';
import { checkTc3Timestamp, parseTc3Authorization, verifyTc3 } from '../auth/tc3.js';
import { SluiceError } from '../core/errors.js';
import { readBody } from '../http/body.js';
import { type AccessKeys, signedRequestOf } from '../auth/signed-request.js';

/** How far `X-TC-Timestamp` may be from the server's clock, either way: Tencent Cloud's 5 minutes. */
export const TC3_WINDOW_MS = 5 * 60_000;

export interface Tc3Deps<P> {
  accessKeys: AccessKeys<P>;
  clock: () => Date;
}

/**
 * Authenticates a request signed with an access key (`TC3-HMAC-SHA256`) and returns who made it, with its
 * body: the key and the timestamp's window first, so that a stranger or a stale request never makes the server
 * read a body; then the body (at most `maxBodyBytes`), whose hash the signature covers. A request is good for
 * the window around its timestamp, as in Tencent Cloud: the string it signs holds that time.
 */
export async function authenticateTc3<P>(
  req: IncomingMessage,
  deps: Tc3Deps<P>,
  maxBodyBytes: number,
): Promise<{ principal: P; body: Buffer }> {
  const authorization = parseTc3Authorization(req.headers.authorization);
  const key = await deps.accessKeys.accessKey(authorization.secretId);
  if (!key)
    throw new SluiceError(
      'InvalidAccessKeyID',
      `the SecretId ${authorization.secretId} is not found; check that it exists and has not been deleted`,
    );
  const timestamp = req.headersDistinct['x-tc-timestamp']?.join(',');
  checkTc3Timestamp(timestamp, deps.clock().getTime(), TC3_WINDOW_MS);
  const body = await readBody(req, maxBodyBytes);
  verifyTc3(signedRequestOf(req), authorization, key.secret, timestamp as string, body);
  return { principal: key.principal, body };
}
