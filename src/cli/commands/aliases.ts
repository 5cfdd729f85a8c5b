import { ALIAS_FLAGS_HELP, ALIAS_OPTIONS, sameSpec, specFromFlags } from '../alias-spec.js';
import { parseCount } from '../args.js';
import { type Client, seg } from '../client.js';
import type { Group } from '../command.js';
import { describeSplit, fields, note, printResult, table, when } from '../output.js';
import { deleteCommand, getCommand, historyCommand, listCommand } from '../request-commands.js';
import { isWeight, type AliasSpecView, type AliasView } from '../views.js';

const aliasPath = (fn: string, alias: string) => `/v1/functions/${seg(fn)}/aliases/${seg(alias)}`;

export function getAlias(client: Client, fn: string, alias: string): Promise<AliasView> {
  return client.call<AliasView>('GET', aliasPath(fn, alias));
}

/** Writes an alias; with a revision, only if nobody changed it since (If-Match), else only if it is new. */
export function putAlias(
  client: Client,
  fn: string,
  alias: string,
  spec: AliasSpecView,
  revision: number | 'create',
): Promise<AliasView> {
  return client.call<AliasView>('PUT', aliasPath(fn, alias), {
    json: spec,
    headers: revision === 'create' ? { 'if-none-match': '*' } : { 'if-match': `"${revision}"` },
  });
}

export function describeAlias(alias: AliasView): string {
  return `${alias.functionName}/${alias.name}: ${describeSplit(alias)} (revision ${alias.revision})`;
}

function printAlias(alias: AliasView, json: boolean, verb?: string): Promise<void> {
  return printResult(json, alias, () => (verb ? `${verb} ${describeAlias(alias)}` : describeAlias(alias)));
}

