import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SluiceError } from '../core/errors.js';
import type { SignedRequest } from './signed-request.js';

/**
 * Tencent Cloud's `TC3-HMAC-SHA256` request signature, as its API 3.0 SDKs make it (the Node.js SDK's
 * `Sign.sign3`): pure functions, no clock or store. The string to sign holds `X-TC-Timestamp`, so a signed
 * request is good for the window around that time (`checkTc3Timestamp`) and no longer.
 */
export const TC3_ALGORITHM = 'TC3-HMAC-SHA256';

/** The headers the signature must cover. */
const REQUIRED_SIGNED = ['content-type', 'host'] as const;

/** The `Authorization` header's parts: `TC3-HMAC-SHA256 Credential=id/date/service/tc3_request, …`. */
export interface Tc3Authorization {
  secretId: string;
  /** The credential scope's UTC day, `2024-05-01`, which must be the day of `X-TC-Timestamp`. */
  date: string;
  /** The service the request was signed for: the endpoint's first label (`scf`, or `127` for 127.0.0.1). */
  service: string;
  signedHeaders: readonly string[];
  signature: string;
}

const AUTHORIZATION =
  /^TC3-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{4}-\d{2}-\d{2})\/([^/\s,]+)\/tc3_request,\s*SignedHeaders=([a-z0-9-]+(?:;[a-z0-9-]+)*),\s*Signature=([0-9a-f]{64})$/;

/** Reads the Authorization header; a missing or malformed one is refused before any key is looked up. */
export function parseTc3Authorization(header: string | undefined): Tc3Authorization {
  if (header === undefined)
    throw new SluiceError(
      'MissingRequiredHeader',
      `required HTTP header Authorization was not specified: sign the request with ${TC3_ALGORITHM} and an access key`,
      { header: 'authorization' },
    );
  const match = AUTHORIZATION.exec(header.trim());
  if (!match)
    throw new SluiceError(
      'SignatureNotMatch',
      `the Authorization header is not of the form "${TC3_ALGORITHM} Credential=<secret id>/<date>/<service>/tc3_request, SignedHeaders=<a;b>, Signature=<hex>"`,
    );
  const [, secretId, date, service, signed, signature] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { secretId, date, service, signedHeaders: signed.split(';'), signature };
}

function headerValue(request: SignedRequest, name: string): string | undefined {
  const values = request.headers[name];
  return values === undefined || values.length === 0 ? undefined : values.map((v) => v.trim()).join(',');
}

/**
 * How a signer may have written the signed headers. Tencent's rule lowercases their values, its Node.js SDK
 * writes the content type as given; the SDKs sign the host without the port the request was sent to.
 */
interface HeaderForm {
  lowercase: boolean;
  hostPort: boolean;
}

const FORMS: readonly HeaderForm[] = [
  { lowercase: false, hostPort: false },
  { lowercase: false, hostPort: true },
  { lowercase: true, hostPort: false },
  { lowercase: true, hostPort: true },
];

function canonicalValue(request: SignedRequest, name: string, form: HeaderForm): string {
  let value = headerValue(request, name) ?? '';
  if (name === 'host' && !form.hostPort) value = value.replace(/:\d+$/, '');
  return form.lowercase ? value.toLowerCase() : value;
}

/** The canonical request, line by line as the SDK builds it, with the body's own hash. */
export function tc3CanonicalRequest(
  request: SignedRequest,
  signedHeaders: readonly string[],
  bodySha256: string,
  form: HeaderForm = FORMS[0] as HeaderForm,
): string {
  const headers = signedHeaders.map((name) => `${name}:${canonicalValue(request, name, form)}\n`).join('');
  return [
    request.method,
    request.rawPath,
    request.rawQuery,
    headers,
    signedHeaders.join(';'),
    bodySha256,
  ].join('\n');
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data, 'utf8').digest();

/** The hex signature of a canonical request, with the secret, the timestamp and the credential's scope. */
export function tc3Signature(
  secret: string,
  timestamp: string,
  scope: { date: string; service: string },
  canonicalRequest: string,
): string {
  const stringToSign = [
    TC3_ALGORITHM,
    timestamp,
    `${scope.date}/${scope.service}/tc3_request`,
    sha256Hex(canonicalRequest),
  ].join('\n');
  const signingKey = hmac(hmac(hmac(`TC3${secret}`, scope.date), scope.service), 'tc3_request');
  return createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
}

/**
 * Checks a request's signature with the secret of the key it names (`authorization.secretId`, which the
 * caller looked up) and the hash of the body as received. Refuses with SignatureNotMatch a signature that
 * does not cover the headers Sluice relies on, whose scope's day is not the timestamp's, or that differs.
 */
export function verifyTc3(
  request: SignedRequest,
  authorization: Tc3Authorization,
  secret: string,
  timestamp: string,
  body: Buffer,
): void {
  const signed = authorization.signedHeaders;
  const unsigned = REQUIRED_SIGNED.filter((name) => !signed.includes(name));
  if (unsigned.length > 0)
    throw new SluiceError(
      'SignatureNotMatch',
      `SignedHeaders must include ${REQUIRED_SIGNED.join(' and ')}; it lacks ${unsigned.join(', ')}`,
    );
  const missing = signed.filter((name) => headerValue(request, name) === undefined);
  if (missing.length > 0)
    throw new SluiceError(
      'SignatureNotMatch',
      `the signature covers headers the request does not have: ${missing.join(', ')}`,
    );
  if (new Date(Number(timestamp) * 1000).toISOString().slice(0, 10) !== authorization.date)
    throw new SluiceError(
      'SignatureNotMatch',
      `the credential's date ${authorization.date} is not the UTC day of X-TC-Timestamp ${timestamp}`,
    );
  const given = Buffer.from(authorization.signature, 'hex');
  const bodySha256 = sha256Hex(body);
  const canonicals = new Set(FORMS.map((form) => tc3CanonicalRequest(request, signed, bodySha256, form)));
  for (const canonical of canonicals) {
    const expected = Buffer.from(tc3Signature(secret, timestamp, authorization, canonical), 'hex');
    if (timingSafeEqual(expected, given)) return;
  }
  throw new SluiceError(
    'SignatureNotMatch',
    'The provided credentials could not be validated. Please check your signature is correct.',
  );
}

/**
 * The time `X-TC-Timestamp` names (epoch seconds), refused with RequestTimeTooSkewed when it is not within
 * `windowMs` of `now` either way, or is not a whole number of seconds.
 */
export function checkTc3Timestamp(timestamp: string | undefined, now: number, windowMs: number): number {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp))
    throw new SluiceError(
      'RequestTimeTooSkewed',
      `X-TC-Timestamp must be the request's time in whole seconds since the epoch, not "${timestamp ?? ''}"`,
    );
  const at = Number(timestamp);
  if (Math.abs(now - at * 1000) > windowMs)
    throw new SluiceError(
      'RequestTimeTooSkewed',
      `the request's X-TC-Timestamp ${timestamp} is more than ${windowMs / 60_000} minutes from the server's time ${Math.floor(now / 1000)}`,
    );
  return at;
}
