import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Static, TSchema } from '@sinclair/typebox';
import { SluiceError } from '../core/errors.js';
import { validator } from '../contract/validate.js';
import { jsonCodeLimit } from '../api/code-input.js';
import { type ApiDeps, type Changed, JSON_LIMIT } from '../api/context.js';
import type { Target, Wire } from '../gateway/gateway.js';
import { readJson } from '../http/body.js';
import { sendJson } from '../http/respond.js';
import { decodeParams, type Route } from '../http/router.js';
import type { Change } from '../store/store.js';
import { sendFcError } from './errors.js';
import { fcRoutes } from './routes.js';
import type { AccessKeys } from '../auth/signed-request.js';
import { authenticateSigned } from './signed.js';

/** What a credential needs for an operation: the control plane's `deploy`, or the data plane's `invoke`. */
export type Need = 'deploy' | 'invoke';

/** Who signed a request, as the credentials describe them. */
export interface FcPrincipal {
  /** As histories record the credential. */
  actor: string;
  /** When set, the credential reaches only functions whose names start with it. */
  functionPrefix?: string;
}

export interface FcDeps<P extends FcPrincipal> {
  api: Pick<ApiDeps, 'store' | 'codeLimits' | 'zipWorkers' | 'clock' | 'runtimeProblem'>;
  accessKeys: AccessKeys<P>;
  /** Refuses (Forbidden) what the principal may not do, on one function or, without one, at all. */
  authorize: (principal: P, need: Need, functionName?: string) => void;
  /** Called after every write, before its answer, so that the data plane serves what the caller was told. */
  changed: (what: Changed) => Promise<void>;
  /** The data plane's invoke path. */
  invoke: (req: IncomingMessage, res: ServerResponse, url: URL, target: Target, wire: Wire) => Promise<void>;
  maxPayloadBytes: number;
  log: (line: string) => void;
}

/** A request to an operation, once its caller is known and its body checked. */
export interface FcRequest<B = undefined> {
  params: Record<string, string>;
  query: URLSearchParams;
  body: B;
  /** The prefix of function names the caller is limited to, if it is. */
  functionPrefix: string | undefined;
  change: Change;
}

export interface FcAnswer {
  status: number;
  json?: unknown;
}

/** One operation of FC's API that Sluice implements. */
export interface FcRoute {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** FC's name for it, as the README's table lists it. */
  action: string;
  path: string;
  need: Need;
  query?: readonly string[];
  /** The function it concerns is named in the path, or in the body (`functionName` of a create). */
  functionOf?: (params: Record<string, string>, body: unknown) => string | undefined;
  /** Its JSON body: checked before the handler runs; bytes beyond `limit` (JSON_LIMIT) are refused. */
  body?: { schema: TSchema; optional?: boolean; code?: boolean };
  handler: (request: FcRequest<never>) => Promise<FcAnswer>;
}

/** Declares a route whose handler sees its body typed by its schema. */
export function fcRoute<S extends TSchema>(
  route: Omit<FcRoute, 'handler' | 'body'> & { body: { schema: S; optional?: boolean; code?: boolean } },
  handler: (request: FcRequest<Static<S>>) => Promise<FcAnswer>,
): FcRoute {
  return { ...route, handler };
}

export const FC_PREFIX = '/2023-03-30/';

/** Invocations go through the data plane; every other operation is a route of `fcRoutes`. */
const INVOCATIONS = '/2023-03-30/functions/{functionName}/invocations';

/**
 * Function Compute 3.0's API (`/2023-03-30/…`), so that FC's SDKs and scripts work against Sluice: requests
 * authenticated by their `ACS3-HMAC-SHA256` signature with an access key and authorized by its scope, bodies
 * and answers in FC's shapes, every operation served by the same services and store as `/v1`, invocations by
 * the same data plane. An operation of FC's that Sluice lacks answers FC's PathNotSupported.
 */
