import { SluiceError } from '../core/errors.js';
import { Issues } from '../core/validate.js';
import {
  applyConfigPatch,
  parseConfigPatch,
  parseNewFunction,
  type Runtime,
} from '../core/function-config.js';
import { parseHttpTrigger } from '../core/trigger.js';
import { LATEST, parseQualifier, type VersionRef } from '../core/names.js';
import { readJson } from '../http/body.js';
import { codeFromJson, codeFromRequest, emptyCode, jsonCodeLimit } from './code-input.js';
import { type ApiDeps, type ApiRoute, changeBy, JSON_LIMIT } from './context.js';
import { checkQuery, functionParam, limitParam, optionalQuery } from './params.js';
import { functionView } from './views.js';

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
    {
      method: 'POST',
      path: '/v1/functions',
      summary: 'Create a function, its $LATEST and its $DEFAULT alias (pointing at $LATEST)',
      handler: async (request) => {
        checkQuery(request, []);
        const body = await readJson(request.req, jsonCodeLimit(codeLimits));
        const { name, config } = parseNewFunction(body, ['code']);
        requireRuntime(config.runtime);
        const codeInput = (body as Record<string, unknown>).code;
        const code =
          codeInput === undefined
            ? await emptyCode()
            : await codeFromJson(codeInput, 'code', codeLimits, zipWorkers);
        const fn = await store.createFunction(name, config, code, changeBy(request, clock));
        return { status: 201, json: functionView(fn), headers: { location: `/v1/functions/${fn.name}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions',
      summary: 'List functions by name, a page at a time (limit, nextToken, prefix)',
      handler: async (request) => {
        checkQuery(request, ['limit', 'nextToken', 'prefix']);
        const prefix = optionalQuery(request, 'prefix');
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
      handler: async (request) => {
        checkQuery(request, []);
        return { status: 200, json: functionView(await requireFunction(functionParam(request))) };
      },
    },
    {
      method: 'PATCH',
      path: '/v1/functions/{name}',
      summary: "Change $LATEST's configuration (only the fields given)",
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const patch = parseConfigPatch(await readJson(request.req, JSON_LIMIT));
        if (patch.runtime !== undefined) requireRuntime(patch.runtime);
        const current = await requireFunction(name);
        const fn = await store.updateFunction(
          name,
          { config: applyConfigPatch(current.config, patch) },
          changeBy(request, clock),
        );
        return { status: 200, json: functionView(fn) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}',
      summary: 'Delete a function with its versions and aliases',
      handler: async (request) => {
        checkQuery(request, []);
        await store.deleteFunction(functionParam(request));
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      path: '/v1/functions/{name}/trigger',
      summary:
        'Set who may call the HTTP trigger /fn/{name}/…: {"authType": "token" | "anonymous"} (not versioned)',
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const trigger = parseHttpTrigger(await readJson(request.req, JSON_LIMIT));
        await requireFunction(name);
        const fn = await store.updateFunction(name, { trigger }, changeBy(request, clock));
        return { status: 200, json: functionView(fn) };
      },
    },
    {
      method: 'PUT',
      path: '/v1/functions/{name}/code',
      summary: "Replace $LATEST's code: a zip body (application/zip) or JSON {zipFile: base64}",
      handler: async (request) => {
        checkQuery(request, []);
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
      handler: async (request) => {
        checkQuery(request, ['qualifier']);
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
