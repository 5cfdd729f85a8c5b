import { type Client, seg } from '../client.js';
import type { Command, Group } from '../command.js';
import { UsageError } from '../errors.js';
import { fields, printResult, table } from '../output.js';
import { deleteCommand, listCommand } from '../request-commands.js';
import { stageCommands, stagesTable, type StageView } from './api-stages.js';

interface ApiRoute {
  method: string;
  path: string;
}
interface ApiView {
  name: string;
  description: string;
  routes: ApiRoute[];
  stages: string[];
}
const apiPath = (api: string) => `/v1/apis/${seg(api)}`;

function route(method: string, path: string): ApiRoute {
  const m = method.toUpperCase();
  if (!/^[A-Z]+$/.test(m)) throw new UsageError(`"${method}" is not an HTTP method (GET, POST, …, or ANY)`);
  if (!path.startsWith('/')) throw new UsageError(`the route path must start with /, not "${path}"`);
  return { method: m, path };
}

function parseRouteFlag(text: string): ApiRoute {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 2)
    throw new UsageError(`--route takes "METHOD PATH" such as "GET /users/{id}", not "${text}"`);
  return route(parts[0] as string, parts[1] as string);
}

async function describeApi(client: Client, api: ApiView, stages: StageView[]): Promise<string> {
  const about = fields([
    ['api', api.name],
    ['description', api.description || '-'],
  ]);
  const routes =
    api.routes.length === 0
      ? ['  (none: "sluice api route add")']
      : api.routes.map((r) => `  ${r.method} ${r.path}`);
  return [about, '', 'routes:', ...routes, '', 'stages:', await stagesTable(client, stages)].join('\n');
}

async function changeRoutes(
  client: Client,
  apiName: string,
  change: (routes: ApiRoute[]) => ApiRoute[],
): Promise<ApiView> {
  const api = await client.call<ApiView>('GET', apiPath(apiName));
  return client.call<ApiView>('PUT', apiPath(apiName), {
    json: { description: api.description, routes: change(api.routes) },
  });
}

/** `route add` and `route remove`: the route named by METHOD PATH, changed in the API's routes. */
function routeCommand(
  summary: string,
  usage: string,
  change: (routes: ApiRoute[], route: ApiRoute, apiName: string) => ApiRoute[],
  done: (route: ApiRoute, api: ApiView) => string,
): Command {
  return {
    summary,
    usage,
    positionals: ['API', 'METHOD', 'PATH'],
    async run(args, ctx) {
      const named = route(args.positional(1), args.positional(2));
      const apiName = args.positional(0);
      const api = await changeRoutes(await ctx.client(), apiName, (routes) => change(routes, named, apiName));
      await printResult(args.json, api, () => done(named, api));
    },
  };
}

const routeCommands: Group = {
  summary: "add and remove an API's routes",
  commands: {
    add: routeCommand(
      'add a route: METHOD (or ANY) and a path such as /users/{id} or /{proxy+}',
      'usage: sluice api route add API METHOD PATH\n\nexample: sluice api route add shop GET /users/{id}',
      (routes, added) => [...routes, added],
      (added, api) => `added ${added.method} ${added.path} to ${api.name}`,
    ),
    remove: routeCommand(
      'remove a route',
      'usage: sluice api route remove API METHOD PATH\n\nexample: sluice api route remove shop GET /users/{id}',
      (routes, gone, apiName) => {
        const kept = routes.filter((r) => r.method !== gone.method || r.path !== gone.path);
        if (kept.length === routes.length)
          throw new UsageError(`${apiName} has no route ${gone.method} ${gone.path}`);
        return kept;
      },
      (gone, api) => `removed ${gone.method} ${gone.path} from ${api.name}`,
    ),
  },
};

export const apiCommands: Group = {
  summary: 'API gateway: APIs with routes, and stages bound to a function qualifier',
  commands: {
    create: {
      summary: 'create an API',
      usage:
        'usage: sluice api create API [--description D] [--route "METHOD PATH"]…\n\n' +
        'example: sluice api create shop --route "ANY /{proxy+}"',
      positionals: ['API'],
      options: { description: { type: 'string' }, route: { type: 'string', multiple: true } },
      async run(args, ctx) {
        const client = await ctx.client();
        const api = await client.call<ApiView>('POST', '/v1/apis', {
          json: {
            name: args.positional(0),
            description: args.string('description') ?? '',
            routes: args.list('route').map(parseRouteFlag),
          },
        });
        await printResult(args.json, api, () => `created API ${api.name} with ${api.routes.length} route(s)`);
      },
    },
    list: listCommand({
      summary: 'list the APIs',
      usage: 'usage: sluice api list\n\nexample: sluice api list',
      positionals: [],
      path: () => '/v1/apis',
      key: 'apis',
      text: (apis: ApiView[]) =>
        apis.length === 0
          ? 'no APIs yet: "sluice api create"'
          : table(
              ['api', 'routes', 'stages', 'description'],
              apis.map((a) => [a.name, String(a.routes.length), a.stages.join(', ') || '-', a.description]),
            ),
    }),
    get: {
      summary: 'show an API: its routes and stages',
      usage: 'usage: sluice api get API\n\nexample: sluice api get shop',
      positionals: ['API'],
      async run(args, ctx) {
        const client = await ctx.client();
        const api = await client.call<ApiView>('GET', apiPath(args.positional(0)));
        const { stages } = await client.call<{ stages: StageView[] }>('GET', `${apiPath(api.name)}/stages`);
        await printResult(args.json, { ...api, stages }, () => describeApi(client, api, stages));
      },
    },
    delete: deleteCommand({
      summary: 'delete an API with its stages',
      usage: 'usage: sluice api delete API\n\nexample: sluice api delete shop',
      positionals: ['API'],
      path: ([api]) => apiPath(api),
      json: ([api]) => ({ deleted: api }),
      done: ([api]) => `deleted API ${api}`,
    }),
    route: routeCommands,
    stage: stageCommands,
  },
};
