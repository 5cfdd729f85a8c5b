/**
 * The one error catalog. Every failure the platform reports has a stable code, an HTTP status and a line of
 * documentation; `docs/errors.md` lists the same codes (a test keeps the two in step).
 */
export const errorCatalog = {
  InvalidArgument: {
    status: 400,
    doc: 'A field, parameter or header is invalid; `details` lists each problem.',
  },
  MalformedRequest: { status: 400, doc: 'The request body is not valid JSON, or not of the expected form.' },
  InvalidCodePackage: {
    status: 400,
    doc: 'The code package is not a valid zip, or holds an unsafe entry (absolute path, `..`, symlink).',
  },
  Unauthorized: { status: 401, doc: 'No bearer token, or one that is not valid (unknown or revoked).' },
  Forbidden: {
    status: 403,
    doc: "The caller may not do this: its credential's scope is too narrow, the function is outside its prefix, or an anonymous caller pins a version.",
  },
  FunctionNotFound: { status: 404, doc: 'No function has that name.' },
  VersionNotFound: { status: 404, doc: 'The function has no published version with that number.' },
  AliasNotFound: { status: 404, doc: 'The function has no alias with that name.' },
  ApiNotFound: { status: 404, doc: 'No API has that name.' },
  StageNotFound: { status: 404, doc: 'The API has no stage with that name.' },
  RolloutNotFound: { status: 404, doc: 'No rollout has that id.' },
  CredentialNotFound: { status: 404, doc: 'No token or access key has that id (it may have been revoked).' },
  ProvisionedNotFound: { status: 404, doc: 'The qualifier has no provisioned instances configured.' },
  AsyncInvocationNotFound: {
    status: 404,
    doc: 'The function has no asynchronous invocation with that request id (ended ones are kept 7 days).',
  },
  TriggerNotFound: { status: 404, doc: 'The function has no trigger with that name.' },
  RouteNotFound: { status: 404, doc: 'No endpoint exists at that path.' },
  MethodNotAllowed: { status: 405, doc: 'The endpoint exists but does not accept that method.' },
  ApiAlreadyExists: { status: 409, doc: 'An API with that name exists already.' },
  StageAlreadyExists: {
    status: 409,
    doc: 'The stage exists already and the request asked to create it only (`If-None-Match: *`).',
  },
  StageConflict: {
    status: 409,
    doc: 'The stage changed since the revision the request names (`If-Match`); read it again and retry.',
  },
  StageBindingInvalid: {
    status: 409,
    doc: 'A stage binding names a function, alias or version that does not exist.',
  },
  FunctionInUse: { status: 409, doc: 'A stage is bound to the function; `details` names the stages.' },
  AliasInUse: {
    status: 409,
    doc: 'A stage or a trigger is bound to the alias; `details` names the stages and triggers.',
  },
  TriggerAlreadyExists: { status: 409, doc: 'The function has a trigger with that name already.' },
  RouteInUse: {
    status: 409,
    doc: 'A stage binds the route on its own; remove that binding before the route.',
  },
  RolloutInProgress: { status: 409, doc: 'The alias has a rollout running or paused; end it first.' },
  RolloutNotActive: {
    status: 409,
    doc: 'The rollout has ended and can no longer be paused, resumed, aborted or promoted.',
  },
  CredentialAlreadyExists: {
    status: 409,
    doc: 'A token (or an access key) with that name exists already; names tell credentials apart in histories.',
  },
  LastAdminToken: {
    status: 409,
    doc: 'The token is the last one with admin scope: revoking it would leave nobody able to manage credentials.',
  },
  FunctionAlreadyExists: { status: 409, doc: 'A function with that name exists already.' },
  IdempotencyKeyInProgress: {
    status: 409,
    doc: 'A request with this `Idempotency-Key` is still running; retry once it has answered.',
  },
  IdempotencyKeyReused: {
    status: 422,
    doc: 'The `Idempotency-Key` was sent with another request within 24 hours; a new request needs a new key.',
  },
  AliasAlreadyExists: {
    status: 409,
    doc: 'The alias exists already and the request asked to create it only (`If-None-Match: *`).',
  },
  AliasConflict: {
    status: 409,
    doc: 'The alias changed since the revision the request names (`If-Match`); read it again and retry.',
  },
  NothingToPublish: {
    status: 409,
    doc: 'Neither code nor configuration changed since the latest published version.',
  },
  VersionInUse: {
    status: 409,
    doc: 'The version is referred to by an alias or a stage; `details` names the referrers.',
  },
  DefaultAliasProtected: { status: 409, doc: 'The `$DEFAULT` alias can be repointed but not deleted.' },
  NothingToRollBack: {
    status: 409,
    doc: 'The alias has no earlier configuration, or no canary, to roll back from.',
  },
  RequestCancelled: {
    status: 499,
    doc: "The caller went away while its invocation waited for an instance: it never ran, and is not counted in the function's metrics or logs. (Only the server log and a proxy in between see this answer.)",
  },
  MissingRequiredHeader: {
    status: 400,
    doc: 'Function Compute API: a header the request needs is missing (`Authorization`, signed with an access key).',
  },
  SignatureNotMatch: {
    status: 403,
    doc: "Function Compute API: the request's `ACS3-HMAC-SHA256` signature is malformed, leaves out headers it must cover, or differs (a wrong secret, a changed request or body).",
  },
  InvalidAccessKeyID: {
    status: 403,
    doc: 'Function Compute API: no access key has that id (it may have been deleted).',
  },
  RequestTimeTooSkewed: {
    status: 403,
    doc: "Function Compute API: `x-acs-date` is more than 15 minutes from the server's time, or not a time.",
  },
  SignatureNonceUsed: {
    status: 403,
    doc: 'Function Compute API: the access key sent this `x-acs-signature-nonce` within the last 15 minutes: a signed request is served once.',
  },
  PathNotSupported: {
    status: 400,
    doc: "Function Compute API: Sluice does not implement that operation of Function Compute's API (README lists those it does).",
  },
  PayloadTooLarge: { status: 413, doc: 'The request body is larger than the endpoint accepts.' },
  CodeTooLarge: { status: 413, doc: 'The code package, zipped or unzipped, is larger than the limit.' },
  UnsupportedMediaType: {
    status: 415,
    doc: 'The request body has a content type the endpoint does not accept.',
  },
  TooManyRequests: {
    status: 429,
    doc: "The function's instances and wait queue are full; retry later.",
  },
  UnhandledInvocationError: {
    status: 502,
    doc: 'The handler threw, rejected or returned an error; `details` holds its type and stack.',
  },
  InvalidFunctionResponse: {
    status: 502,
    doc: 'The handler answered an HTTP trigger with something Sluice cannot send: a bad status, header name or value.',
  },
  FunctionInitializationError: {
    status: 502,
    doc: 'The handler could not be loaded: its file or export is missing, or loading it threw.',
  },
  InstanceCrashed: {
    status: 502,
    doc: "The function's process exited or was killed during the invocation.",
  },
  MemoryLimitExceeded: { status: 502, doc: "The instance used more memory than the function's memorySize." },
  ResponseTooLarge: { status: 502, doc: 'The handler returned more than the response limit (6 MB).' },
  ServiceUnavailable: { status: 503, doc: 'The server is shutting down and takes no new invocations.' },
  FunctionTimeout: { status: 504, doc: "The invocation ran longer than the function's timeout." },
  InternalError: { status: 500, doc: 'Sluice failed; the request id leads to the server log.' },
} as const satisfies Record<string, { status: number; doc: string }>;

export type ErrorCode = keyof typeof errorCatalog;

/** One problem with one field, located by a path such as `canary.rules[2].op`. */
export interface FieldIssue {
  path: string;
  message: string;
}

export class SluiceError extends Error {
  override readonly name = 'SluiceError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly FieldIssue[] | Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.status = errorCatalog[code].status;
  }
}

export function isSluiceError(error: unknown): error is SluiceError {
  return error instanceof SluiceError;
}

/**
 * An InvalidArgument with its field paths renamed as another wire names the core's fields (`memorySize` →
 * `MemorySize`), its message led by the first problem; any other error as it is.
 */
export function withFieldNames(error: unknown, names: readonly (readonly [RegExp, string])[]): unknown {
  if (!isSluiceError(error) || error.code !== 'InvalidArgument' || !Array.isArray(error.details))
    return error;
  const details = (error.details as FieldIssue[]).map((issue) => {
    const rename = names.find(([pattern]) => pattern.test(issue.path));
    return rename ? { ...issue, path: rename[1] } : issue;
  });
  const first = details[0];
  return new SluiceError(
    'InvalidArgument',
    first ? `${first.path}: ${first.message}` : error.message,
    details,
  );
}
