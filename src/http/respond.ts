import type { ServerResponse } from 'node:http';
import { SluiceError, isSluiceError } from '../core/errors.js';
import { closeIfRefused } from './body.js';

export const REQUEST_ID_HEADER = 'x-sluice-request-id';

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** The one place an error becomes a response: `{error: {code, message, requestId, details?}}`. */
export function sendError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  log: (e: unknown) => void,
): void {
  const known = isSluiceError(error)
    ? error
    : new SluiceError('InternalError', `Sluice failed on this request; see the server log for ${requestId}`);
  if (!isSluiceError(error)) log(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { code: known.code, message: known.message, requestId };
  if (known.details !== undefined) body.details = known.details;
  const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId };
  if (known.code === 'MethodNotAllowed' && known.details && 'allowed' in known.details) {
    headers.allow = (known.details.allowed as string[]).join(', ');
  }
  if (known.code === 'Unauthorized') headers['www-authenticate'] = 'Bearer realm="sluice"';
  closeIfRefused(res);
  sendJson(res, known.status, { error: body }, headers);
}
