import type { IncomingHttpHeaders } from 'node:http';
import type { Source } from '../core/conditions.js';
import { SluiceError } from '../core/errors.js';
import type { ParameterLookup } from '../core/routing.js';
import { isPlainObject } from '../core/validate.js';

export const ROUTING_KEY_HEADER = 'x-sluice-routing-key';

/** Tencent's RoutingKey: a JSON object of strings in `x-sluice-routing-key`. */
export function parseRoutingKey(header: string | undefined): Record<string, string> | undefined {
  if (header === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch {
    throw new SluiceError(
      'InvalidArgument',
      `${ROUTING_KEY_HEADER} must be a JSON object of strings, such as {"userId":"42"}`,
      [{ path: ROUTING_KEY_HEADER, message: 'is not valid JSON' }],
    );
  }
  if (!isPlainObject(parsed)) {
    throw new SluiceError('InvalidArgument', `${ROUTING_KEY_HEADER} must be a JSON object of strings`, [
      { path: ROUTING_KEY_HEADER, message: 'must be an object' },
    ]);
  }
  for (const [key, value] of Object.entries(parsed)) {
    if (typeof value !== 'string') {
      throw new SluiceError(
        'InvalidArgument',
        `${ROUTING_KEY_HEADER}: the value of "${key}" must be a string`,
        [{ path: `${ROUTING_KEY_HEADER}.${key}`, message: 'must be a string' }],
      );
    }
  }
  return parsed as Record<string, string>;
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
 * query parameters (the first of repeated ones) and routing key. Cookies are parsed only if a rule asks.
 */
export function requestLookup(
  headers: IncomingHttpHeaders,
  query: URLSearchParams,
  routingKey: Record<string, string> | undefined,
): ParameterLookup {
  let cookies: Map<string, string> | undefined;
  return (source: Source, name: string) => {
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
    }
  };
}
