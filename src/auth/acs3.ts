import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SluiceError } from '../core/errors.js';
import type { SignedRequest } from './signed-request.js';

/**
 * Alibaba Cloud's `ACS3-HMAC-SHA256` request signature, as Function Compute 3.0's SDK makes it
 * (`@alicloud/openapi-core`'s `getAuthorization`): pure functions, no clock or store. The string to sign has
 * no time of its own, so a signed request could be sent again as it is: the caller of `verifyAcs3` also
 * checks `x-acs-date` against a window (`checkAcs3Date`) and refuses a nonce it has seen within it.
 */
export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';

/** The headers the signature must cover, besides `content-type` when the request has one. */
const REQUIRED_SIGNED = ['host', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce'] as const;

/** The `Authorization` header's parts: `ACS3-HMAC-SHA256 Credential=…,SignedHeaders=a;b,Signature=hex`. */
export interface Acs3Authorization {
  accessKeyId: string;
  signedHeaders: readonly string[];
  signature: string;
}

/** What a verified request says of itself: who signed it, when, its nonce, and the hash its body must have. */
export interface Acs3Claims {
  accessKeyId: string;
  date: string;
  nonce: string;
  contentSha256: string;
}

const AUTHORIZATION =
  /^ACS3-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*),\s*Signature=([0-9a-f]{64})$/;

/** Reads the Authorization header; a missing or malformed one is refused before any key is looked up. */
export function parseAcs3Authorization(header: string | undefined): Acs3Authorization {
  if (header === undefined)
    throw new SluiceError(
      'MissingRequiredHeader',
      `required HTTP header Authorization was not specified: sign the request with ${ACS3_ALGORITHM} and an access key`,
    );
  const match = AUTHORIZATION.exec(header.trim());
  if (!match)
    throw new SluiceError(
      'SignatureNotMatch',
      `the Authorization header is not of the form "${ACS3_ALGORITHM} Credential=<access key id>,SignedHeaders=<a;b>,Signature=<hex>"`,
    );
  const [, accessKeyId, signed, signature] = match as unknown as [string, string, string, string];
  return { accessKeyId, signedHeaders: signed.split(';'), signature };
}

/** The headers of the request that the signature must cover, and those it covers, one value each. */
function signedHeaderValue(request: SignedRequest, name: string): string | undefined {
  const values = request.headers[name];
  if (values === undefined || values.length === 0) return undefined;
  return values
    .map((v) => v.trim())
    .sort()
    .join(',');
}

/** The SDK's encoding of query values: encodeURIComponent, and the five characters it leaves alone. */
function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Parses a query as sent: pairs sorted by name, then value (a repeated name cannot be signed, and so fails). */
function canonicalQuery(rawQuery: string): string {
  if (rawQuery === '') return '';
  const pairs = [...new URLSearchParams(rawQuery)];
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${encodeValue(value)}`).join('&');
}

/** The canonical request, line by line as the SDK builds it; the payload's hash is the one its header claims. */
export function acs3CanonicalRequest(
  request: SignedRequest,
  signedHeaders: readonly string[],
  contentSha256: string,
): string {
  const uri = request.rawPath.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const headers = signedHeaders.map((name) => `${name}:${signedHeaderValue(request, name) ?? ''}\n`).join('');
  return [
    request.method,
    uri,
    canonicalQuery(request.rawQuery),
    headers,
    signedHeaders.join(';'),
    contentSha256,
  ].join('\n');
}

/** The hex signature of a canonical request with a secret. */
export function acs3Signature(secret: string, canonicalRequest: string): string {
  const hashed = createHash('sha256').update(canonicalRequest, 'utf8').digest('hex');
  return createHmac('sha256', secret).update(`${ACS3_ALGORITHM}\n${hashed}`, 'utf8').digest('hex');
}

/**
 * Checks a request's signature with the secret of the key it names (`authorization.accessKeyId`, which the
 * caller looked up). Refuses with SignatureNotMatch a signature that does not cover the headers Sluice relies
 * on, or that differs; returns the claims for the date, nonce and body checks that follow.
 */
export function verifyAcs3(
  request: SignedRequest,
  authorization: Acs3Authorization,
  secret: string,
): Acs3Claims {
  const signed = authorization.signedHeaders;
  const sorted = [...signed].sort();
  const needed = [...REQUIRED_SIGNED, ...(request.headers['content-type'] ? ['content-type'] : [])];
  const unsigned = needed.filter((name) => !signed.includes(name));
  if (unsigned.length > 0 || sorted.some((name, i) => name !== signed[i] || name === sorted[i + 1]))
    throw new SluiceError(
      'SignatureNotMatch',
      `SignedHeaders must list, sorted and once each, every header of the request among ${needed.join(', ')}${unsigned.length > 0 ? `; it lacks ${unsigned.join(', ')}` : ''}`,
    );
  const missing = signed.filter((name) => signedHeaderValue(request, name) === undefined);
  if (missing.length > 0)
    throw new SluiceError(
      'SignatureNotMatch',
      `the signature covers headers the request does not have: ${missing.join(', ')}`,
    );
  const contentSha256 = signedHeaderValue(request, 'x-acs-content-sha256') as string;
  const expected = acs3Signature(secret, acs3CanonicalRequest(request, signed, contentSha256));
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(authorization.signature, 'hex')))
    throw new SluiceError(
      'SignatureNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your access key and signing method',
    );
  return {
    accessKeyId: authorization.accessKeyId,
    date: signedHeaderValue(request, 'x-acs-date') as string,
    nonce: signedHeaderValue(request, 'x-acs-signature-nonce') as string,
    contentSha256,
  };
}

const ACS_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

/**
 * The time `x-acs-date` names (epoch ms), refused with RequestTimeTooSkewed when it is not within `windowMs`
 * of `now` either way, or is not a time of the SDK's form (`2024-05-01T12:00:00Z`).
 */
export function checkAcs3Date(date: string, now: number, windowMs: number): number {
  const match = ACS_DATE.exec(date);
  const at = match ? Date.parse(date) : NaN;
  // Date.parse rolls over impossible dates (02-30); a date that does not print back as itself is one of those.
  if (!Number.isFinite(at) || new Date(at).toISOString().replace('.000', '') !== date)
    throw new SluiceError(
      'RequestTimeTooSkewed',
      `x-acs-date must be a UTC time such as 2024-05-01T12:00:00Z, not "${date}"`,
    );
  if (Math.abs(now - at) > windowMs)
    throw new SluiceError(
      'RequestTimeTooSkewed',
      `the difference between the request time ${date} and the server's time ${new Date(now).toISOString()} is more than ${windowMs / 60_000} minutes`,
    );
  return at;
}

/** The sha256 of a body, hex, to compare with the `x-acs-content-sha256` the signature covers. */
export function contentSha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
