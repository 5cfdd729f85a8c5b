import type { Page } from '../core/model.js';
import { SluiceError } from '../core/errors.js';

/** Page tokens are opaque to callers: the key of the last item returned, in a form that a made-up token fails. */
export function encodePageToken(key: string): string {
  return Buffer.from(JSON.stringify({ after: key }), 'utf8').toString('base64url');
}

/** The key a token of `encodePageToken` holds; any other token is refused, never read as an empty page. */
export function decodePageToken(
  token: string | undefined,
  isKey: (key: string) => boolean = () => true,
): string | undefined {
  if (token === undefined) return undefined;
  let key: unknown;
  try {
    key = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown }).after;
  } catch {
    key = undefined;
  }
  if (typeof key !== 'string' || !isKey(key) || encodePageToken(key) !== token) {
    throw new SluiceError('InvalidArgument', 'nextToken is not a token that a page of this list gave', [
      { path: 'nextToken', message: 'is not a token that a page of this list gave' },
    ]);
  }
  return key;
}

/** The page tokens of versions hold a version number. */
export const isVersionKey = (key: string): boolean => /^[1-9]\d{0,15}$/.test(key);

/** Cuts `rows` (fetched with one row more than `limit`) into a page and the token of the next. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextToken: encodePageToken(keyOf(items[items.length - 1] as T)) };
}
