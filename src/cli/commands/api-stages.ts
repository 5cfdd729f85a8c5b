import { parsePairs } from '../args.js';
import { type Client, seg } from '../client.js';
import type { Group } from '../command.js';
import { printResult, table } from '../output.js';
import { deleteCommand, getCommand, historyCommand, listCommand } from '../request-commands.js';

export interface StageView {
  api: string;
  name: string;
  function: string;
  qualifier: string;
  variables: Record<string, string>;
  routes: Record<string, { function: string; qualifier: string }>;
  revision: number;
  updatedAt: string;
}

const stagePath = (api: string, stage: string) => `/v1/apis/${seg(api)}/stages/${seg(stage)}`;
const stagesPath = (api: string) => `/v1/apis/${seg(api)}/stages`;

export async function stagesTable(client: Client, stages: StageView[]): Promise<string> {
  if (stages.length === 0) return '  (none: "sluice api stage set")';
  const base = await client.dataPlaneUrl();
  return table(
    ['stage', 'function', 'qualifier', 'variables', 'url'],
    stages.map((s) => [
      s.name,
      s.function,
      s.qualifier,
      Object.entries(s.variables)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ') || '-',
      `${base}/gw/${s.api}/${s.name}/`,
    ]),
  );
}

export const stageCommands: Group = {
  summary: "bind an API's stages to a function and qualifier",
  commands: {
    set: {
      summary: 'create or rebind a stage: its function, qualifier and variables',
      usage:
        'usage: sluice api stage set API STAGE --function FN [--qualifier Q] [--var K=V]…\n\n' +
        '  --qualifier Q   $DEFAULT (the default), $LATEST, a version or an alias\n' +
        '  --var K=V       a stage variable passed in the event (repeatable; replaces them all)\n\n' +
        'example: sluice api stage set shop release --function B --qualifier release',
      positionals: ['API', 'STAGE'],
      options: {
        function: { type: 'string' },
        qualifier: { type: 'string' },
        var: { type: 'string', multiple: true },
      },
      async run(args, ctx) {
        const [api, stage] = [args.positional(0), args.positional(1)];
        const fn = args.string('function');
        if (fn === undefined) throw args.usageError('missing --function FN');
        const client = await ctx.client();
        const { stages } = await client.call<{ stages: StageView[] }>('GET', stagesPath(api));
        const current = stages.find((s) => s.name === stage);
        const variables =
          args.list('var').length > 0 ? parsePairs(args.list('var'), '--var') : (current?.variables ?? {});
        const body = {
          function: fn,
          qualifier: args.string('qualifier') ?? '$DEFAULT',
          variables,
          routes: current?.routes ?? {},
        };
        const saved = await client.call<StageView>('PUT', stagePath(api, stage), {
          json: body,
          ...(current && { headers: { 'if-match': `"${current.revision}"` } }),
        });
        await printResult(
          args.json,
          saved,
          async () =>
            `stage ${api}/${stage} → ${saved.function}:${saved.qualifier} at ${await client.dataPlaneUrl()}/gw/${api}/${stage}/`,
        );
      },
    },
    list: listCommand({
      summary: "list an API's stages",
      usage: 'usage: sluice api stage list API\n\nexample: sluice api stage list shop',
      positionals: ['API'],
      path: ([api]) => stagesPath(api),
      key: 'stages',
      text: (stages: StageView[], _names, client) => stagesTable(client, stages),
    }),
    get: getCommand({
      summary: "show a stage's binding",
      usage: 'usage: sluice api stage get API STAGE\n\nexample: sluice api stage get shop release',
      positionals: ['API', 'STAGE'],
      path: ([api, stage]) => stagePath(api, stage),
      text: (stage: StageView, client) => stagesTable(client, [stage]),
    }),
    delete: deleteCommand({
      summary: 'delete a stage',
      usage: 'usage: sluice api stage delete API STAGE\n\nexample: sluice api stage delete shop dev',
      positionals: ['API', 'STAGE'],
      path: ([api, stage]) => stagePath(api, stage),
      json: ([, stage]) => ({ deleted: stage }),
      done: ([api, stage]) => `deleted stage ${api}/${stage}`,
    }),
    history: historyCommand({
      summary: "every change to a stage's binding",
      usage: 'usage: sluice api stage history API STAGE\n\nexample: sluice api stage history shop release',
      positionals: ['API', 'STAGE'],
      path: ([api, stage]) => stagePath(api, stage),
      afterHeader: 'binding after',
      describeAfter: (after: StageView) => `${after.function}:${after.qualifier}`,
    }),
  },
};
