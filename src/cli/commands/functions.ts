import { listAll, seg } from '../client.js';
import type { Group } from '../command.js';
import { bytes, describeSplit, fields, printResult, shortSha, table, when } from '../output.js';
import { deleteCommand } from '../request-commands.js';
import type { AliasView, FunctionConfigView, FunctionView } from '../views.js';

export function configFields(config: FunctionConfigView): [string, string][] {
  const env = Object.entries(config.environmentVariables)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return [
    ['runtime', config.runtime],
    ['handler', config.handler],
    ['memory', `${config.memorySize} MB`],
    ['timeout', `${config.timeout} s`],
    ['concurrency', String(config.instanceConcurrency)],
    ['network', config.network],
    ['convention', config.convention],
    ...(config.command
      ? [['command', config.command.map((part) => JSON.stringify(part)).join(' ')] as [string, string]]
      : []),
    ['environment', env || '-'],
    ['description', config.description || '-'],
  ];
}

export const functionCommands: Group = {
  summary: 'list, show and delete functions (deploy creates and updates them)',
  commands: {
    list: {
      summary: 'list the functions',
      usage: 'usage: sluice function list [--prefix P]\n\nexample: sluice function list',
      options: { prefix: { type: 'string' } },
      async run(args, ctx) {
        const client = await ctx.client();
        const prefix = args.string('prefix');
        const shown = await listAll<FunctionView>(client, '/v1/functions', 'functions', { prefix });
        await printResult(args.json, { functions: shown }, () =>
          shown.length === 0
            ? 'no functions yet: create one with "sluice deploy"'
            : table(
                ['name', 'runtime', 'handler', 'memory', 'timeout', 'code', 'updated'],
                shown.map((f) => [
                  f.name,
                  f.runtime,
                  f.handler,
                  `${f.memorySize} MB`,
                  `${f.timeout} s`,
                  shortSha(f.codeSha256),
                  when(f.updatedAt),
                ]),
              ),
        );
      },
    },
    get: {
      summary: "show a function's $LATEST configuration, code and aliases",
      usage: 'usage: sluice function get FN\n\nexample: sluice function get B',
      positionals: ['FN'],
      async run(args, ctx) {
        const client = await ctx.client();
        const name = args.positional(0);
        const fn = await client.call<FunctionView>('GET', `/v1/functions/${seg(name)}`);
        const { aliases } = await client.call<{ aliases: AliasView[] }>(
          'GET',
          `/v1/functions/${seg(name)}/aliases`,
        );
        await printResult(args.json, { ...fn, aliases }, async () => {
          const about = fields([
            ['name', fn.name],
            ...configFields(fn),
            ['code', `sha256 ${shortSha(fn.codeSha256)} (${bytes(fn.codeSize)})`],
            ['trigger', `${fn.trigger.authType} · ${await client.dataPlaneUrl()}/fn/${fn.name}/$DEFAULT/`],
            ['updated', when(fn.updatedAt)],
          ]);
          const traffic = table(
            ['alias', 'traffic', 'revision'],
            aliases.map((a) => [a.name, describeSplit(a), String(a.revision)]),
          );
          return `${about}\n\n${traffic}`;
        });
      },
    },
    delete: deleteCommand({
      summary: 'delete a function with its versions and aliases',
      usage: 'usage: sluice function delete FN\n\nexample: sluice function delete B',
      positionals: ['FN'],
      path: ([name]) => `/v1/functions/${seg(name)}`,
      json: ([name]) => ({ deleted: name }),
      done: ([name]) => `deleted function ${name} with its versions and aliases`,
    }),
    trigger: {
      summary: 'set who may call the HTTP trigger: --auth token|anonymous',
      usage:
        'usage: sluice function trigger FN --auth token|anonymous\n\n' +
        'The HTTP trigger is ANY /fn/FN/QUALIFIER/PATH; "anonymous" lets anyone call it.\n\n' +
        'example: sluice function trigger B --auth anonymous',
      positionals: ['FN'],
      options: { auth: { type: 'string' } },
      async run(args, ctx) {
        const auth = args.string('auth');
        if (auth !== 'token' && auth !== 'anonymous')
          throw args.usageError('--auth takes token or anonymous');
        const client = await ctx.client();
        const name = args.positional(0);
        const fn = await client.call<FunctionView>('PUT', `/v1/functions/${seg(name)}/trigger`, {
          json: { authType: auth },
        });
        await printResult(
          args.json,
          fn,
          async () =>
            `HTTP trigger of ${name}: ${auth} · ${await client.dataPlaneUrl()}/fn/${name}/$DEFAULT/`,
        );
      },
    },
  },
};
