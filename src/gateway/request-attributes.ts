import type { IncomingHttpHeaders } from 'node:http';
import { SluiceError } from '../core/errors.js';
import { type RoutingKey, checkRoutingKey, entriesByHeaderName } from '../core/routing-key.js';
import type { LookupSource, ParameterLookup } from '../core/routing.js';
import { Issues } from '../core/validate.js';

export const ROUTING_KEY_HEADER = 'x-sluice-routing-key';
/** The invoke API also takes the routing key in its query string, URL-encoded: `?routingKey={"User":"Bob"}`. */
export const ROUTING_KEY_PARAM = 'routingKey';

/** Tencent's RoutingKey: a JSON object of strings, such as `{"userId":"42"}`, sent in `where`. */
export function parseRoutingKey(
  text: string | undefined,
  where = ROUTING_KEY_HEADER,
): RoutingKey | undefined {
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new SluiceError(
      'InvalidArgument',
      `${where} must be a JSON object of strings, such as {"userId":"42"}`,
      [{ path: where, message: 'is not valid JSON' }],
    );
  }
  const issues = new Issues();
  const routingKey = checkRoutingKey(parsed, where, issues);
  issues.throwIfAny(`the routing key in ${where}`);
  return routingKey;
}

/**
 * A request's routing key: `x-sluice-routing-key`, or where `query` is given (the invoke API's, whose query
 * string is the platform's, unlike a trigger's) `?routingKey=` as well; one of them, once.
 */
export function requestRoutingKey(
  headers: IncomingHttpHeaders,
  query: URLSearchParams | undefined,
): RoutingKey | undefined {
  const header = headers[ROUTING_KEY_HEADER] as string | undefined;
  const params = query?.getAll(ROUTING_KEY_PARAM) ?? [];
  if (params.length > 1 || (params.length === 1 && header !== undefined)) {
    throw new SluiceError(
      'InvalidArgument',
      `give the routing key once: in ${ROUTING_KEY_HEADER} or in the query parameter ${ROUTING_KEY_PARAM}`,
      [{ path: ROUTING_KEY_PARAM, message: 'is given more than once' }],
    );
  }
  return header === undefined ? parseRoutingKey(params[0], ROUTING_KEY_PARAM) : parseRoutingKey(header);
}

/** `a=1; b = 2 ;c="3"` → {a: '1', b: '2', c: '3'}; the first of repeated names wins. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (name && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/**
 * What routing may read of a request: its headers (names lower-case; repeated ones joined by ", "), cookies,
 * query parameters (the first of repeated ones) and routing key. Cookies are parsed only if a rule asks, the
 * routing key's names folded to header names only if a header rule finds no header.
 */
export function requestLookup(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  routingKey: RoutingKey | undefined,
): ParameterLookup {
  let cookies: Map<string, string> | undefined;
  let keyByHeader: ReadonlyMap<string, string> | undefined;
  return (source: LookupSource, name: string) => {
    switch (source) {
      case 'header': {
        const value = headers[name];
        return Array.isArray(value) ? value.join(', ') : value;
      }
      case 'cookie':
        cookies ??= parseCookies(headers.cookie);
        return cookies.get(name);
      case 'query':
        return query.get(name) ?? undefined;
      case 'key':
        return routingKey && Object.hasOwn(routingKey, name) ? routingKey[name] : undefined;
      case 'routingKeyHeader':
        if (!routingKey) return undefined;
        keyByHeader ??= entriesByHeaderName(routingKey);
        return keyByHeader.get(name);
    }
  };
}
