import type { ServerResponse } from 'node:http';
import { type ErrorCode, type FieldIssue, isSluiceError, SluiceError } from '../core/errors.js';
import { closeIfRefused } from '../http/body.js';
import { sendJson } from '../http/respond.js';

/**
 * Catalog errors as Tencent SCF answers them: always HTTP 200, `{"Response": {"Error": {"Code", "Message"},
 * "RequestId"}}`, with SCF's code where it has one for the same failure and Sluice's own code where it has none
 * (README, "Tencent SCF API").
 */
const SCF_CODES: Partial<Record<ErrorCode, string>> = {
  MalformedRequest: 'InvalidParameter.Payload',
  InvalidCodePackage: 'InvalidParameterValue.ZipFile',
  UnsupportedMediaType: 'InvalidParameter.Payload',
  PayloadTooLarge: 'RequestSizeLimitExceeded',
  CodeTooLarge: 'InvalidParameterValue.ZipFile',
  Unauthorized: 'AuthFailure.InvalidAuthorization',
  MissingRequiredHeader: 'AuthFailure.InvalidAuthorization',
  Forbidden: 'UnauthorizedOperation',
  SignatureNotMatch: 'AuthFailure.SignatureFailure',
  InvalidAccessKeyID: 'AuthFailure.SecretIdNotFound',
  RequestTimeTooSkewed: 'AuthFailure.SignatureExpire',
  PathNotSupported: 'UnsupportedOperation',
  RouteNotFound: 'InvalidAction',
  FunctionNotFound: 'ResourceNotFound.Function',
  VersionNotFound: 'ResourceNotFound.Version',
  AliasNotFound: 'ResourceNotFound.Alias',
  FunctionAlreadyExists: 'ResourceInUse.Function',
  AliasAlreadyExists: 'ResourceInUse.Alias',
  AliasConflict: 'FailedOperation.UpdateAlias',
  NothingToPublish: 'FailedOperation.PublishVersion',
  VersionInUse: 'ResourceInUse.FunctionVersion',
  AliasInUse: 'ResourceInUse.Alias',
  FunctionInUse: 'ResourceInUse.Function',
  DefaultAliasProtected: 'FailedOperation.DeleteAlias',
  RolloutInProgress: 'FailedOperation.UpdateAlias',
  TooManyRequests: 'RequestLimitExceeded',
  ServiceUnavailable: 'ResourceUnavailable',
  InternalError: 'InternalError',
};

/**
 * An InvalidArgument as SCF names it: a missing parameter, an unknown one, or a value that is wrong
 * (`InvalidParameterValue.MemorySize`), by the first problem.
 */
function invalidArgumentCode(details: unknown): string {
  const first = (Array.isArray(details) ? (details as FieldIssue[]) : [])[0];
  if (!first) return 'InvalidParameter';
  if (first.message === 'is required') return 'MissingParameter';
  if (first.message.startsWith('is not a known field')) return 'UnknownParameter';
  const field = first.path.split(/[.[]/)[0];
  return field ? `InvalidParameterValue.${field}` : 'InvalidParameter';
}

/** The SCF error code and message of an error; anything not from the catalog is an internal error. */
export function scfErrorOf(error: unknown, requestId: string): { Code: string; Message: string } {
  const known = isSluiceError(error)
    ? error
    : new SluiceError('InternalError', `Sluice failed on this request; see the server log for ${requestId}`);
  const code =
    known.code === 'InvalidArgument'
      ? invalidArgumentCode(known.details)
      : (SCF_CODES[known.code] ?? known.code);
  return { Code: code, Message: known.message };
}

/** The one place an error becomes a response on SCF's wire; `log` hears the errors that are Sluice's fault. */
export function sendScfError(
  res: ServerResponse,
  error: unknown,
  requestId: string,
  log: (e: unknown) => void,
): void {
  if (!isSluiceError(error) || error.code === 'InternalError') log(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  closeIfRefused(res);
  sendJson(res, 200, { Response: { Error: scfErrorOf(error, requestId), RequestId: requestId } });
}
