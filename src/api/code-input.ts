import type { IncomingMessage } from 'node:http';
import type { CodeLimits } from '../core/code-package.js';
import { SluiceError } from '../core/errors.js';
import { canonicalZip, sha256Hex } from '../contract/canonical-zip.js';
import { CodeJson } from '../contract/schemas/functions.js';
import { validator } from '../contract/validate.js';
import type { ZipWorkers } from '../code/zip-workers.js';
import { mediaType, readBody } from '../http/body.js';
import type { CodeBlob } from '../store/store.js';

/** A JSON body that carries a zip in base64 is a third larger than the zip, plus room for the envelope. */
export function jsonCodeLimit(limits: CodeLimits): number {
  return Math.ceil((limits.zipBytes * 4) / 3) + 64 * 1024;
}

const checkCodeJson = validator(CodeJson);

/** `{zipFile: "<base64>"}`, the form code takes inside JSON bodies, checked already. */
export function codeBlob(code: CodeJson, limits: CodeLimits, workers: ZipWorkers): Promise<CodeBlob> {
  return toBlob(Buffer.from(code.zipFile, 'base64'), limits, workers);
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
    return codeBlob(checkCodeJson(parsed), limits, workers);
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
