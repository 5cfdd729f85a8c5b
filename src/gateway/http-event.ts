import type { IncomingMessage } from 'node:http';
import { SluiceError } from '../core/errors.js';
import type { InvocationResult } from '../runtime/instance.js';

const TEXTUAL = /^(text\/|application\/(json|xml|x-www-form-urlencoded|javascript)|[^;]*\+(json|xml))/i;

export interface EventContext {
  /** The request carried a Sluice token, which the function must not see. */
  authenticated: boolean;
  requestId: string;
  functionName: string;
  qualifier: string;
  now: number;
}

/** What a request through an API stage adds to its event. */
export interface StageContext {
  apiName: string;
  stage: string;
  route: string;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
}

/** The event an HTTP-triggered handler receives, in Function Compute 3.0's form. */
export function httpEvent(
  req: IncomingMessage,
  url: URL,
  rawPath: string,
  body: Buffer,
  context: EventContext,
  stage?: StageContext,
): Buffer {
  const text = TEXTUAL.test(req.headers['content-type'] ?? 'text/plain') && isUtf8(body);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name === 'authorization' && context.authenticated) continue;
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const queryParameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) queryParameters[name] ??= value;
  return Buffer.from(
    JSON.stringify({
      version: 'v1',
      rawPath,
      headers,
      queryParameters,
      ...(stage && { pathParameters: stage.pathParameters, stageVariables: stage.stageVariables }),
      body: text ? body.toString('utf8') : body.toString('base64'),
      isBase64Encoded: !text,
      requestContext: {
        accountId: 'sluice',
        domainName: req.headers.host ?? '',
        functionName: context.functionName,
        qualifier: context.qualifier,
        requestId: context.requestId,
        ...(stage && { apiName: stage.apiName, stage: stage.stage, route: stage.route }),
        time: new Date(context.now).toISOString(),
        timeEpoch: String(context.now),
        http: {
          method: req.method ?? 'GET',
          path: rawPath,
          protocol: `HTTP/${req.httpVersion}`,
          sourceIp: req.socket.remoteAddress ?? '',
          userAgent: req.headers['user-agent'] ?? '',
        },
      },
    }),
  );
}

function isUtf8(body: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
    return true;
  } catch {
    return false;
  }
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
}

const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  bytes: 'application/octet-stream',
  json: 'application/json',
};

/**
 * What a handler's return becomes: `{statusCode, headers?, body?, isBase64Encoded?}` is an HTTP response;
 * anything else is the body of a 200, typed by what the handler returned.
 */
export function httpAnswer(result: InvocationResult): HttpAnswer {
  const plain = {
    statusCode: 200,
    headers: { 'content-type': CONTENT_TYPES[result.kind] },
    body: result.body,
  };
  if (result.kind !== 'json') return plain;
  const value = JSON.parse(result.body.toString('utf8')) as unknown;
  if (typeof value !== 'object' || value === null || !('statusCode' in value)) return plain;
  const response = value as {
    statusCode: unknown;
    headers?: unknown;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const status = response.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) {
    throw invalid(`statusCode must be an integer from 100 to 599, not ${JSON.stringify(status)}`);
  }
  const headers: Record<string, string> = {};
  if (response.headers !== undefined) {
    if (
      typeof response.headers !== 'object' ||
      response.headers === null ||
      Array.isArray(response.headers)
    ) {
      throw invalid('headers must be an object of strings');
    }
    for (const [name, v] of Object.entries(response.headers)) {
      if (typeof v !== 'string' && typeof v !== 'number') throw invalid(`header ${name} must be a string`);
      headers[name.toLowerCase()] = String(v);
    }
  }
  const raw = response.body ?? '';
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  const body = response.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (typeof raw !== 'string') headers['content-type'] ??= 'application/json';
  return { statusCode: status, headers, body };
}

function invalid(why: string): SluiceError {
  return new SluiceError(
    'UnhandledInvocationError',
    `the handler returned an invalid HTTP response: ${why}`,
    {
      errorType: 'InvalidHttpResponse',
      stackTrace: [],
    },
  );
}
