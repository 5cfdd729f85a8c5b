import { authorize } from '../core/credentials.js';
import { LATEST } from '../core/names.js';
import {
  CodeJson,
  ConfigPatch,
  CreateFunction,
  FunctionList,
  FunctionView,
  HttpTrigger,
} from '../contract/schemas/functions.js';
import { codeFromRequest, jsonCodeLimit } from './code-input.js';
import { type ApiDeps, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute, pageBody } from './plain-routes.js';
import { functionParam, optionalQuery, pageParams } from './params.js';
import { createFunction, qualifiedCode, requireFunction, updateFunction } from './services.js';
import { functionView } from './views.js';

/**
 * The prefix a listing filters by: the one asked for within the credential's own, or null when they exclude
 * each other (nothing to list).
 */
function narrowPrefix(asked: string | undefined, limit: string | undefined): string | undefined | null {
  if (limit === undefined || asked?.startsWith(limit)) return asked;
  if (asked === undefined || limit.startsWith(asked)) return limit;
  return null;
}

export function functionRoutes(deps: ApiDeps): ApiRoute[] {
  const { store, codeLimits, zipWorkers, clock } = deps;

  return [
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/functions',
        summary: 'Create a function, its $LATEST and its $DEFAULT alias (pointing at $LATEST)',
        access: { prefix: 'handler' },
        responses: { 201: FunctionView },
      },
      { schema: CreateFunction, limit: jsonCodeLimit(codeLimits) },
      async (request, body) => {
        authorize(request.principal, 'deploy', body.name);
        const { code, ...input } = body;
        const fn = await createFunction(deps, input, code, changeBy(request, clock));
        return { status: 201, json: functionView(fn), headers: { location: `/v1/functions/${fn.name}` } };
      },
    ),
    getRoute(
      {
        path: '/v1/functions',
        summary:
          "List functions by name, a page at a time (limit, nextToken, prefix); only those within a credential's prefix",
        query: ['limit', 'nextToken', 'prefix'],
        access: { prefix: 'handler' },
        responses: { 200: FunctionList },
      },
      async (request) => {
        const prefix = narrowPrefix(optionalQuery(request, 'prefix'), request.principal.functionPrefix);
        if (prefix === null) return { functions: [], nextToken: null };
        const page = await store.listFunctions({
          ...pageParams(request),
          ...(prefix !== undefined && { prefix }),
        });
        return pageBody('functions', page, functionView);
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}',
        summary: "Get a function's $LATEST configuration and code digest",
        responses: { 200: FunctionView },
      },
      async (request) => {
        return functionView(await requireFunction(store, functionParam(request)));
      },
    ),
    jsonRoute(
      {
        method: 'PATCH',
        path: '/v1/functions/{name}',
        summary: "Change $LATEST's configuration (only the fields given)",
        responses: { 200: FunctionView },
      },
      { schema: ConfigPatch },
      async (request, body) => {
        const fn = await updateFunction(
          deps,
          functionParam(request),
          { patch: body },
          changeBy(request, clock),
        );
        return { status: 200, json: functionView(fn) };
      },
    ),
    deleteRoute(
      {
        path: '/v1/functions/{name}',
        summary: 'Delete a function with its versions and aliases',
      },
      async (request) => {
        await store.deleteFunction(functionParam(request));
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/functions/{name}/trigger',
        summary:
          'Set who may call the HTTP trigger /fn/{name}/…: {"authType": "token" | "anonymous"} (not versioned)',
        responses: { 200: FunctionView },
      },
      { schema: HttpTrigger },
      async (request, trigger) => {
        const name = functionParam(request);
        await requireFunction(store, name);
        const fn = await store.updateFunction(
          name,
          { trigger: { authType: trigger.authType } },
          changeBy(request, clock),
        );
        return { status: 200, json: functionView(fn) };
      },
    ),
    {
      method: 'PUT',
      path: '/v1/functions/{name}/code',
      summary: "Replace $LATEST's code: a zip body (application/zip) or JSON {zipFile: base64}",
      request: { schema: CodeJson, optional: false, zip: true },
      responses: { 200: FunctionView },
      handler: async (request) => {
        const name = functionParam(request);
        await requireFunction(store, name);
        const code = await codeFromRequest(request.req, codeLimits, zipWorkers);
        const fn = await store.updateFunction(name, { code }, changeBy(request, clock));
        return { status: 200, json: functionView(fn) };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/code',
      summary: 'Download the code of $LATEST, or of a version or alias primary (qualifier), as a zip',
      query: ['qualifier'],
      responses: { 200: 'zip' },
      handler: async (request) => {
        const name = functionParam(request);
        const { fn, version } = await qualifiedCode(
          store,
          name,
          optionalQuery(request, 'qualifier') ?? LATEST,
        );
        const sha256 = (version ?? fn).code.sha256;
        const zip = await store.getCode(sha256);
        if (!zip) throw new Error(`code blob ${sha256} of ${name} is missing from the store`);
        return {
          status: 200,
          bytes: zip,
          contentType: 'application/zip',
          headers: {
            'x-sluice-code-sha256': sha256,
            'content-disposition': `attachment; filename="${name}.zip"`,
          },
        };
      },
    },
  ];
}
