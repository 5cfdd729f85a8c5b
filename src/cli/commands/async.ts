import { parseCount } from '../args.js';
import { seg } from '../client.js';
import type { Group } from '../command.js';
import { UsageError } from '../errors.js';
import { fields, printResult, table } from '../output.js';
import { getCommand } from '../request-commands.js';
import type {
  AsyncConfigView,
  AsyncInvocationList,
  AsyncInvocationView,
  Destination,
} from '../../contract/schemas/async.js';

const base = (fn: string) => `/v1/functions/${seg(fn)}`;

const destinationText = (d: Destination | null) =>
  d === null ? 'none' : 'url' in d ? d.url : `function ${d.function}:${d.qualifier ?? '$DEFAULT'}`;

/** `function:NAME[:QUALIFIER]`, an http(s) URL, or `none`. */
function parseDestination(text: string, flag: string): Destination | null {
  if (text === 'none') return null;
  if (/^https?:\/\//.test(text)) return { url: text };
  const match = /^function:([^:]+)(?::(.+))?$/.exec(text);
  if (!match)
    throw new UsageError(`${flag} must be function:NAME[:QUALIFIER], an http(s) URL or none, not "${text}"`);
  return { function: match[1] as string, ...(match[2] !== undefined && { qualifier: match[2] }) };
}

function describeInvocation(view: AsyncInvocationView): string {
  const pairs: [string, string][] = [
    ['request id', view.requestId],
    ['status', view.status],
    ['qualifier', view.qualifier],
    ['version', view.version ?? '-'],
    ['source', view.source],
    ['created', view.createdAt],
    ['attempts', String(view.attempts.length)],
  ];
  if (view.nextAttemptAt) pairs.push(['next attempt', view.nextAttemptAt]);
  if (view.finishedAt) pairs.push(['finished', view.finishedAt]);
  if (view.error) pairs.push(['error', `${view.error.code}: ${view.error.message}`]);
  if (view.result !== undefined) pairs.push(['result', view.result]);
  if (view.destination)
    pairs.push([
      'destination',
      `${view.destination.target} ${view.destination.status}${view.destination.error ? ` (${view.destination.error})` : ''}`,
    ]);
  const attempts = view.attempts.map((a, i) => [
    String(i + 1),
    a.version ?? '-',
    a.startedAt,
    a.errorCode ?? 'ok',
  ]);
  return attempts.length === 0
    ? fields(pairs)
    : `${fields(pairs)}\n\n${table(['attempt', 'version', 'started', 'outcome'], attempts)}`;
}

export const asyncCommands: Group = {
  summary: 'asynchronous invocations: their records, and the function’s retries and destinations',
  commands: {
    list: {
      summary: "a function's asynchronous invocations, newest first, with the version each ran",
      usage:
        'usage: sluice async list FN [--status queued|running|succeeded|failed|expired] [--limit N]\n\n' +
        'example:\n  sluice async list B --status failed',
      positionals: ['FN'],
      options: { status: { type: 'string' }, limit: { type: 'string' } },
      async run(args, ctx) {
        const fn = args.positional(0);
        const limit = args.string('limit');
        const page = await (
          await ctx.client()
        ).call<AsyncInvocationList>('GET', `${base(fn)}/async-invocations`, {
          query: {
            status: args.string('status'),
            limit: limit === undefined ? undefined : String(parseCount(limit, '--limit')),
          },
        });
        await printResult(args.json, page, () =>
          page.invocations.length === 0
            ? `${fn} has no asynchronous invocations`
            : table(
                ['request id', 'status', 'qualifier', 'version', 'attempts', 'source', 'created'],
                page.invocations.map((v) => [
                  v.requestId,
                  v.status,
                  v.qualifier,
                  v.version ?? '-',
                  String(v.attempts.length),
                  v.source,
                  v.createdAt,
                ]),
              ),
        );
      },
    },
    get: getCommand({
      summary: 'one asynchronous invocation: its status, result or error, and every attempt with its version',
      usage: 'usage: sluice async get FN REQUEST_ID\n\nexample:\n  sluice async get B 6f1c…',
      positionals: ['FN', 'REQUEST_ID'],
      path: ([fn, id]) => `${base(fn)}/async-invocations/${seg(id)}`,
      text: describeInvocation,
    }),
    config: {
      summary: "show or set a function's retries, maximum event age and destinations",
      usage:
        'usage: sluice async config FN [--max-retries N] [--max-event-age SECONDS] [--on-success DEST] [--on-failure DEST]\n\n' +
        'Without options it shows the settings. With any, it replaces them: what is not given takes its default\n' +
        '(2 retries, 21600 s, no destinations). DEST is function:NAME[:QUALIFIER], an http(s) URL, or none.\n\n' +
        'examples:\n  sluice async config B --max-retries 1 --on-failure function:dead-letters\n' +
        '  sluice async config B --on-success https://hooks.example.com/done',
      positionals: ['FN'],
      options: {
        'max-retries': { type: 'string' },
        'max-event-age': { type: 'string' },
        'on-success': { type: 'string' },
        'on-failure': { type: 'string' },
      },
      async run(args, ctx) {
        const fn = args.positional(0);
        const client = await ctx.client();
        const [retries, age, success, failure] = [
          args.string('max-retries'),
          args.string('max-event-age'),
          args.string('on-success'),
          args.string('on-failure'),
        ];
        const setting = [retries, age, success, failure].some((v) => v !== undefined);
        const view = setting
          ? await client.call<AsyncConfigView>('PUT', `${base(fn)}/async-config`, {
              json: {
                ...(retries !== undefined && { maxRetries: parseCount(retries, '--max-retries', 0) }),
                ...(age !== undefined && { maxEventAgeSeconds: parseCount(age, '--max-event-age') }),
                ...(success !== undefined && { onSuccess: parseDestination(success, '--on-success') }),
                ...(failure !== undefined && { onFailure: parseDestination(failure, '--on-failure') }),
              },
            })
          : await client.call<AsyncConfigView>('GET', `${base(fn)}/async-config`);
        await printResult(args.json, view, () =>
          fields([
            ['max retries', String(view.maxRetries)],
            ['max event age', `${view.maxEventAgeSeconds} s`],
            ['on success', destinationText(view.onSuccess)],
            ['on failure', destinationText(view.onFailure)],
          ]),
        );
      },
    },
  },
};
