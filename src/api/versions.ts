import { SluiceError } from '../core/errors.js';
import { Publish, VersionList, VersionView } from '../contract/schemas/functions.js';
import { type ApiDeps, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { functionParam, pageParams, versionParam } from './params.js';
import { versionView } from './views.js';

export function versionRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  return [
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/functions/{name}/versions',
        summary: 'Publish $LATEST as the next immutable version (refused when nothing changed)',
        responses: { 201: VersionView },
      },
      { schema: Publish, optional: true },
      async (request, body) => {
        const name = functionParam(request);
        const version = await store.publishVersion(name, body.description ?? '', changeBy(request, clock));
        return {
          status: 201,
          json: versionView(version),
          headers: { location: `/v1/functions/${name}/versions/${version.version}` },
        };
      },
    ),
    {
      method: 'GET',
      path: '/v1/functions/{name}/versions',
      summary: 'List published versions, oldest first, a page at a time (limit, nextToken)',
      query: ['limit', 'nextToken'],
      responses: { 200: VersionList },
      handler: async (request) => {
        const page = await store.listVersions(functionParam(request), pageParams(request));
        return {
          status: 200,
          json: { versions: page.items.map(versionView), nextToken: page.nextToken ?? null },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/versions/{version}',
      summary: "Get a version's configuration and code digest",
      responses: { 200: VersionView },
      handler: async (request) => {
        const name = functionParam(request);
        const number = versionParam(request);
        const version = await store.getVersion(name, number);
        if (!version) {
          if (!(await store.getFunction(name)))
            throw new SluiceError('FunctionNotFound', `function ${name} does not exist`);
          throw new SluiceError('VersionNotFound', `function ${name} has no version ${number}`);
        }
        return { status: 200, json: versionView(version) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/functions/{name}/versions/{version}',
      summary: 'Delete a version no alias refers to (its number is never reused)',
      responses: { 204: 'empty' },
      handler: async (request) => {
        await store.deleteVersion(functionParam(request), versionParam(request));
        return { status: 204 };
      },
    },
  ];
}
