import { dataPlaneBase, type FieldIssue } from '../../contract/domain.js';
import type { Condition as Rule } from '../../contract/schemas/aliases.js';
import type { ServerView } from '../../contract/schemas/server.js';
/**
 * The console's only way to the server: the public `/v1` API with the bearer token the user signed in with,
 * kept in sessionStorage (gone when the tab closes). Nothing here that the CLI could not do.
 */

const TOKEN_KEY = 'sluice.token';

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

export type { FieldIssue };

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
    readonly details?: unknown,
  ) {
    super(message);
  }

  /** The field issues of an InvalidArgument error, `[]` for any other. */
  get issues(): FieldIssue[] {
    return Array.isArray(this.details) ? (this.details as FieldIssue[]) : [];
  }
}

/** Fired on a 401 from any call: the app goes back to the sign-in screen. */
export const UNAUTHORIZED_EVENT = 'sluice:unauthorized';

export interface RequestOptions {
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  token?: string;
}

/** Sends a request with the token; throws ApiError for an error answer or an unreachable server. */
export async function request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token ?? getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  }
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      ...(body !== undefined && { body }),
      ...(options.signal && { signal: options.signal }),
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'Unreachable', `The server at ${location.host} did not answer (${String(error)}).`);
  }
  if (res.ok) return res;
  let code = `Http${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let requestId = res.headers.get('x-sluice-request-id') ?? res.headers.get('x-fc-request-id') ?? undefined;
  let details: unknown;
  try {
    const parsed = (await res.json()) as {
      error?: { code?: string; message?: string; requestId?: string; details?: unknown };
    };
    if (parsed.error) {
      code = parsed.error.code ?? code;
      message = parsed.error.message ?? message;
      requestId = parsed.error.requestId ?? requestId;
      details = parsed.error.details;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  if (res.status === 401 && options.token === undefined) {
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: message }));
  }
  throw new ApiError(res.status, code, message, requestId, details);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await request('GET', path, signal ? { signal } : {});
  return (await res.json()) as T;
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the shape it expects
export async function sendJson<T>(
  method: string,
  path: string,
  json: unknown,
  headers: Record<string, string> = {},
): Promise<{ body: T; res: Response }> {
  const res = await request(method, path, { json, headers });
  const text = await res.text();
  return { body: (text ? JSON.parse(text) : undefined) as T, res };
}

export const enc = encodeURIComponent;

let server: Promise<ServerView> | undefined;

/** Asked once per page load; asked again after a failure (before sign-in, for one). */
export function serverInfo(): Promise<ServerView> {
  server ??= getJson<ServerView>('/v1/server').catch((error: unknown) => {
    server = undefined;
    throw error;
  });
  return server;
}

/** Where HTTP triggers and API stages are served: on an origin of their own when the server gives them one. */
export async function dataPlaneUrl(): Promise<string> {
  return dataPlaneBase(location.origin, (await serverInfo()).dataPlane);
}
export const fnPath = (name: string) => `/v1/functions/${enc(name)}`;

// The public JSON shapes, as the server's schemas declare them.

export type {
  FunctionConfigView as FunctionConfig,
  FunctionView,
  VersionView,
} from '../../contract/schemas/functions.js';
export type {
  AliasSpecView,
  AliasView,
  CanaryView,
  Condition as Rule,
  HistoryView as HistoryEntry,
} from '../../contract/schemas/aliases.js';
export type { MetricsSeries, MetricsView, LogView, Summary } from '../../contract/schemas/telemetry.js';
export type {
  ApiView,
  StageHistoryView as StageHistoryEntry,
  StageView,
} from '../../contract/schemas/apis.js';
export type { RolloutView } from '../../contract/schemas/rollouts.js';
export type { TriggerList, TriggerView } from '../../contract/schemas/triggers.js';
export type { AsyncInvocationList, AsyncInvocationView } from '../../contract/schemas/async.js';
export type RuleSource = Rule['source'];
export type RuleOp = Rule['op'];

/** Every page of a paged listing (functions, versions), up to a bound. */
export async function listAll<T>(path: string, key: string, signal?: AbortSignal, max = 1000): Promise<T[]> {
  const items: T[] = [];
  let next: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const url: string = `${path}${sep}limit=100${next ? `&nextToken=${enc(next)}` : ''}`;
    const page = await getJson<Record<string, unknown> & { nextToken: string | null }>(url, signal);
    items.push(...((page[key] as T[] | undefined) ?? []));
    next = page.nextToken;
  } while (next && items.length < max);
  return items;
}

export interface Invocation {
  status: number;
  ok: boolean;
  requestId: string | null;
  /** The version that ran (`x-fc-invocation-function-version`): `LATEST` or a version id. */
  versionId: string | null;
  errorType: string | null;
  /** The decoded tail of the invocation's log (`x-fc-log-type: Tail`). */
  log: string;
  body: string;
  elapsedMs: number;
}

/** Invokes a function through the invoke API, asking for the log tail; an error answer is returned, not thrown. */
export async function invoke(
  name: string,
  qualifier: string,
  payload: string,
  headers: Record<string, string>,
  decodeLog: (base64: string) => string,
): Promise<Invocation> {
  const token = getToken();
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(`${fnPath(name)}/invocations?qualifier=${enc(qualifier)}`, {
      method: 'POST',
      headers: {
        ...headers,
        'x-fc-log-type': 'Tail',
        'content-type': 'application/octet-stream',
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: payload,
    });
  } catch (error) {
    throw new ApiError(0, 'Unreachable', `The server at ${location.host} did not answer (${String(error)}).`);
  }
  const body = await res.text();
  if (res.status === 401) {
    window.dispatchEvent(new CustomEvent(UNAUTHORIZED_EVENT, { detail: 'the invoke API refused the token' }));
  }
  const logHeader = res.headers.get('x-fc-log-result');
  return {
    status: res.status,
    ok: res.ok,
    requestId: res.headers.get('x-fc-request-id'),
    versionId: res.headers.get('x-fc-invocation-function-version'),
    errorType: res.headers.get('x-fc-error-type'),
    log: logHeader ? decodeLog(logHeader) : '',
    body,
    elapsedMs: performance.now() - started,
  };
}

/**
 * Queues an asynchronous invocation (Function Compute's `x-fc-invocation-type: Async`): the server checks the
 * request and answers 202 at once; the version is chosen when the event runs. Throws the API's refusal.
 */
export async function invokeAsync(
  name: string,
  qualifier: string,
  payload: string,
  headers: Record<string, string>,
): Promise<{ requestId: string }> {
  const res = await request('POST', `${fnPath(name)}/invocations?qualifier=${enc(qualifier)}`, {
    body: payload,
    headers: { ...headers, 'x-fc-invocation-type': 'Async', 'content-type': 'application/octet-stream' },
  });
  return (await res.json()) as { requestId: string };
}
