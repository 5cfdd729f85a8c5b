import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { carriesSluiceToken } from '../auth/tokens.js';
import { SluiceError } from '../core/errors.js';
import type { InvocationResult } from '../runtime/instance.js';

const TEXTUAL = /^(text\/|application\/(json|xml|x-www-form-urlencoded|javascript)|[^;]*\+(json|xml))/i;

export interface EventContext {
  /** The request was authenticated by its Authorization header, which the function must not see. */
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

/**
 * The event an HTTP-triggered handler receives, in Function Compute 3.0's form, as JSON text. Written out field
 * by field, in the order `JSON.stringify` of the same object would give: on the trigger's path, building that
 * object and encoding it took twice as long. Text, not bytes: the frame that carries it encodes it once.
 */
export function httpEvent(
  req: IncomingMessage,
  url: URL,
  rawPath: string,
  body: Buffer,
  context: EventContext,
  stage?: StageContext,
): string {
  const text = TEXTUAL.test(req.headers['content-type'] ?? 'text/plain') && isUtf8(body);
  let headers = '';
  const given = req.headers;
  // Names alone: Object.entries made a pair for each header of every request.
  for (const name of Object.keys(given)) {
    const value = given[name];
    if (value === undefined) continue;
    if (name === 'authorization' && (context.authenticated || carriesSluiceToken(String(value)))) continue;
    headers += `${headers === '' ? '' : ','}${quote(name)}:${quote(Array.isArray(value) ? value.join(', ') : value)}`;
  }
  const method = quote(req.method ?? 'GET');
  const path = quote(rawPath);
  return (
    `{"version":"v1","rawPath":${path},"headers":{${headers}},"queryParameters":${queryParameters(url)},` +
    (stage
      ? `"pathParameters":${JSON.stringify(stage.pathParameters)},"stageVariables":${JSON.stringify(stage.stageVariables)},`
      : '') +
    `"body":${quote(text ? body.toString('utf8') : body.toString('base64'))},"isBase64Encoded":${!text},` +
    `"requestContext":{"accountId":"sluice","domainName":${quote(req.headers.host ?? '')},` +
    `"functionName":${quote(context.functionName)},"qualifier":${quote(context.qualifier)},` +
    `"requestId":${quote(context.requestId)},` +
    (stage
      ? `"apiName":${quote(stage.apiName)},"stage":${quote(stage.stage)},"route":${quote(stage.route)},`
      : '') +
    `"time":"${isoTime(context.now)}","timeEpoch":"${context.now}",` +
    `"http":{"method":${method},"path":${path},"protocol":${quote(`HTTP/${req.httpVersion}`)},` +
    `"sourceIp":${quote(req.socket.remoteAddress ?? '')},"userAgent":${quote(req.headers['user-agent'] ?? '')}}}}`
  );
}

/** What JSON.stringify would escape in a string: quotes, backslashes, controls and lone surrogates. */
// eslint-disable-next-line no-control-regex -- the control characters are what it looks for
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A string as JSON: most need no escape, and JSON.stringify took a third of the event's time over them. */
function quote(value: string): string {
  return ESCAPED.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** The query's parameters as a JSON object, the first value of each name. */
function queryParameters(url: URL): string {
  if (url.search === '') return '{}';
  const parameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) parameters[name] ??= value;
  return JSON.stringify(parameters);
}

/** The ISO time of the last call, reused while the millisecond is the same: most are, under load. */
let lastTime = { ms: NaN, iso: '' };

function isoTime(ms: number): string {
  if (ms !== lastTime.ms) lastTime = { ms, iso: new Date(ms).toISOString() };
  return lastTime.iso;
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Headers of the handler's that Sluice did not pass on, because they are the platform's or the connection's. */
  dropped: string[];
}

export const CONTENT_TYPES = {
  text: 'text/plain; charset=utf-8',
  bytes: 'application/octet-stream',
  json: 'application/json',
};

/** RFC 9110's token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible characters, spaces and tabs: no CR, LF or NUL that would end the header early. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers about the connection rather than the answer (RFC 9110 7.6.1), and the lengths Sluice sets itself. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
]);

/** The platform reports the request id and the version that ran in these: a handler may not forge them. */
function isPlatformHeader(name: string): boolean {
  return name.startsWith('x-fc-') || name.startsWith('x-sluice-') || HOP_BY_HOP.has(name);
}

const STATUS_CODE_KEY = Buffer.from('"statusCode"');

/**
 * What a handler's return becomes: `{statusCode, headers?, body?, isBase64Encoded?}` is an HTTP response;
 * anything else is the body of a 200, typed by what the handler returned.
 */
export function httpAnswer(result: InvocationResult): HttpAnswer {
  const plain = {
    statusCode: 200,
    headers: { 'content-type': CONTENT_TYPES[result.kind] },
    body: result.body,
    dropped: [],
  };
  // Every runtime writes JSON's keys unescaped: a result without this text has no statusCode to parse for.
  if (result.kind !== 'json' || !result.body.includes(STATUS_CODE_KEY)) return plain;
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
  const dropped: string[] = [];
  if (response.headers !== undefined) {
    if (
      typeof response.headers !== 'object' ||
      response.headers === null ||
      Array.isArray(response.headers)
    ) {
      throw invalid('headers must be an object of strings');
    }
    for (const [name, v] of Object.entries(response.headers)) {
      if (!HEADER_NAME.test(name)) throw invalid(`${JSON.stringify(name)} is not a valid header name`);
      if (typeof v !== 'string' && typeof v !== 'number') throw invalid(`header ${name} must be a string`);
      const text = String(v);
      if (!HEADER_VALUE.test(text)) {
        throw invalid(`header ${name} has a character a header cannot carry (CR, LF, NUL, beyond Latin-1)`);
      }
      const lower = name.toLowerCase();
      if (isPlatformHeader(lower)) dropped.push(lower);
      else headers[lower] = text;
    }
  }
  const raw = response.body ?? '';
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
  const body = response.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (typeof raw !== 'string') headers['content-type'] ??= 'application/json';
  return { statusCode: status, headers, body, dropped };
}

function invalid(why: string): SluiceError {
  return new SluiceError('InvalidFunctionResponse', `the handler returned an invalid HTTP response: ${why}`);
}
