import { SluiceError } from '../core/errors.js';
import { Publish, VersionList, VersionView } from '../contract/schemas/functions.js';
import { type ApiDeps, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute, pageBody } from './plain-routes.js';
import { functionParam, pageParams, versionParam } from './params.js';
import { requireFunction } from './services.js';
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
    getRoute(
      {
        path: '/v1/functions/{name}/versions',
        summary: 'List published versions, oldest first, a page at a time (limit, nextToken)',
        query: ['limit', 'nextToken'],
        responses: { 200: VersionList },
      },
      async (request) => {
        const page = await store.listVersions(functionParam(request), pageParams(request));
        return pageBody('versions', page, versionView);
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/versions/{version}',
        summary: "Get a version's configuration and code digest",
        responses: { 200: VersionView },
      },
      async (request) => {
        const name = functionParam(request);
        const number = versionParam(request);
        const version = await store.getVersion(name, number);
        if (!version) {
          await requireFunction(store, name);
          throw new SluiceError('VersionNotFound', `function ${name} has no version ${number}`);
        }
        return versionView(version);
      },
    ),
    deleteRoute(
      {
        path: '/v1/functions/{name}/versions/{version}',
        summary: 'Delete a version no alias refers to (its number is never reused)',
      },
      async (request) => {
        await store.deleteVersion(functionParam(request), versionParam(request));
      },
    ),
  ];
}