export const aliasCommands: Group = {
  summary: 'point aliases at versions, split traffic by weight or rule, roll back',
  commands: {
    create: {
      summary: 'create an alias at a version, optionally with a canary',
      usage:
        'usage: sluice alias create FN ALIAS --version V [--canary V2 (--weight F | --rule R… [--match all|any])] [--sticky SRC:NAME]\n\n' +
        `${ALIAS_FLAGS_HELP}\n\n` +
        'examples:\n  sluice alias create B release --version 1\n  sluice alias create B alias1 --version 1 --canary 2 --weight 30%\n' +
        '  sluice alias create B prepub --version 3 --canary 4 --rule "header:User = Bob"',
      positionals: ['FN', 'ALIAS'],
      options: ALIAS_OPTIONS,
      async run(args, ctx) {
        const [fn, name] = [args.positional(0), args.positional(1)];
        const spec = specFromFlags(args, undefined);
        const alias = await putAlias(await ctx.client(), fn, name, spec, 'create');
        await printAlias(alias, args.json, 'created');
      },
    },
    update: {
      summary: 'change an alias: its primary, its canary and how traffic is split',
      usage:
        'usage: sluice alias update FN ALIAS [--version V] [--canary V2] [--weight F | --rule R… [--match all|any]] [--sticky SRC:NAME] [--no-canary]\n\n' +
        'Flags not given keep their current value: "--weight 50%" alone moves the current canary to 50 %.\n' +
        'Making the canary the primary (--version V2) drops the canary.\n\n' +
        `${ALIAS_FLAGS_HELP}\n  --no-canary          all traffic to the primary\n\n` +
        'examples:\n  sluice alias update B release --weight 0.5\n  sluice alias update B release --version 2\n' +
        '  sluice alias update B prepub --canary 4 --rule "header:User = Bob"',
      positionals: ['FN', 'ALIAS'],
      options: ALIAS_OPTIONS,
      async run(args, ctx) {
        const client = await ctx.client();
        const [fn, name] = [args.positional(0), args.positional(1)];
        const current = await getAlias(client, fn, name);
        const spec = specFromFlags(args, current);
        if (sameSpec(spec, current)) {
          if (!args.json) note(`no change to ${fn}/${name}`);
          await printAlias(current, args.json);
          return;
        }
        const alias = await putAlias(client, fn, name, spec, current.revision);
        await printAlias(alias, args.json, 'updated');
      },
    },
    promote: {
      summary: "make an alias's canary its primary, with all the traffic",
      usage: 'usage: sluice alias promote FN ALIAS\n\nexample: sluice alias promote B release',
      positionals: ['FN', 'ALIAS'],
      async run(args, ctx) {
        const client = await ctx.client();
        const [fn, name] = [args.positional(0), args.positional(1)];
        const current = await getAlias(client, fn, name);
        if (!current.canary) throw args.usageError(`${fn}/${name} has no canary to promote`);
        const spec = { version: current.canary.version, description: current.description };
        const alias = await putAlias(client, fn, name, spec, current.revision);
        await printAlias(alias, args.json, 'promoted');
      },
    },
    list: listCommand({
      summary: "list a function's aliases and their traffic",
      usage: 'usage: sluice alias list FN\n\nexample: sluice alias list B',
      positionals: ['FN'],
      path: ([fn]) => `/v1/functions/${seg(fn)}/aliases`,
      key: 'aliases',
      text: (aliases: AliasView[]) =>
        table(
          ['alias', 'version', 'canary', 'traffic', 'revision', 'updated'],
          aliases.map((a) => [
            a.name,
            a.version,
            a.canary ? `${a.canary.version} (${isWeight(a.canary) ? 'weight' : 'rules'})` : '-',
            describeSplit(a),
            String(a.revision),
            when(a.updatedAt),
          ]),
        ),
    }),
    get: getCommand({
      summary: 'show an alias: its versions, the canary split and its revision',
      usage: 'usage: sluice alias get FN ALIAS\n\nexample: sluice alias get B release',
      positionals: ['FN', 'ALIAS'],
      path: ([fn, name]) => aliasPath(fn, name),
      text: (alias: AliasView) => {
        const canary = alias.canary;
        return fields([
          ['alias', `${alias.functionName}/${alias.name}`],
          ['primary', alias.version],
          ['canary', canary ? canary.version : '-'],
          ['traffic', describeSplit(alias)],
          ...(canary && !isWeight(canary) ? [['match', canary.match] as [string, string]] : []),
          ['description', alias.description || '-'],
          ['revision', String(alias.revision)],
          ['updated', when(alias.updatedAt)],
        ]);
      },
    }),
    delete: deleteCommand({
      summary: 'delete an alias ($DEFAULT cannot be)',
      usage: 'usage: sluice alias delete FN ALIAS\n\nexample: sluice alias delete B prepub',
      positionals: ['FN', 'ALIAS'],
      path: ([fn, name]) => aliasPath(fn, name),
      json: ([, name]) => ({ deleted: name }),
      done: ([fn, name]) => `deleted alias ${name} of ${fn}`,
    }),
    history: historyCommand({
      summary: 'every change to an alias: revision, action, who, when and the traffic after it',
      usage: 'usage: sluice alias history FN ALIAS\n\nexample: sluice alias history B release',
      positionals: ['FN', 'ALIAS'],
      path: ([fn, name]) => aliasPath(fn, name),
      afterHeader: 'traffic after',
      describeAfter: describeSplit,
    }),
    rollback: {
      summary: 'return an alias to its previous configuration, to all-primary, or to a revision',
      usage:
        'usage: sluice alias rollback FN ALIAS [--to-primary | --revision N]\n\n' +
        '  (default)        the configuration before the current revision\n' +
        '  --to-primary     all traffic to the primary version (drop the canary)\n' +
        '  --revision N     the configuration revision N set (see "sluice alias history")\n\n' +
        'examples:\n  sluice alias rollback B release\n  sluice alias rollback B release --to-primary',
      positionals: ['FN', 'ALIAS'],
      options: { 'to-primary': { type: 'boolean' }, revision: { type: 'string' } },
      async run(args, ctx) {
        const [fn, name] = [args.positional(0), args.positional(1)];
        const revision = args.string('revision');
        if (revision !== undefined && args.flag('to-primary'))
          throw args.usageError('take either --to-primary or --revision N, not both');
        const body =
          revision !== undefined
            ? { revision: parseCount(revision, '--revision') }
            : args.flag('to-primary')
              ? { to: 'primary' }
              : {};
        const alias = await (
          await ctx.client()
        ).call<AliasView>('POST', `${aliasPath(fn, name)}/rollback`, {
          json: body,
        });
        await printAlias(alias, args.json, 'rolled back');
      },
    },
  },
};
