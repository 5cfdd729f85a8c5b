import type { TokenView } from '../../contract/schemas/credentials.js';

/** Tokens and access keys are listed alike. */
type CredentialView = TokenView;
import type { Args } from '../args.js';
import { seg } from '../client.js';
import type { Command, Group } from '../command.js';
import { fields, printResult, table } from '../output.js';

const SCOPES = ['admin', 'deploy', 'invoke'];
const SCOPE_HELP =
  '  --scope S              admin: everything; deploy: functions, code, versions, aliases, APIs and stages,\n' +
  '                         rollouts, and invoking, but no credentials; invoke: the data plane only\n' +
  '  --function-prefix P    only functions whose names start with P';

/** The body of a creation: a name, a scope the user must choose, and an optional prefix. */
function credentialBody(args: Args): Record<string, string> {
  const scope = args.string('scope');
  if (scope === undefined) throw args.usageError('--scope is required: admin, deploy or invoke');
  if (!SCOPES.includes(scope))
    throw args.usageError(`--scope must be admin, deploy or invoke, not "${scope}"`);
  const prefix = args.string('function-prefix');
  return { name: args.positional(0), scope, ...(prefix !== undefined && { functionPrefix: prefix }) };
}

function listTable(items: readonly CredentialView[]): string {
  return table(
    ['id', 'name', 'scope', 'function prefix', 'created'],
    items.map((c) => [c.id, c.name, c.scope, c.functionPrefix ?? '-', c.createdAt]),
  );
}

const createOptions = { scope: { type: 'string' }, 'function-prefix': { type: 'string' } } as const;

/** create, list, and revoke (or delete) for one kind of credential at `path`. */
function credentialCommands(kind: {
  command: 'token' | 'key';
  word: string;
  path: string;
  listKey: 'tokens' | 'accessKeys';
  secretField: 'token' | 'secret';
  remove: 'revoke' | 'delete';
  create: Pick<Command, 'summary' | 'usage'>;
}): Group['commands'] {
  return {
    create: {
      ...kind.create,
      positionals: ['NAME'],
      options: createOptions,
      async run(args, ctx) {
        const created = await (
          await ctx.client()
        ).call<CredentialView & Record<string, string>>('POST', kind.path, {
          json: credentialBody(args),
        });
        await printResult(args.json, created, () => {
          const about = fields([
            ['id', created.id],
            ['name', created.name],
            ['scope', created.scope],
            ['function prefix', created.functionPrefix ?? '-'],
            [kind.secretField, created[kind.secretField] ?? ''],
          ]);
          return `${about}\n\nKeep the ${kind.secretField} now: it is shown this once, and the server cannot show it again.`;
        });
      },
    },
    list: {
      summary: `list the ${kind.word}s (never their secrets)`,
      usage: `usage: sluice ${kind.command} list`,
      async run(args, ctx) {
        const list = await (await ctx.client()).call<Record<string, CredentialView[]>>('GET', kind.path);
        const items = list[kind.listKey] ?? [];
        await printResult(args.json, items, () =>
          items.length === 0 ? `no ${kind.word}s` : listTable(items),
        );
      },
    },
    [kind.remove]: {
      summary: `${kind.remove} a ${kind.word}: every node refuses it within seconds`,
      usage: `usage: sluice ${kind.command} ${kind.remove} ID\n\nThe id is the one "list" shows.`,
      positionals: ['ID'],
      async run(args, ctx) {
        const id = args.positional(0);
        await (await ctx.client()).call('DELETE', `${kind.path}/${seg(id)}`);
        const done = kind.remove === 'revoke' ? 'revoked' : 'deleted';
        await printResult(args.json, { id, [done]: true }, () => `${done} ${kind.word} ${id}`);
      },
    },
  };
}

export const tokenCommands: Group = {
  summary: 'bearer tokens with a scope, for people, CI jobs and apps (admin only)',
  commands: credentialCommands({
    command: 'token',
    word: 'token',
    path: '/v1/tokens',
    listKey: 'tokens',
    secretField: 'token',
    remove: 'revoke',
    create: {
      summary: 'create a bearer token; it is shown once',
      usage:
        `usage: sluice token create NAME --scope admin|deploy|invoke [--function-prefix P]\n\n${SCOPE_HELP}\n\n` +
        'examples:\n  sluice token create ci --scope deploy\n  sluice token create shop-app --scope invoke --function-prefix shop-',
    },
  }),
};

export const keyCommands: Group = {
  summary: "access-key pairs with a scope, for vendors' SDKs and their signatures (admin only)",
  commands: credentialCommands({
    command: 'key',
    word: 'access key',
    path: '/v1/access-keys',
    listKey: 'accessKeys',
    secretField: 'secret',
    remove: 'delete',
    create: {
      summary: 'create an access-key pair (id and secret); the secret is shown once',
      usage:
        `usage: sluice key create NAME --scope admin|deploy|invoke [--function-prefix P]\n\n${SCOPE_HELP}\n\n` +
        'example:\n  sluice key create fc-sdk --scope deploy',
    },
  }),
};
