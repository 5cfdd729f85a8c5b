import { parseCount } from '../args.js';
import { type Client, seg } from '../client.js';
import type { Command, Group } from '../command.js';
import { UsageError } from '../errors.js';
import { fields, printResult, table } from '../output.js';
import { deleteCommand, getCommand } from '../request-commands.js';
import type { TriggerList, TriggerView } from '../../contract/schemas/triggers.js';

const path = (fn: string, trigger?: string) =>
  `/v1/functions/${seg(fn)}/triggers${trigger === undefined ? '' : `/${seg(trigger)}`}`;

const OPTIONS = {
  qualifier: { type: 'string', short: 'q' },
  timer: { type: 'string' },
  payload: { type: 'string' },
  queue: { type: 'string' },
  stream: { type: 'string' },
  subject: { type: 'string' },
  concurrency: { type: 'string' },
  disabled: { type: 'boolean' },
  description: { type: 'string' },
} as const;

const OPTIONS_HELP = `  -q, --qualifier Q     the alias (default $DEFAULT), version or LATEST it invokes
  --timer SCHEDULE      a timer: cron in UTC ("*/5 * * * *"), "@every 30s", or @hourly/@daily/@weekly/@monthly
  --payload TEXT        a timer's payload, given to the handler in the event
  --queue URL           a NATS JetStream subscription (nats://host:4222): with --stream, --subject
                        [--concurrency N], the messages a node runs at once (default 4)
  --disabled            fires nothing until updated
  --description TEXT`;

type Args = Parameters<Command['run']>[0];

/** The trigger's body from the command line: a timer or a queue, never both. */
function bodyOf(args: Args): Record<string, unknown> {
  const schedule = args.string('timer');
  const url = args.string('queue');
  if ((schedule === undefined) === (url === undefined))
    throw new UsageError('give either --timer SCHEDULE or --queue URL');
  const concurrency = args.string('concurrency');
  const common = {
    ...(args.string('qualifier') !== undefined && { qualifier: args.string('qualifier') }),
    ...(args.flag('disabled') && { enabled: false }),
    ...(args.string('description') !== undefined && { description: args.string('description') }),
  };
  if (schedule !== undefined) {
    const payload = args.string('payload');
    return { kind: 'timer', schedule, ...(payload !== undefined && { payload }), ...common };
  }
  const need = (flag: 'stream' | 'subject') => {
    const value = args.string(flag);
    if (value === undefined) throw new UsageError(`--queue needs --${flag}`);
    return value;
  };
  return {
    kind: 'queue',
    url,
    stream: need('stream'),
    subject: need('subject'),
    ...(concurrency !== undefined && { concurrency: parseCount(concurrency, '--concurrency') }),
    ...common,
  };
}

const what = (t: TriggerView) =>
  t.kind === 'timer'
    ? `timer ${t.schedule ?? ''}`
    : `queue ${t.url ?? ''} ${t.stream ?? ''} ${t.subject ?? ''}`;

function describe(t: TriggerView): string {
  return fields([
    ['trigger', `${t.functionName}/${t.name}`],
    ['invokes', t.qualifier],
    ['kind', what(t)],
    ['enabled', String(t.enabled)],
    ...(t.kind === 'timer' ? ([['last fired', t.lastFiredAt ?? 'never']] as [string, string][]) : []),
    ...(t.concurrency !== undefined ? ([['concurrency', String(t.concurrency)]] as [string, string][]) : []),
  ]);
}

async function write(client: Client, method: 'POST' | 'PUT', fn: string, name: string, body: object) {
  return client.call<TriggerView>(method, method === 'POST' ? path(fn) : path(fn, name), {
    json: method === 'POST' ? { name, ...body } : body,
  });
}

/** `create` and `update`: the same flags, sent as a new trigger (POST) or in place of one (PUT). */
function writeCommand(method: 'POST' | 'PUT', summary: string, usage: string): Command {
  return {
    summary,
    usage,
    positionals: ['FN', 'NAME'],
    options: OPTIONS,
    async run(args, ctx) {
      const [fn, name] = [args.positional(0), args.positional(1)];
      const view = await write(await ctx.client(), method, fn, name, bodyOf(args));
      await printResult(args.json, view, () => describe(view));
    },
  };
}

export const triggerCommands: Group = {
  summary: 'timer and message-queue triggers, each invoking an alias (or version) of its function',
  commands: {
    create: writeCommand(
      'POST',
      'create a timer or queue trigger bound to a qualifier',
      `usage: sluice trigger create FN NAME (--timer SCHEDULE [--payload TEXT] | --queue URL --stream S --subject S [--concurrency N]) [--qualifier Q]

${OPTIONS_HELP}

examples:
  sluice trigger create B tick --timer "@every 30s" --qualifier release --payload '{"job":"sweep"}'
  sluice trigger create B orders --queue nats://127.0.0.1:4222 --stream ORDERS --subject 'orders.>' -q release`,
    ),
    update: writeCommand(
      'PUT',
      "replace a trigger's configuration (a timer keeps its last firing)",
      `usage: sluice trigger update FN NAME (--timer SCHEDULE … | --queue URL …) [--qualifier Q]\n\n${OPTIONS_HELP}\n\nexample:\n  sluice trigger update B tick --timer "0 3 * * *" --qualifier release`,
    ),
    list: {
      summary: "a function's triggers and the qualifier each invokes",
      usage: 'usage: sluice trigger list FN\n\nexample:\n  sluice trigger list B',
      positionals: ['FN'],
      async run(args, ctx) {
        const fn = args.positional(0);
        const { triggers } = await (await ctx.client()).call<TriggerList>('GET', path(fn));
        await printResult(args.json, triggers, () =>
          triggers.length === 0
            ? `${fn} has no triggers`
            : table(
                ['name', 'invokes', 'kind', 'enabled', 'last fired'],
                triggers.map((t) => [t.name, t.qualifier, what(t), String(t.enabled), t.lastFiredAt ?? '-']),
              ),
        );
      },
    },
    get: getCommand({
      summary: 'one trigger',
      usage: 'usage: sluice trigger get FN NAME\n\nexample:\n  sluice trigger get B tick',
      positionals: ['FN', 'NAME'],
      path: ([fn, name]) => path(fn, name),
      text: (view: TriggerView) => describe(view),
    }),
    delete: deleteCommand({
      summary: 'delete a trigger',
      usage: 'usage: sluice trigger delete FN NAME\n\nexample:\n  sluice trigger delete B tick',
      positionals: ['FN', 'NAME'],
      path: ([fn, name]) => path(fn, name),
      json: ([fn, name]) => ({ functionName: fn, name, deleted: true }),
      done: ([fn, name]) => `deleted trigger ${fn}/${name}`,
    }),
  },
};
