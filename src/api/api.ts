import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeParams } from '../http/router.js';
import { sendJson } from '../http/respond.js';
import { aliasRoutes } from './aliases.js';
import { asyncRoutes } from './async.js';
import { triggerRoutes } from './triggers.js';
import { apiGatewayRoutes } from './apis.js';
import { rolloutRoutes } from './rollouts.js';
import { type ApiDeps, type ApiResponse, type ApiRoute, type Changed, JSON_LIMIT } from './context.js';
import { functionRoutes } from './functions.js';
import { credentialRoutes } from './credentials.js';
import { authorize, authorizeScope, type Principal } from '../core/credentials.js';
import { runIdempotently } from './idempotency.js';
import { jsonCodeLimit } from './code-input.js';
import { checkQuery } from './params.js';
import { OpenApiDocument, openApiDocument } from './openapi.js';
import { ServerView } from '../contract/schemas/server.js';
import { provisionedRoutes } from './provisioned.js';
import { telemetryRoutes } from './telemetry.js';
import { versionRoutes } from './versions.js';

export const API_VERSION = '0.1.0';

/** The control plane: `/v1/…` routes behind bearer-token authentication. Throws catalog errors. */
export function createApi(deps: ApiDeps): {
  routes: readonly ApiRoute[];
  openApi: Record<string, unknown>;
  /** Serves a request the server's router matched to `route`, one of `routes`, with its path's raw parameters. */
  serve: (
    route: ApiRoute,
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    rawParams: Record<string, string>,
  ) => Promise<void>;
} {
  const openApiRoute: ApiRoute = {
    method: 'GET',
    path: '/v1/openapi.json',
    summary: 'This OpenAPI document',
    public: true,
    responses: { 200: OpenApiDocument },
    handler: () => Promise.resolve({ status: 200, json: document }),
  };
  const serverRoute: ApiRoute = {
    method: 'GET',
    path: '/v1/server',
    summary: 'This node: its id and how it keeps functions apart',
    // Any credential: the CLI asks it where triggers are served, and it tells nothing of any function.
    access: { scope: 'invoke', prefix: 'handler' },
    responses: { 200: ServerView },
    handler: () => Promise.resolve({ status: 200, json: deps.server satisfies ServerView }),
  };
  const routes = [
    ...functionRoutes(deps),
    ...versionRoutes(deps),
    ...aliasRoutes(deps),
    ...provisionedRoutes(deps),
    ...asyncRoutes(deps),
    ...triggerRoutes(deps),
    ...telemetryRoutes(deps),
    ...apiGatewayRoutes(deps),
    ...rolloutRoutes(deps),
    ...credentialRoutes(deps),
    serverRoute,
    openApiRoute,
  ];
  const document = openApiDocument(routes, API_VERSION);
  const maxBodyBytes = Math.max(JSON_LIMIT, jsonCodeLimit(deps.codeLimits));

  return {
    routes,
    openApi: document,
    async serve(route, req, res, url, rawParams) {
      const params = decodeParams(rawParams);
      const principal = route.public ? ANONYMOUS : await deps.credentials.authenticate(req);
      // Before anything else, so that a credential learns nothing of what it may not touch (not even a 404).
      if (!route.public) authorizeRoute(route, params, principal);
      const request = { req, params, query: url.searchParams, principal, actor: principal.actor };
      checkQuery(request, route.query ?? []);
      const run = () => route.handler(request);
      const { response, replayed } =
        route.method === 'GET'
          ? { response: await run(), replayed: false }
          : await runIdempotently(
              deps.store,
              { req, url, scope: principal.credentialId, now: deps.clock().getTime(), maxBodyBytes },
              run,
            );
      // The data plane must see a write before its caller does, so that a request right after it is served by it.
      const changed =
        route.method === 'GET' || replayed || response.status >= 300
          ? undefined
          : changedBy(route, params, response);
      if (changed) await deps.changed(changed);
      if ('stream' in response) {
        response.stream(res);
      } else if ('bytes' in response) {
        res.writeHead(response.status, {
          'content-type': response.contentType,
          'content-length': response.bytes.length,
          ...response.headers,
        });
        res.end(response.bytes);
      } else if (response.json === undefined) {
        res.writeHead(response.status, response.headers);
        res.end();
      } else {
        sendJson(res, response.status, response.json, response.headers);
      }
    },
  };
}

/** Who calls the public routes. */
const ANONYMOUS: Principal = { credentialId: 'anonymous', actor: 'anonymous', scope: 'invoke' };

/** Refuses with Forbidden a route the principal's scope or function prefix does not reach (ApiRoute.access). */
function authorizeRoute(route: ApiRoute, params: Record<string, string>, principal: Principal): void {
  const need = route.access?.scope ?? 'deploy';
  if (params.name !== undefined) authorize(principal, need, params.name);
  else if (route.access?.prefix === 'handler') authorizeScope(principal, need);
  else authorize(principal, need);
}

/** What a successful write changed: a function (and its versions and aliases) or an API (and its stages). */
function changedBy(
  route: ApiRoute,
  params: Record<string, string>,
  response: ApiResponse,
): Changed | undefined {
  // A rollout changes its alias through the control plane's store and says so itself, step by step.
  if (route.path.includes('rollouts')) return undefined;
  // A new credential is found in the store by the node it is first used on; a revoked one must be forgotten.
  if (route.path.startsWith('/v1/tokens') || route.path.startsWith('/v1/access-keys'))
    return params.id === undefined ? undefined : { credential: params.id };
  const created = (response as { json?: { name?: string } }).json?.name ?? '';
  if (route.path.startsWith('/v1/apis')) return { api: params.api ?? created };
  return { function: params.name ?? created };
}
