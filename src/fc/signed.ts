import type { IncomingMessage } from 'node:http';
import { checkAcs3Date, contentSha256, parseAcs3Authorization, verifyAcs3 } from '../auth/acs3.js';
import { type AccessKeys, signedRequestOf } from '../auth/signed-request.js';
import { SluiceError } from '../core/errors.js';
import { bufferBody } from '../http/body.js';
import type { Store } from '../store/store.js';

/** How far `x-acs-date` may be from the server's clock, either way: Alibaba Cloud's 15 minutes. */
export const SIGNATURE_WINDOW_MS = 15 * 60_000;

/** Nonces are kept per access key; one longer than this is no SDK's (they send 32 hex digits). */
const MAX_NONCE_LENGTH = 128;

export interface SignedDeps<P> {
  accessKeys: AccessKeys<P>;
  /** Where nonces are kept: the store every node shares, so that a request replayed to another node is refused too. */
  store: Pick<Store, 'claimNonce'>;
  clock: () => Date;
}

/**
 * Authenticates a request signed with an access key (`ACS3-HMAC-SHA256`) and returns who made it: the
 * signature over the request's headers first, so that nobody without the secret learns more or makes the
 * server read a body; then the date's window; then the body, read whole (at most `maxBodyBytes`) and held to
 * the hash the signature covers; last the nonce, claimed once for as long as the date stays in the window.
 * The body is left for the handler to read (`readBody` hands it out).
 */
export async function authenticateSigned<P>(
  req: IncomingMessage,
  deps: SignedDeps<P>,
  maxBodyBytes: number,
): Promise<P> {
  const authorization = parseAcs3Authorization(req.headers.authorization);
  const key = await deps.accessKeys.accessKey(authorization.accessKeyId);
  if (!key)
    throw new SluiceError('InvalidAccessKeyID', `invalid access key ID '${authorization.accessKeyId}'`);
  const claims = verifyAcs3(signedRequestOf(req), authorization, key.secret);
  const now = deps.clock().getTime();
  const at = checkAcs3Date(claims.date, now, SIGNATURE_WINDOW_MS);
  if (claims.nonce.length > MAX_NONCE_LENGTH)
    throw new SluiceError(
      'InvalidArgument',
      `x-acs-signature-nonce must be at most ${MAX_NONCE_LENGTH} characters long`,
      [{ path: 'x-acs-signature-nonce', message: `must be at most ${MAX_NONCE_LENGTH} characters long` }],
    );
  const body = await bufferBody(req, maxBodyBytes);
  if (contentSha256(body) !== claims.contentSha256)
    throw new SluiceError(
      'SignatureNotMatch',
      "the body's sha256 differs from the x-acs-content-sha256 that the request signed",
    );
  // Kept a moment past the window's end, where the date alone refuses the request again.
  const expiresAt = at + SIGNATURE_WINDOW_MS + 1000;
  if (!(await deps.store.claimNonce(claims.accessKeyId, claims.nonce, expiresAt, now)))
    throw new SluiceError(
      'SignatureNonceUsed',
      `the access key sent x-acs-signature-nonce ${claims.nonce} already: a signed request is served once`,
    );
  return key.principal;
}
