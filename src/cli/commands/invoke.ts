import { readFile } from 'node:fs/promises';
import { parsePairs, parseRoutingKey, parseVersionArg } from '../args.js';
import { seg } from '../client.js';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { note, print, printJson } from '../output.js';

async function readPayload(inline: string | undefined, file: string | undefined): Promise<Buffer> {
  if (inline !== undefined && file !== undefined)
    throw new UsageError('take --payload or --payload-file, not both');
  if (inline !== undefined) return Buffer.from(inline);
  if (file === undefined) return Buffer.alloc(0);
  if (file === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }
  try {
    return await readFile(file);
  } catch (error) {
    throw new UsageError(
      `cannot read --payload-file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    );
  }
}

function isJson(bytes: Buffer): boolean {
  try {
    JSON.parse(bytes.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

export const invokeCommand: Command = {
  summary: 'invoke a function through the invoke API: the result on stdout, the version that ran on stderr',
  usage: `usage: sluice invoke FN [--qualifier Q] [--payload JSON | --payload-file F] [--routing-key JSON] [--header K=V]… [--log] [--async]

  -q, --qualifier Q    $DEFAULT (the default), $LATEST, a version number or an alias
  --payload JSON       the event (sent as it is; JSON or any text)
  --payload-file F     the event from a file (- for stdin)
  --routing-key JSON   the routing key, such as '{"User":"Bob"}': "key:" rules read it, and "header:" rules
                       too when the request has no such header (SCF's RoutingKey)
  --header K=V         a request header, for "header:" rules (repeatable)
  --pin V              be served by version V of the alias's two, whatever the split says
  --log                print the invocation's log (its last 4 KB) on stderr
  --async              queue the invocation and print its request id at once; the version is chosen when
                       it runs (see sluice async get FN ID)

examples:
  sluice invoke B --qualifier release --payload '{"n": 1}'
  sluice invoke B --qualifier prepub --header User=Bob --log
  sluice invoke B --qualifier prepub --routing-key '{"User":"Bob"}'
  sluice invoke B --qualifier release --payload '{"n": 1}' --async`,
  positionals: ['FN'],
  options: {
    qualifier: { type: 'string', short: 'q' },
    payload: { type: 'string' },
    'payload-file': { type: 'string' },
    'routing-key': { type: 'string' },
    header: { type: 'string', multiple: true },
    pin: { type: 'string' },
    log: { type: 'boolean' },
    async: { type: 'boolean' },
  },
  async run(args, ctx) {
    const fn = args.positional(0);
    const qualifier = args.string('qualifier');
    const payload = await readPayload(args.string('payload'), args.string('payload-file'));
    const headers: Record<string, string> = parsePairs(args.list('header'), '--header');
    const routingKey = args.string('routing-key');
    if (routingKey !== undefined)
      headers['x-sluice-routing-key'] = JSON.stringify(parseRoutingKey(routingKey));
    const pin = args.string('pin');
    if (pin !== undefined) headers['x-sluice-version'] = parseVersionArg(pin, '--pin');
    const queued = args.flag('async');
    if (queued && (pin !== undefined || args.flag('log')))
      throw new UsageError(
        '--async takes neither --pin nor --log: the invocation runs later, routed by its alias',
      );
    if (args.flag('log')) headers['x-fc-log-type'] = 'Tail';
    if (queued) headers['x-fc-invocation-type'] = 'Async';
    const client = await ctx.client();
    const path = `/v1/functions/${seg(fn)}/invocations`;
    const response = await client.send('POST', path, {
      query: { qualifier },
      body: payload,
      contentType: isJson(payload) ? 'application/json' : 'application/octet-stream',
      headers,
      acceptErrors: true,
    });
    const requestId = response.header('x-fc-request-id') ?? '';
    const version = response.header('x-fc-invocation-function-version');
    const logResult = response.header('x-fc-log-result');
    const log = logResult === undefined ? undefined : Buffer.from(logResult, 'base64').toString('utf8');
    if (!response.ok) {
      if (!args.json && version) note(`version ${version} ran (request ${requestId})`);
      if (!args.json && log) note(log.trimEnd());
      throw await client.apiError(response, path);
    }
    const body = await response.bytes();
    if (queued) {
      if (args.json)
        printJson({ functionName: fn, qualifier: qualifier ?? '$DEFAULT', requestId, status: 'queued' });
      else {
        print(requestId);
        note(`queued ${fn}${qualifier ? `:${qualifier}` : ''}; sluice async get ${fn} ${requestId}`);
      }
      return;
    }
    if (args.json) {
      const text = body.toString('utf8');
      let result: unknown = text;
      try {
        result = JSON.parse(text);
      } catch {
        // a plain-text result stays a string
      }
      printJson({
        functionName: fn,
        qualifier: qualifier ?? '$DEFAULT',
        version,
        requestId,
        result,
        ...(log !== undefined && { log }),
      });
      return;
    }
    process.stdout.write(body);
    if (process.stdout.isTTY && !body.toString('utf8').endsWith('\n')) process.stdout.write('\n');
    note(`version ${version ?? '?'} ran ${fn}${qualifier ? `:${qualifier}` : ''} (request ${requestId})`);
    if (log) note(log.trimEnd());
  },
};
