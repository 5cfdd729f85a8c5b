import { SluiceError } from '../core/errors.js';
import type { AliasRecord } from '../core/model.js';
import { assertAliasName, assertFunctionName, assertVersionId, LATEST } from '../core/names.js';
import { parseAliasSpec } from '../core/alias.js';
import {
  FcCreateAlias,
  FcCreateFunction,
  FcPublishVersion,
  FcUpdateAlias,
  FcUpdateFunction,
} from '../contract/schemas/fc.js';
import {
  createFunction,
  qualifiedCode,
  requireAlias,
  requireFunction,
  updateFunction,
} from '../api/services.js';
import { encodePageToken, decodePageToken } from '../store/paging.js';
import { type FcDeps, type FcPrincipal, type FcRequest, type FcRoute, fcRoute } from './fc-api.js';
import {
  configPatch,
  fcAlias,
  fcFunction,
  fcVersion,
  newAliasInput,
  newFunctionInput,
  updatedAliasInput,
  withFcFieldNames,
} from './wire.js';

const FUNCTION = '/2023-03-30/functions/{functionName}';

/** The function a path names, held to the rule for names before anything is looked up. */
function functionParam(params: Record<string, string>): string {
  const name = params.functionName ?? '';
  withFcFieldNames(() => {
    assertFunctionName(name);
  });
  return name;
}

const inPath = (params: Record<string, string>) => functionParam(params);

/** `limit` of a listing: 1..100, FC's default 20. */
function limitOf(query: URLSearchParams): number {
  const text = query.get('limit');
  if (text === null) return 20;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1 || limit > 100)
    throw new SluiceError('InvalidArgument', `limit must be an integer from 1 to 100, not "${text}"`, [
      { path: 'limit', message: 'must be an integer from 1 to 100' },
    ]);
  return limit;
}

/**
 * The names a listing may show: those with the query's prefix and the caller's, or none when the two
 * exclude each other.
 */
function effectivePrefix(
  asked: string | undefined,
  limitedTo: string | undefined,
): string | null | undefined {
  if (limitedTo === undefined) return asked;
  if (asked === undefined || limitedTo.startsWith(asked)) return limitedTo;
  return asked.startsWith(limitedTo) ? asked : null;
}

