import type { IncomingMessage } from 'node:http';

/**
 * What a request signed with an access key is checked against, whatever the vendor's scheme: the path and
 * query exactly as sent, the headers as Node's `headersDistinct`.
 */
export interface SignedRequest {
  method: string;
  /** The path as sent, percent-encoding kept, without the query. */
  rawPath: string;
  /** The query string as sent, without `?`; '' for none. */
  rawQuery: string;
  headers: Readonly<Record<string, readonly string[] | undefined>>;
}

export function signedRequestOf(req: IncomingMessage): SignedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: req.method ?? 'GET',
    rawPath: q < 0 ? url : url.slice(0, q),
    rawQuery: q < 0 ? '' : url.slice(q + 1),
    headers: req.headersDistinct,
  };
}

/** Access keys as the credentials give them: the secret to check signatures with, and who holds it. */
export interface AccessKeys<P> {
  accessKey(id: string): Promise<{ secret: string; principal: P } | undefined>;
}
