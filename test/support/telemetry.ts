import type { InvocationLog } from '../../src/core/telemetry.js';

/** A successful invocation's log record of function f, version 1, on alias live; some fields replaced. */
export function invocationLog(overrides: Partial<InvocationLog> = {}): InvocationLog {
  return {
    functionName: 'f',
    versionId: '1',
    qualifier: 'live',
    requestId: 'r',
    at: 0,
    durationMs: 1,
    initDurationMs: undefined,
    outcome: 'success',
    errorCode: undefined,
    text: '',
    ...overrides,
  };
}