/** FC's operations that Sluice implements, each the same service as its `/v1` counterpart. */
export function fcRoutes<P extends FcPrincipal>(deps: FcDeps<P>): FcRoute[] {
  const { api } = deps;
  const { store } = api;
  const versionsPage = async (request: FcRequest) => {
    const name = functionParam(request.params);
    const direction = request.query.get('direction') ?? 'BACKWARD';
    if (direction !== 'BACKWARD' && direction !== 'FORWARD')
      throw new SluiceError('InvalidArgument', `direction must be FORWARD or BACKWARD, not "${direction}"`, [
        { path: 'direction', message: 'must be FORWARD or BACKWARD' },
      ]);
    const nextToken = request.query.get('nextToken') ?? undefined;
    const page = await store.listVersions(name, {
      limit: limitOf(request.query),
      direction: direction === 'FORWARD' ? 'forward' : 'backward',
      ...(nextToken !== undefined && { nextToken }),
    });
    return {
      versions: page.items.map(fcVersion),
      direction,
      ...(page.nextToken && { nextToken: page.nextToken }),
    };
  };

  return [
    fcRoute(
      {
        method: 'POST',
        action: 'CreateFunction',
        path: '/2023-03-30/functions',
        need: 'deploy',
        functionOf: (_, body) => (body as FcCreateFunction).functionName,
        body: { schema: FcCreateFunction, code: true },
      },
      async (request) => {
        const body = request.body;
        const input = withFcFieldNames(() => newFunctionInput(body));
        const fn = await withFcFieldNames(() => createFunction(api, input, body.code, request.change));
        return { status: 200, json: fcFunction(fn) };
      },
    ),
    {
      method: 'GET',
      action: 'ListFunctions',
      path: '/2023-03-30/functions',
      need: 'deploy',
      query: ['limit', 'nextToken', 'prefix'],
      handler: async (request) => {
        const prefix = effectivePrefix(request.query.get('prefix') ?? undefined, request.functionPrefix);
        if (prefix === null) return { status: 200, json: { functions: [] } };
        const nextToken = request.query.get('nextToken') ?? undefined;
        const page = await store.listFunctions({
          limit: limitOf(request.query),
          ...(prefix !== undefined && { prefix }),
          ...(nextToken !== undefined && { nextToken }),
        });
        return {
          status: 200,
          json: {
            functions: page.items.map(fcFunction),
            ...(page.nextToken && { nextToken: page.nextToken }),
          },
        };
      },
    },
    {
      method: 'GET',
      action: 'GetFunction',
      path: FUNCTION,
      need: 'deploy',
      query: ['qualifier'],
      functionOf: inPath,
      handler: async (request) => {
        const name = functionParam(request.params);
        const { fn, version } = await qualifiedCode(store, name, request.query.get('qualifier') ?? LATEST);
        // A version is the function as it was published: its configuration and code, its own time.
        const shown = version
          ? { ...fn, config: version.config, code: version.code, updatedAt: version.createdAt }
          : fn;
        return { status: 200, json: fcFunction(shown) };
      },
    },
    fcRoute(
      {
        method: 'PUT',
        action: 'UpdateFunction',
        path: FUNCTION,
        need: 'deploy',
        functionOf: inPath,
        body: { schema: FcUpdateFunction, code: true },
      },
      async (request) => {
        const name = functionParam(request.params);
        const { code, ...fields } = request.body;
        const patch = configPatch(fields);
        const fn = await withFcFieldNames(() =>
          updateFunction(
            api,
            name,
            { ...(Object.keys(patch).length > 0 && { patch }), ...(code && { code }) },
            request.change,
          ),
        );
        return { status: 200, json: fcFunction(fn) };
      },
    ),
    {
      method: 'DELETE',
      action: 'DeleteFunction',
      path: FUNCTION,
      need: 'deploy',
      functionOf: inPath,
      handler: async (request) => {
        await store.deleteFunction(functionParam(request.params));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      action: 'GetFunctionCode',
      path: `${FUNCTION}/code`,
      need: 'deploy',
      query: ['qualifier'],
      functionOf: inPath,
      handler: async (request) => {
        const name = functionParam(request.params);
        const qualifier = request.query.get('qualifier') ?? LATEST;
        const { fn, version } = await qualifiedCode(store, name, qualifier);
        // The zip itself is `/v1`'s to serve, to a bearer token that may read the function.
        const url = `/v1/functions/${encodeURIComponent(name)}/code?qualifier=${encodeURIComponent(qualifier)}`;
        return { status: 200, json: { url, checksum: (version ?? fn).code.sha256 } };
      },
    },
    fcRoute(
      {
        method: 'POST',
        action: 'PublishFunctionVersion',
        path: `${FUNCTION}/versions`,
        need: 'deploy',
        functionOf: inPath,
        body: { schema: FcPublishVersion, optional: true },
      },
      async (request) => {
        const name = functionParam(request.params);
        const version = await store.publishVersion(name, request.body.description ?? '', request.change);
        return { status: 200, json: fcVersion(version) };
      },
    ),
    {
      method: 'GET',
      action: 'ListFunctionVersions',
      path: `${FUNCTION}/versions`,
      need: 'deploy',
      query: ['direction', 'limit', 'nextToken'],
      functionOf: inPath,
      handler: async (request) => ({ status: 200, json: await versionsPage(request) }),
    },
    {
      method: 'DELETE',
      action: 'DeleteFunctionVersion',
      path: `${FUNCTION}/versions/{versionId}`,
      need: 'deploy',
      functionOf: inPath,
      handler: async (request) => {
        const version = withFcFieldNames(() => assertVersionId(request.params.versionId ?? ''));
        await store.deleteVersion(functionParam(request.params), version);
        return { status: 204 };
      },
    },
    fcRoute(
      {
        method: 'POST',
        action: 'CreateAlias',
        path: `${FUNCTION}/aliases`,
        need: 'deploy',
        functionOf: inPath,
        body: { schema: FcCreateAlias },
      },
      async (request) => {
        const name = functionParam(request.params);
        const body = request.body;
        withFcFieldNames(() => {
          assertAliasName(body.aliasName);
        });
        const spec = withFcFieldNames(() => parseAliasSpec(newAliasInput(body)));
        const { alias } = await store.putAlias(name, body.aliasName, spec, {
          ...request.change,
          createOnly: true,
        });
        return { status: 200, json: fcAlias(alias) };
      },
    ),
    {
      method: 'GET',
      action: 'ListAliases',
      path: `${FUNCTION}/aliases`,
      need: 'deploy',
      query: ['limit', 'nextToken', 'prefix'],
      functionOf: inPath,
      handler: async (request) => {
        const name = functionParam(request.params);
        const limit = limitOf(request.query);
        const after = decodePageToken(request.query.get('nextToken') ?? undefined);
        const prefix = request.query.get('prefix') ?? '';
        await requireFunction(store, name);
        // A function has few aliases: the store gives them all, in name order, and the page is cut here.
        const aliases = (await store.listAliases(name)).filter(
          (a) => a.name.startsWith(prefix) && (after === undefined || a.name > after),
        );
        const page = aliases.slice(0, limit);
        const last = page[page.length - 1];
        return {
          status: 200,
          json: {
            aliases: page.map(fcAlias),
            ...(aliases.length > limit && last && { nextToken: encodePageToken(last.name) }),
          },
        };
      },
    },
    {
      method: 'GET',
      action: 'GetAlias',
      path: `${FUNCTION}/aliases/{aliasName}`,
      need: 'deploy',
      functionOf: inPath,
      handler: async (request) => {
        const alias = await requireAlias(
          store,
          functionParam(request.params),
          request.params.aliasName ?? '',
        );
        return { status: 200, json: fcAlias(alias) };
      },
    },
    fcRoute(
      {
        method: 'PUT',
        action: 'UpdateAlias',
        path: `${FUNCTION}/aliases/{aliasName}`,
        need: 'deploy',
        functionOf: inPath,
        body: { schema: FcUpdateAlias },
      },
      async (request) => {
        const name = functionParam(request.params);
        const current: AliasRecord = await requireAlias(store, name, request.params.aliasName ?? '');
        const spec = withFcFieldNames(() => parseAliasSpec(updatedAliasInput(current.spec, request.body)));
        // Against the revision read, so that a change made in between is not lost (ConcurrentUpdateError).
        const { alias } = await store.putAlias(name, current.name, spec, {
          ...request.change,
          expectedRevision: current.revision,
        });
        return { status: 200, json: fcAlias(alias) };
      },
    ),
    {
      method: 'DELETE',
      action: 'DeleteAlias',
      path: `${FUNCTION}/aliases/{aliasName}`,
      need: 'deploy',
      functionOf: inPath,
      handler: async (request) => {
        const name = functionParam(request.params);
        const alias = await requireAlias(store, name, request.params.aliasName ?? '');
        await store.deleteAlias(name, alias.name, request.change);
        return { status: 204 };
      },
    },
  ];
}