export function createFcApi<P extends FcPrincipal>(deps: FcDeps<P>) {
  const routes = fcRoutes(deps);
  const checks = new Map(routes.map((r) => [r, r.body && validator(r.body.schema)]));
  const signed = { accessKeys: deps.accessKeys, store: deps.api.store, clock: deps.api.clock };
  const codeLimit = jsonCodeLimit(deps.api.codeLimits);
  const fail = (res: ServerResponse, error: unknown, requestId: string, what: string) => {
    sendFcError(res, error, requestId, (e) => {
      deps.log(`error ${requestId} ${what}: ${(e as Error).stack ?? String(e)}`);
    });
  };

  /** `POST …/invocations?qualifier=Q`: synchronous only, the signer allowed to invoke the function. */
  async function invoke(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    functionName: string,
  ): Promise<void> {
    const principal = await authenticateSigned(req, signed, deps.maxPayloadBytes);
    checkQuery(url.searchParams, ['qualifier']);
    const type = String(req.headers['x-fc-invocation-type'] ?? 'Sync');
    if (type === 'Async')
      throw new SluiceError(
        'PathNotSupported',
        "asynchronous invocation (x-fc-invocation-type: Async) is not supported by Sluice's Function Compute API",
      );
    if (type !== 'Sync')
      throw new SluiceError('InvalidArgument', `x-fc-invocation-type must be Sync, not ${type}`, [
        { path: 'x-fc-invocation-type', message: 'must be Sync' },
      ]);
    const qualifierText = url.searchParams.get('qualifier') ?? undefined;
    await deps.invoke(
      req,
      res,
      url,
      { functionName, qualifierText },
      {
        authenticate: (name) => {
          deps.authorize(principal, 'invoke', name);
          return Promise.resolve();
        },
        fail: (r, error, requestId) => {
          fail(r, error, requestId, `invoking ${functionName}`);
        },
      },
    );
  }

  async function serve(
    operation: FcRoute | 'invoke',
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rawParams: Record<string, string>,
    requestId: string,
  ): Promise<void> {
    const params = decodeParams(rawParams);
    if (operation === 'invoke') return invoke(req, res, url, params.functionName ?? '');
    const limit = operation.body?.code ? codeLimit : JSON_LIMIT;
    const principal = await authenticateSigned(req, signed, limit);
    checkQuery(url.searchParams, operation.query ?? []);
    const json = await readJson(req, limit);
    const check = checks.get(operation);
    if (!check && json !== undefined)
      throw new SluiceError('InvalidArgument', `${operation.action} takes no body`, [
        { path: '', message: 'must be empty' },
      ]);
    const body = check?.(json === undefined && operation.body?.optional ? {} : json);
    const functionName = operation.functionOf?.(params, body);
    deps.authorize(principal, operation.need, functionName);
    const answer = await operation.handler({
      params,
      query: url.searchParams,
      body: body as never,
      functionPrefix: principal.functionPrefix,
      change: { actor: principal.actor, now: deps.api.clock().toISOString() },
    });
    // The data plane must see a write before its caller does, so that a request right after it is served by it.
    if (operation.method !== 'GET' && functionName !== undefined)
      await deps.changed({ function: functionName });
    res.setHeader('x-fc-request-id', requestId);
    if (answer.json === undefined) {
      res.writeHead(answer.status);
      res.end();
    } else {
      sendJson(res, answer.status, answer.json);
    }
  }

  const failRequest = (
    req: IncomingMessage,
    res: ServerResponse,
    error: unknown,
    requestId = randomUUID(),
  ) => {
    fail(res, error, requestId, `${req.method ?? ''} ${req.url ?? ''}`);
  };

  return {
    routes,
    /** Every path of the API with what serves it, for the server's router: the operations and the invoke API. */
    edges: [
      ...routes.map((route) => ({ method: route.method, path: route.path, handler: route })),
      { method: 'POST', path: INVOCATIONS, handler: 'invoke' as const },
    ] satisfies Route<FcRoute | 'invoke'>[],
    serve(
      operation: FcRoute | 'invoke',
      req: IncomingMessage,
      res: ServerResponse,
      url: URL,
      rawParams: Record<string, string>,
    ): void {
      const requestId = randomUUID();
      serve(operation, req, res, url, rawParams, requestId).catch((error: unknown) => {
        failRequest(req, res, error, requestId);
      });
    },
    /** A request under the API's prefix that no operation takes, answered in FC's error shape. */
    refuse: failRequest,
  };
}

/** Refuses query parameters an operation does not know, as `/v1` does: a typo is an error, never ignored. */
function checkQuery(query: URLSearchParams, known: readonly string[]): void {
  for (const key of query.keys()) {
    if (!known.includes(key))
      throw new SluiceError('InvalidArgument', `unknown query parameter "${key}"`, [
        {
          path: key,
          message: `is not a known parameter${known.length ? ` (known: ${known.join(', ')})` : ''}`,
        },
      ]);
  }
}
