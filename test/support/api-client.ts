export interface ApiResult {
  status: number;
  headers: Headers;
  body: unknown;
  bytes: Buffer;
}

export type ApiCall = (
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<ApiResult>;

/** A small client for tests: JSON bodies by default, raw Buffers sent as they are. */
export function apiClient(baseUrl: string, token: string | undefined): ApiCall {
  return async (method, path, body, headers = {}) => {
    const init: RequestInit = { method, headers: { ...headers } };
    const h = init.headers as Record<string, string>;
    if (token !== undefined && h.authorization === undefined) h.authorization = `Bearer ${token}`;
    if (Buffer.isBuffer(body)) {
      init.body = body;
      h['content-type'] ??= 'application/zip';
    } else if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, init).catch((error: unknown) => {
      // fetch says only "fetch failed"; what failed is in its cause.
      const cause = (error as { cause?: unknown }).cause;
      throw new Error(`${method} ${path}: ${String(error)} (${String(cause)})`, { cause: error });
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    let parsed: unknown = undefined;
    if ((res.headers.get('content-type') ?? '').includes('json') && bytes.length > 0) {
      parsed = JSON.parse(bytes.toString('utf8'));
    }
    return { status: res.status, headers: res.headers, body: parsed, bytes };
  };
}

/** The error code of a failed call, for terse assertions. */
export function errorCode(result: ApiResult): string | undefined {
  return (result.body as { error?: { code?: string } } | undefined)?.error?.code;
}
