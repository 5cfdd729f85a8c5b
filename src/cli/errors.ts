/** A failure to report to the user as one line, with a non-zero exit status. */
export class CliError extends Error {
  override readonly name: string = 'CliError';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The command line itself is wrong (unknown flag or command, a missing or malformed argument): exit 2. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message, 2);
  }
}

/** The server answered with an error: `{error: {code, message, details}}`. */
export class ApiError extends CliError {
  override readonly name = 'ApiError';

  constructor(
    readonly code: string,
    readonly status: number,
    readonly apiMessage: string,
    readonly details: unknown,
    /** The function the request was about, when its path names one. */
    readonly functionName?: string,
  ) {
    super(`${code}: ${apiMessage}`);
  }
}
