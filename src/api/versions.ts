import { SluiceError } from '../core/errors.js';
import { Issues, checkString, readObject } from '../core/validate.js';
import { readJson } from '../http/body.js';
import { type ApiDeps, type ApiRoute, changeBy, JSON_LIMIT } from './context.js';
import { checkQuery, functionParam, limitParam, optionalQuery, versionParam } from './params.js';
import { versionView } from './views.js';

function parsePublish(body: unknown): string {
  if (body === undefined) return '';
  const issues = new Issues();
  const obj = readObject(body, '', issues, ['description']);
  const description = obj?.description ?? '';
  checkString(description, 'description', issues, { maxLength: 256 });
  issues.throwIfAny('publish request');
  return description as string;
}

export function versionRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  return [
    {
      method: 'POST',
      path: '/v1/functions/{name}/versions',
      summary: 'Publish $LATEST as the next immutable version (refused when nothing changed)',
      handler: async (request) => {
        checkQuery(request, []);
        const name = functionParam(request);
        const description = parsePublish(await readJson(request.req, JSON_LIMIT));
        const version = await store.publishVersion(name, description, changeBy(request, clock));
        return {
          status: 201,
          json: versionView(version),
          headers: { location: `/v1/functions/${name}/versions/${version.version}` },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/functions/{name}/versions',
      summary: 'List published versions, oldest first, a page at a time (limit, nextToken)',
      handler: async (request) => {
        checkQuery(request, ['limit', 'nextToken']);
        const nextToken = optionalQuery(request, 'nextToken');
        const page = await store.listVersions(functionParam(request), {
          limit: limitParam(request),
          ...(nextToken !== undefined && { nextToken }),
        });
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
      handler: async (request) => {
        checkQuery(request, []);
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
      handler: async (request) => {
        checkQuery(request, []);
        await store.deleteVersion(functionParam(request), versionParam(request));
        return { status: 204 };
      },
    },
  ];
}
