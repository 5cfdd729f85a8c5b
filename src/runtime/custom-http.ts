import type { IncomingHttpHeaders } from 'node:http';

/**
 * The custom runtime's HTTP, as Function Compute's: an invocation is `POST /invoke` with the payload as its
 * body and the invocation's ids in `x-fc-*` headers; an HTTP trigger's event is the request it describes, those
 * headers added; the server's answer is the invocation's result, or its error.
 */

/** What the custom runtime's requests say of the function and of the invocation. */
export interface CustomInvocation {
  function: { name: string; handler: string; memorySize: number; timeout: number };
  requestId: string;
  qualifier: string;
  versionId: string;
  /** The payload is an HTTP trigger's event, replayed as the request it describes. */
  http: boolean;
}

export interface CustomRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** What an answer makes of the invocation: a result, or an error as a runtime reports one. */
export type InvocationOutcome =
  | { type: 'result'; kind: 'json' | 'text' | 'bytes'; body: Buffer; ranMs?: number | undefined }
  | { type: 'error'; errorType: string; errorMessage: string; stackTrace: string[] };

/** The HTTP trigger's event, as src/gateway/http-event.ts makes it: the parts a request is rebuilt from. */
interface HttpEvent {
  rawPath: string;
  headers: Record<string, string>;
  queryParameters: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
  requestContext: { http: { method: string } };
}

/** The connection's own headers on an answer, which the connection to the caller sets for itself. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

function idHeaders(invocation: CustomInvocation): Record<string, string> {
  const fn = invocation.function;
  return {
    'x-fc-request-id': invocation.requestId,
    'x-fc-function-name': fn.name,
    'x-fc-function-handler': fn.handler,
    'x-fc-function-memory': String(fn.memorySize),
    'x-fc-function-timeout': String(fn.timeout),
    'x-fc-service-name': fn.name,
    'x-fc-qualifier': invocation.qualifier,
    'x-fc-version-id': invocation.versionId,
    'x-fc-region': 'local',
    'x-fc-account-id': 'sluice',
  };
}

export function customRequest(invocation: CustomInvocation, payload: Buffer | string): CustomRequest {
  if (!invocation.http) {
    return {
      method: 'POST',
      path: '/invoke',
      headers: { 'content-type': 'application/octet-stream', ...idHeaders(invocation) },
      body: typeof payload === 'string' ? Buffer.from(payload) : payload,
    };
  }
  const event = JSON.parse(payload.toString()) as HttpEvent;
  const query = new URLSearchParams(event.queryParameters).toString();
  return {
    method: event.requestContext.http.method,
    path: `${event.rawPath}${query ? `?${query}` : ''}`,
    headers: { ...event.headers, ...idHeaders(invocation) },
    body: Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8'),
  };
}

/** The invocation's outcome from the server's answer. */
export function customOutcome(
  invocation: CustomInvocation,
  answer: { status: number; statusMessage: string; headers: IncomingHttpHeaders; body: Buffer },
): InvocationOutcome {
  const { status, body } = answer;
  if (invocation.http) {
    const response = {
      statusCode: status,
      headers: flatten(answer.headers),
      body: body.toString('base64'),
      isBase64Encoded: true,
    };
    return { type: 'result', kind: 'json', body: Buffer.from(JSON.stringify(response)) };
  }
  if (status >= 200 && status < 300)
    return { type: 'result', kind: kindOf(answer.headers['content-type'], body), body };
  // An event function fails by answering an error status; what it says is the error's detail.
  const text = body.toString('utf8', 0, Math.min(body.length, 4096)).trimEnd();
  return {
    type: 'error',
    errorType: 'HttpError',
    errorMessage: `POST /invoke answered ${status} ${answer.statusMessage}`.trimEnd(),
    stackTrace: text === '' ? [] : text.split('\n'),
  };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** JSON and text answers keep their type for the caller; anything else is bytes. */
function kindOf(contentType: string | undefined, body: Buffer): 'json' | 'text' | 'bytes' {
  if (/^application\/json\b/i.test(contentType ?? '')) {
    try {
      JSON.parse(body.toString('utf8'));
      return 'json';
    } catch {
      return 'bytes';
    }
  }
  return /^text\//i.test(contentType ?? '') ? 'text' : 'bytes';
}
