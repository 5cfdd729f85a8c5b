import { authorize } from '../core/credentials.js';
import { SluiceError } from '../core/errors.js';
import { Issues } from '../core/validate.js';
import {
  applyConfigPatch,
  parseConfigPatch,
  parseNewFunction,
  type Runtime,
} from '../core/function-config.js';
import { LATEST, parseQualifier, type VersionRef } from '../core/names.js';
import {
  CodeJson,
  ConfigPatch,
  CreateFunction,
  FunctionList,
  FunctionView,
  HttpTrigger,
} from '../contract/schemas/functions.js';
import { codeBlob, codeFromRequest, emptyCode, jsonCodeLimit } from './code-input.js';
import { type ApiDeps, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { functionParam, limitParam, optionalQuery } from './params.js';
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

export function functionRoutes({
  store,
  codeLimits,
  zipWorkers,
  clock,
  runtimeProblem,
}: ApiDeps): ApiRoute[] {
  const requireFunction = async (name: string) => {
    const fn = await store.getFunction(name);
    if (!fn) throw new SluiceError('FunctionNotFound', `function ${name} does not exist`);
    return fn;
  };
  /** A function this node could not run is refused before anything is stored, saying what to install. */
  const requireRuntime = (runtime: Runtime) => {
    const problem = runtimeProblem(runtime);
    if (problem === undefined) return;
    const issues = new Issues();
    issues.add('runtime', problem);
    issues.throwIfAny('function');
  };

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
        const { name, config } = parseNewFunction(body);
        requireRuntime(config.runtime);
        const code = body.code ? await codeBlob(body.code, codeLimits, zipWorkers) : await emptyCode();
        const fn = await store.createFunction(name, config, code, changeBy(request, clock));
        return { status: 201, json: functionView(fn), headers: { location: `/v1/functions/${fn.name}` } };
      },
    ),
    {
      method: 'GET',
      path: '/v1/functions',
      summary:
        "List functions by name, a page at a time (limit, nextToken, prefix); only those within a credential's prefix",
      query: ['limit', 'nextToken', 'prefix'],
      access: { prefix: 'handler' },
      responses: { 200: FunctionList },
      handler: async (request) => {
        const prefix = narrowPrefix(optionalQuery(request, 'prefix'), request.principal.functionPrefix);
        if (prefix === null) return { status: 200, json: { functions: [], nextToken: null } };
        const nextToken = optionalQuery(request, 'nextToken');
        const page = await store.listFunctions({
          limit: limitParam(request),
          ...(prefix !== undefined && { prefix }),
          ...(nextToken !== undefined && { nextToken }),
        });
        return {
          status: 200,
          json: { functions: page.items.map(functionView), nextToken: page.nextToken ?? null },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}',
      summary: "Get a function's $LATEST configuration and code digest",
      responses: { 200: FunctionView },
      handler: async (request) => {
        return { status: 200, json: functionView(await requireFunction(functionParam(request))) };
      },
    },
    jsonRoute(
      {
        method: 'PATCH',
        path: '/v1/functions/{name}',
        summary: "Change $LATEST's configuration (only the fields given)",
        responses: { 200: FunctionView },
      },
      { schema: ConfigPatch },
      async (request, body) => {
        const name = functionParam(request);
        const patch = parseConfigPatch(body);
        if (patch.runtime !== undefined) requireRuntime(patch.runtime);
        const current = await requireFunction(name);
        const fn = await store.updateFunction(
          name,
          { config: applyConfigPatch(current.config, patch) },
          changeBy(request, clock),
        );
        return { status: 200, json: functionView(fn) };
      },
    ),
    {
      method: 'DELETE',
      path: '/v1/functions/{name}',
      summary: 'Delete a function with its versions and aliases',
      responses: { 204: 'empty' },
      handler: async (request) => {
        await store.deleteFunction(functionParam(request));
        return { status: 204 };
      },
    },
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
        await requireFunction(name);
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
        await requireFunction(name);
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
        const sha256 = await codeDigest(name, optionalQuery(request, 'qualifier') ?? LATEST);
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

  /** The code a qualifier runs: `$LATEST`'s, a version's, or an alias's primary version's. */
  async function codeDigest(name: string, qualifierText: string): Promise<string> {
    const fn = await requireFunction(name);
    const qualifier = parseQualifier(qualifierText);
    let version: VersionRef = LATEST;
    if (qualifier.kind === 'version') version = qualifier.version;
    if (qualifier.kind === 'alias') {
      const alias = await store.getAlias(name, qualifier.alias);
      if (!alias) throw new SluiceError('AliasNotFound', `function ${name} has no alias ${qualifier.alias}`);
      version = alias.spec.version;
    }
    if (version === LATEST) return fn.code.sha256;
    const found = await store.getVersion(name, version);
    if (!found) throw new SluiceError('VersionNotFound', `function ${name} has no version ${version}`);
    return found.code.sha256;
  }
}
