import { assertApiName, parseApiDefinition, parseStageSpec } from '../core/api-gateway.js';
import { SluiceError } from '../core/errors.js';
import type { ApiRecord, StageHistoryEntry, StageRecord } from '../core/model.js';
import { Issues, checkString, readObject, requireField } from '../core/validate.js';
import { readJson } from '../http/body.js';
import { type ApiDeps, type ApiRequest, type ApiRoute, changeBy, JSON_LIMIT } from './context.js';
import { checkQuery, ifMatchRevision } from './params.js';

function apiParam(request: ApiRequest): string {
  const name = request.params.api ?? '';
  assertApiName(name);
  return name;
}

function stageParam(request: ApiRequest): string {
  const name = request.params.stage ?? '';
  assertApiName(name, 'stage');
  return name;
}

const apiView = (api: ApiRecord, stages: readonly StageRecord[]) => ({
  name: api.name,
  description: api.definition.description,
  routes: api.definition.routes,
  stages: stages.map((s) => s.name),
  createdAt: api.createdAt,
  updatedAt: api.updatedAt,
});

const stageView = (stage: StageRecord) => ({
  api: stage.api,
  name: stage.name,
  ...stage.spec,
  revision: stage.revision,
  createdAt: stage.createdAt,
  updatedAt: stage.updatedAt,
});

const stageHistoryView = (entry: StageHistoryEntry) => ({
  revision: entry.revision,
  action: entry.action,
  actor: entry.actor,
  at: entry.at,
  before: entry.before,
  after: entry.after,
});

const etag = (revision: number) => `"${revision}"`;

/** API Gateway: APIs with routes, and stages that bind them to a function and qualifier. */
export function apiGatewayRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  const requireApi = async (name: string) => {
    const api = await store.getApi(name);
    if (!api) throw new SluiceError('ApiNotFound', `API ${name} does not exist`);
    return api;
  };
  const requireStage = async (api: string, stage: string) => {
    await requireApi(api);
    const found = await store.getStage(api, stage);
    if (!found) throw new SluiceError('StageNotFound', `API ${api} has no stage ${stage}`);
    return found;
  };

  return [
    {
      method: 'POST',
      path: '/v1/apis',
      summary:
        'Create an API: {name, description?, routes: [{method, path}]} with paths such as /users/{id} or /{proxy+}',
      handler: async (request) => {
        checkQuery(request, []);
        const body = await readJson(request.req, JSON_LIMIT);
        const issues = new Issues();
        const obj = readObject(body, '', issues, ['name', 'description', 'routes']);
        const name = obj && requireField(obj, 'name', '', issues);
        if (name !== undefined) checkString(name, 'name', issues);
        issues.throwIfAny('API');
        assertApiName(name as string);
        const definition = parseApiDefinition({ description: obj?.description, routes: obj?.routes });
        const api = await store.createApi(name as string, definition, changeBy(request, clock));
        return { status: 201, json: apiView(api, []), headers: { location: `/v1/apis/${api.name}` } };
      },
    },
    {
      method: 'GET',
      path: '/v1/apis',
      summary: 'List APIs with their routes and stage names',
      handler: async (request) => {
        checkQuery(request, []);
        const [apis, stages] = await Promise.all([store.listApis(), store.listStages()]);
        return {
          status: 200,
          json: {
            apis: apis.map((a) =>
              apiView(
                a,
                stages.filter((s) => s.api === a.name),
              ),
            ),
          },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/apis/{api}',
      summary: 'Get an API: its routes and stage names',
      handler: async (request) => {
        checkQuery(request, []);
        const api = await requireApi(apiParam(request));
        return { status: 200, json: apiView(api, await store.listStages(api.name)) };
      },
    },
    {
      method: 'PUT',
      path: '/v1/apis/{api}',
      summary: "Replace an API's description and routes (refused while a stage binds a route that would go)",
      handler: async (request) => {
        checkQuery(request, []);
        const name = apiParam(request);
        const definition = parseApiDefinition(await readJson(request.req, JSON_LIMIT));
        const api = await store.updateApi(name, definition, changeBy(request, clock));
        return { status: 200, json: apiView(api, await store.listStages(name)) };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/apis/{api}',
      summary: 'Delete an API with its stages',
      handler: async (request) => {
        checkQuery(request, []);
        await store.deleteApi(apiParam(request));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/apis/{api}/stages',
      summary: "List an API's stages and their bindings",
      handler: async (request) => {
        checkQuery(request, []);
        return { status: 200, json: { stages: (await store.listStages(apiParam(request))).map(stageView) } };
      },
    },
    {
      method: 'PUT',
      path: '/v1/apis/{api}/stages/{stage}',
      summary:
        'Create or replace a stage: {function, qualifier?, variables?, routes?: {"GET /x": {function, qualifier}}} (If-Match guards)',
      handler: async (request) => {
        checkQuery(request, []);
        const api = await requireApi(apiParam(request));
        const stageName = stageParam(request);
        const expectedRevision = ifMatchRevision(request);
        const spec = parseStageSpec(await readJson(request.req, JSON_LIMIT), api.definition);
        const { stage, created } = await store.putStage(api.name, stageName, spec, {
          ...changeBy(request, clock),
          ...(expectedRevision !== undefined && { expectedRevision }),
        });
        return {
          status: created ? 201 : 200,
          json: stageView(stage),
          headers: { etag: etag(stage.revision) },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/apis/{api}/stages/{stage}',
      summary: "Get a stage's bindings and variables",
      handler: async (request) => {
        checkQuery(request, []);
        const stage = await requireStage(apiParam(request), stageParam(request));
        return { status: 200, json: stageView(stage), headers: { etag: etag(stage.revision) } };
      },
    },
    {
      method: 'DELETE',
      path: '/v1/apis/{api}/stages/{stage}',
      summary: 'Delete a stage',
      handler: async (request) => {
        checkQuery(request, []);
        const expectedRevision = ifMatchRevision(request);
        await store.deleteStage(apiParam(request), stageParam(request), {
          ...changeBy(request, clock),
          ...(expectedRevision !== undefined && { expectedRevision }),
        });
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: '/v1/apis/{api}/stages/{stage}/history',
      summary: "Every change to a stage's bindings",
      handler: async (request) => {
        checkQuery(request, []);
        const history = await store.stageHistory(apiParam(request), stageParam(request));
        return { status: 200, json: { history: history.map(stageHistoryView) } };
      },
    },
  ];
}
