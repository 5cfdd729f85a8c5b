import type { ServerResponse } from 'node:http';
import { type ErrorCode, isSluiceError, SluiceError } from '../core/errors.js';
import { closeIfRefused } from '../http/body.js';
import { sendJson } from '../http/respond.js';

/**
 * Catalog errors as Function Compute 3.0 answers them: `{"Code", "Message", "RequestId"}` with FC's code and
 * status where FC has one for the same failure; Sluice's own code and status where it has none (README,
 * "Function Compute API").
 */
const FC_CODES: Partial<Record<ErrorCode, { code: string; status: number }>> = {
  MalformedRequest: { code: 'InvalidArgument', status: 400 },
  InvalidCodePackage: { code: 'InvalidArgument', status: 400 },
  UnsupportedMediaType: { code: 'InvalidArgument', status: 400 },
  PayloadTooLarge: { code: 'EntityTooLarge', status: 400 },
  CodeTooLarge: { code: 'EntityTooLarge', status: 400 },
  Unauthorized: { code: 'AccessDenied', status: 403 },
  Forbidden: { code: 'AccessDenied', status: 403 },
  RouteNotFound: { code: 'PathNotSupported', status: 400 },
  MethodNotAllowed: { code: 'PathNotSupported', status: 400 },
  AliasConflict: { code: 'ConcurrentUpdateError', status: 409 },
  TooManyRequests: { code: 'ResourceExhausted', status: 429 },
  InternalError: { code: 'InternalServerError', status: 500 },
};

/**
 * Failures of the function itself, not of the request: FC answers them 200, naming the failure in
 * `x-fc-error-type` and describing it in `{errorMessage, errorType, stackTrace}`.
 */
const FUNCTION_FAILURES: ReadonlySet<ErrorCode> = new Set([
  'UnhandledInvocationError',
  'FunctionInitializationError',
  'FunctionTimeout',
  'InstanceCrashed',
  'MemoryLimitExceeded',
  'ResponseTooLarge',
]);

/** The FC error body and status of an error; anything not from the catalog is an internal error. */
export function fcErrorOf(
  error: unknown,
  requestId: string,
): { status: number; body: { Code: string; Message: string; RequestId: string } } {
  const known = isSluiceError(error)
    ? error
    : new SluiceError('InternalError', `Sluice failed on this request; see the server log for ${requestId}`);
  const mapped = FC_CODES[known.code] ?? { code: known.code, status: known.status };
  return { status: mapped.status, body: { Code: mapped.code, Message: known.message, RequestId: requestId } };
}

/** The one place an error becomes a response on FC's wire; `log` hears the errors that are Sluice's fault. */
export function sendFcError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  log: (e: unknown) => void,
): void {
  if (!isSluiceError(error)) log(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.setHeader('x-fc-request-id', requestId);
  closeIfRefused(res);
  if (isSluiceError(error) && FUNCTION_FAILURES.has(error.code)) {
    const details = error.details as { errorType?: unknown; stackTrace?: unknown } | undefined;
    res.setHeader('x-fc-error-type', error.code);
    sendJson(res, 200, {
      errorMessage: error.message,
      errorType: typeof details?.errorType === 'string' ? details.errorType : error.code,
      ...(Array.isArray(details?.stackTrace) && { stackTrace: details.stackTrace as unknown[] }),
    });
    return;
  }
  const { status, body } = fcErrorOf(error, requestId);
  if (isSluiceError(error)) res.setHeader('x-fc-error-type', body.Code);
  sendJson(res, status, body);
}
