import { parseCount, parseVersionArg } from '../args.js';
import { type Client, seg } from '../client.js';
import type { Command } from '../command.js';
import { followEvents } from '../../contract/sse.js';
import { CliError } from '../errors.js';
import { ms, note, print, printJson, when } from '../output.js';

interface LogView {
  id: number | null;
  at: string;
  qualifier: string | null;
  versionId: string;
  requestId: string | null;
  durationMs: number | null;
  outcome: string;
  errorCode: string | null;
  text: string;
}

function printLog(log: LogView, json: boolean): void {
  if (json) {
    print(JSON.stringify(log));
    return;
  }
  const outcome = log.errorCode ? `${log.outcome} ${log.errorCode}` : log.outcome;
  print(
    `── ${when(log.at)}  version ${log.versionId}  qualifier ${log.qualifier ?? '-'}  ${outcome}  ${ms(log.durationMs)}  request ${log.requestId ?? '-'}`,
  );
  if (log.text) print(log.text.replace(/\n$/, ''));
}

/**
 * Follows the log stream and prints each log until aborted (Ctrl-C); a stream that breaks is resumed after the
 * last log printed.
 */
async function follow(
  client: Client,
  path: string,
  query: Record<string, string | undefined>,
  json: boolean,
): Promise<void> {
  const abort = new AbortController();
  const stop = () => {
    abort.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  let announced = false;
  try {
    await followEvents({
      signal: abort.signal,
      async open(lastEventId) {
        const response = await client.send('GET', path, {
          query: { ...query, follow: 'true' },
          signal: abort.signal,
          ...(lastEventId !== undefined && { headers: { 'last-event-id': lastEventId } }),
        });
        response.message.setEncoding('utf8');
        return response.message as AsyncIterable<string>;
      },
      onOpen() {
        if (!announced) note(`following the logs of ${path.split('/')[3] ?? ''} (Ctrl-C to stop)`);
        announced = true;
      },
      onEvent(event) {
        if (event.event === 'log') printLog(JSON.parse(event.data) as LogView, json);
      },
    });
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`the log stream broke: ${(error as Error).message}`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export const logsCommand: Command = {
  summary: "a function's invocation logs, filtered, or followed live",
  usage: `usage: sluice logs FN [--qualifier Q] [--version V] [--since 10m] [--request-id ID] [--text T] [--limit N] [--follow]

  --qualifier Q      only invocations that named Q ($DEFAULT, $LATEST, a version or an alias)
  --version V        only invocations that version V served
  --since T          from this long ago (30s, 10m, 2h, 7d) or an ISO 8601 time
  --request-id ID    one invocation
  --text T           logs that contain T
  --limit N          at most N logs, the newest (default 100, at most 1000)
  -f, --follow       then print each new log as it comes, until Ctrl-C
  --json             the API's JSON; with --follow, one JSON object a line

examples:
  sluice logs B --qualifier release --since 10m
  sluice logs B --version 2 --follow`,
  positionals: ['FN'],
  options: {
    qualifier: { type: 'string' },
    version: { type: 'string' },
    since: { type: 'string' },
    'request-id': { type: 'string' },
    text: { type: 'string' },
    limit: { type: 'string' },
    follow: { type: 'boolean', short: 'f' },
  },
  async run(args, ctx) {
    const fn = args.positional(0);
    const versionFlag = args.string('version');
    const limit = args.string('limit');
    const query = {
      qualifier: args.string('qualifier'),
      version:
        versionFlag === undefined
          ? undefined
          : parseVersionArg(versionFlag, '--version').replace('$LATEST', 'LATEST'),
      since: args.string('since'),
      requestId: args.string('request-id'),
      text: args.string('text'),
      limit: limit === undefined ? undefined : String(parseCount(limit, '--limit')),
    };
    const client = await ctx.client();
    const path = `/v1/functions/${seg(fn)}/logs`;
    if (args.flag('follow')) return follow(client, path, query, args.json);
    const answer = await client.call<{ logs: LogView[] }>('GET', path, { query });
    if (args.json) {
      printJson(answer);
      return;
    }
    if (answer.logs.length === 0) {
      print(`no logs of ${fn} match`);
      return;
    }
    for (const log of answer.logs) printLog(log, false);
  },
};
