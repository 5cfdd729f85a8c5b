import { assertApiName, parseApiDefinition, parseStageSpec } from '../core/api-gateway.js';
import { SluiceError } from '../core/errors.js';
import type { ApiRecord, StageHistoryEntry, StageRecord } from '../core/model.js';
import {
  ApiDefinitionBody,
  ApiList,
  ApiView,
  CreateApi,
  StageBody,
  StageHistoryList,
  StageList,
  StageView,
} from '../contract/schemas/apis.js';
import { type ApiDeps, type ApiRequest, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { deleteRoute, getRoute } from './plain-routes.js';
import { guardedWrite, IF_MATCH, IF_NONE_MATCH, ifMatchRevision, revisedAnswer } from './params.js';

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

const apiView = (api: ApiRecord, stages: readonly StageRecord[]): ApiView => ({
  name: api.name,
  description: api.definition.description,
  routes: api.definition.routes,
  stages: stages.map((s) => s.name),
  createdAt: api.createdAt,
  updatedAt: api.updatedAt,
});

const stageView = (stage: StageRecord): StageView => ({
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
    jsonRoute(
      {
        method: 'POST',
        path: '/v1/apis',
        summary:
          'Create an API: {name, description?, routes: [{method, path}]} with paths such as /users/{id} or /{proxy+}',
        responses: { 201: ApiView },
      },
      { schema: CreateApi },
      async (request, { name, ...definition }) => {
        const api = await store.createApi(name, parseApiDefinition(definition), changeBy(request, clock));
        return { status: 201, json: apiView(api, []), headers: { location: `/v1/apis/${api.name}` } };
      },
    ),
    getRoute(
      {
        path: '/v1/apis',
        summary: 'List APIs with their routes and stage names',
        responses: { 200: ApiList },
      },
      async () => {
        const [apis, stages] = await Promise.all([store.listApis(), store.listStages()]);
        return {
          apis: apis.map((a) =>
            apiView(
              a,
              stages.filter((s) => s.api === a.name),
            ),
          ),
        };
      },
    ),
    getRoute(
      {
        path: '/v1/apis/{api}',
        summary: 'Get an API: its routes and stage names',
        responses: { 200: ApiView },
      },
      async (request) => {
        const api = await requireApi(apiParam(request));
        return apiView(api, await store.listStages(api.name));
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/apis/{api}',
        summary:
          "Replace an API's description and routes (refused while a stage binds a route that would go)",
        responses: { 200: ApiView },
      },
      { schema: ApiDefinitionBody },
      async (request, body) => {
        const name = apiParam(request);
        const api = await store.updateApi(name, parseApiDefinition(body), changeBy(request, clock));
        return { status: 200, json: apiView(api, await store.listStages(name)) };
      },
    ),
    deleteRoute(
      {
        path: '/v1/apis/{api}',
        summary: 'Delete an API with its stages',
      },
      async (request) => {
        await store.deleteApi(apiParam(request));
      },
    ),
    getRoute(
      {
        path: '/v1/apis/{api}/stages',
        summary: "List an API's stages and their bindings",
        responses: { 200: StageList },
      },
      async (request) => {
        return { stages: (await store.listStages(apiParam(request))).map(stageView) };
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/apis/{api}/stages/{stage}',
        summary:
          'Create or replace a stage: {function, qualifier?, variables?, routes?: {"GET /x": {function, qualifier}}} (If-Match: revision guards against lost updates; If-None-Match: * creates only)',
        headers: [IF_MATCH, IF_NONE_MATCH],
        responses: { 200: StageView, 201: StageView },
      },
      { schema: StageBody },
      async (request, body) => {
        const api = await requireApi(apiParam(request));
        const stageName = stageParam(request);
        const write = guardedWrite(request, clock);
        const spec = parseStageSpec(body, api.definition);
        const { stage, created } = await store.putStage(api.name, stageName, spec, write);
        return revisedAnswer(stageView(stage), stage.revision, created);
      },
    ),
    {
      method: 'GET',
      path: '/v1/apis/{api}/stages/{stage}',
      summary: "Get a stage's bindings and variables",
      responses: { 200: StageView },
      handler: async (request) => {
        const stage = await requireStage(apiParam(request), stageParam(request));
        return revisedAnswer(stageView(stage), stage.revision);
      },
    },
    deleteRoute(
      {
        path: '/v1/apis/{api}/stages/{stage}',
        summary: 'Delete a stage',
        headers: [IF_MATCH],
      },
      async (request) => {
        const expectedRevision = ifMatchRevision(request);
        await store.deleteStage(apiParam(request), stageParam(request), {
          ...changeBy(request, clock),
          ...(expectedRevision !== undefined && { expectedRevision }),
        });
      },
    ),
    getRoute(
      {
        path: '/v1/apis/{api}/stages/{stage}/history',
        summary: "Every change to a stage's bindings",
        responses: { 200: StageHistoryList },
      },
      async (request) => {
        const history = await store.stageHistory(apiParam(request), stageParam(request));
        return { history: history.map(stageHistoryView) };
      },
    ),
  ];
}
