import type { IncomingMessage } from 'node:http';
import type { CodeLimits } from '../core/code-package.js';
import { SluiceError } from '../core/errors.js';
import { Issues, describeType, readObject, requireField } from '../core/validate.js';
import { canonicalZip, sha256Hex } from '../contract/canonical-zip.js';
import type { ZipWorkers } from '../code/zip-workers.js';
import { mediaType, readBody } from '../http/body.js';
import type { CodeBlob } from '../store/store.js';

/** A JSON body that carries a zip in base64 is a third larger than the zip, plus room for the envelope. */
export function jsonCodeLimit(limits: CodeLimits): number {
  return Math.ceil((limits.zipBytes * 4) / 3) + 64 * 1024;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `{zipFile: "<base64>"}`, the form code takes inside JSON bodies. */
export async function codeFromJson(
  value: unknown,
  path: string,
  limits: CodeLimits,
  workers: ZipWorkers,
): Promise<CodeBlob> {
  const issues = new Issues();
  const obj = readObject(value, path, issues, ['zipFile']);
  const zipFile = obj && requireField(obj, 'zipFile', path, issues);
  if (zipFile !== undefined && (typeof zipFile !== 'string' || !BASE64.test(zipFile))) {
    issues.add(
      `${path}.zipFile`,
      `must be a base64-encoded zip, not ${typeof zipFile === 'string' ? 'other text' : describeType(zipFile)}`,
    );
  }
  issues.throwIfAny('code');
  return toBlob(Buffer.from(zipFile as string, 'base64'), limits, workers);
}

/** A code upload: a raw `application/zip` body, or JSON `{zipFile}`. */
export async function codeFromRequest(
  req: IncomingMessage,
  limits: CodeLimits,
  workers: ZipWorkers,
): Promise<CodeBlob> {
  const type = mediaType(req);
  if (type === 'application/zip' || type === 'application/octet-stream') {
    return toBlob(await readBody(req, limits.zipBytes, 'CodeTooLarge'), limits, workers);
  }
  if (type === 'application/json') {
    const body = await readBody(req, jsonCodeLimit(limits), 'CodeTooLarge');
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (error) {
      throw new SluiceError('MalformedRequest', `the body is not valid JSON: ${(error as Error).message}`);
    }
    return codeFromJson(parsed, '', limits, workers);
  }
  throw new SluiceError(
    'UnsupportedMediaType',
    `send the code as application/zip, or as application/json {"zipFile": base64}, not ${type || 'no content type'}`,
  );
}

async function toBlob(zip: Buffer, limits: CodeLimits, workers: ZipWorkers): Promise<CodeBlob> {
  const normalized = await workers.normalize(zip, limits);
  return { sha256: normalized.sha256, size: normalized.size, zip: normalized.zip };
}

/** The package a function gets when it is created without code. */
export async function emptyCode(): Promise<CodeBlob> {
  const zip = await canonicalZip([]);
  return { sha256: sha256Hex(zip), size: zip.length, zip };
}
