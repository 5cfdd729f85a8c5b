import type { Page } from '../core/model.js';

/** Page tokens are opaque to callers: the key of the last item returned, base64url-encoded. */
export function encodePageToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodePageToken(token: string | undefined): string | undefined {
  return token === undefined ? undefined : Buffer.from(token, 'base64url').toString('utf8');
}

/** Cuts `rows` (fetched with one row more than `limit`) into a page and the token of the next. */
export function pageOf<T>(rows: T[], limit: number, keyOf: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextToken: encodePageToken(keyOf(items[items.length - 1] as T)) };
}
