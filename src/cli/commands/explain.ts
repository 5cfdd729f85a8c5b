import { parsePairs, parseRoutingKey } from '../args.js';
import { seg } from '../client.js';
import type { Command } from '../command.js';
import { percent, printResult, versionLabel } from '../output.js';
import { formatRule } from '../rules.js';
import type { ExplainView } from '../views.js';

const SOURCE_LABEL: Record<string, string> = {
  header: 'header',
  cookie: 'cookie',
  query: 'query',
  key: 'routing key',
};

/** SCF's rule: a header the request lacks is read from its routing key, and the explanation says so. */
const fromRoutingKey = (from: string | undefined) =>
  from === 'routingKey' ? ' in the routing key, for want of the header' : '';

function describe(fn: string, asked: string, view: ExplainView): string[] {
  if (view.reason === 'named')
    return [`${fn}:${asked} → ${versionLabel(view.version)}: named directly, no alias chooses for it`];
  const head = `${fn}/${view.alias} (revision ${view.revision}) → ${versionLabel(view.version)}, the ${view.target}`;
  if (view.reason === 'no canary') return [`${head}: it has no canary, all traffic goes there`];
  if (view.reason === 'rules') {
    const lines = [`${head}: rules, ${view.match === 'any' ? 'any one' : 'all'} must hold`];
    for (const c of view.conditions ?? []) {
      const value =
        c.value === undefined
          ? `no ${SOURCE_LABEL[c.condition.source] ?? c.condition.source} ${c.condition.name}${c.condition.source === 'header' ? ' nor routing-key entry' : ''}`
          : `${c.condition.name} is "${c.value}"${fromRoutingKey(c.from)}`;
      lines.push(`  ${c.holds ? 'holds  ' : 'fails  '} ${formatRule(c.condition)}   (${value})`);
    }
    return lines;
  }
  const weight = `weight: ${percent(view.weight ?? 0)} to the canary`;
  if (view.sticky) {
    const s = view.sticky;
    return [
      head,
      `  ${weight}; sticky on ${s.source}:${s.name} = "${s.value}"${fromRoutingKey(s.from)}, bucket ${s.bucket} of 10000 — the same every time`,
    ];
  }
  return [
    head,
    `  ${weight}; this was one random draw (${(view.draw ?? 0).toFixed(4)}): each invocation draws anew`,
  ];
}

export const explainCommand: Command = {
  summary: 'which version an alias would serve a request with these attributes, and why',
  usage: `usage: sluice explain FN ALIAS [--header K=V]… [--cookie K=V]… [--query K=V]… [--routing-key JSON | --key K=V…]

ALIAS may also be LATEST ($LATEST) or a version number, which are served as named.

  --header K=V         a request header (repeatable)
  --cookie K=V         a cookie (repeatable)
  --query K=V          a query parameter (repeatable)
  --routing-key JSON   the invoke API's routing key, such as '{"userId":"42"}': "key:" rules read it, and
                       "header:" rules too when no --header of that name is given
  --key K=V            one routing-key entry (repeatable)

examples:
  sluice explain B prepub --header User=Bob
  sluice explain B release --routing-key '{"userId":"42"}'
  sluice explain B prepub --routing-key '{"User":"Bob"}'`,
  positionals: ['FN', 'ALIAS'],
  options: {
    header: { type: 'string', multiple: true },
    cookie: { type: 'string', multiple: true },
    query: { type: 'string', multiple: true },
    'routing-key': { type: 'string' },
    key: { type: 'string', multiple: true },
  },
  async run(args, ctx) {
    const [fn, alias] = [args.positional(0), args.positional(1)];
    const routingKeyText = args.string('routing-key');
    const routingKey = {
      ...(routingKeyText === undefined ? {} : parseRoutingKey(routingKeyText)),
      ...parsePairs(args.list('key'), '--key'),
    };
    const body = {
      headers: parsePairs(args.list('header'), '--header'),
      cookies: parsePairs(args.list('cookie'), '--cookie'),
      query: parsePairs(args.list('query'), '--query'),
      routingKey,
    };
    const view = await (
      await ctx.client()
    ).call<ExplainView>('POST', `/v1/functions/${seg(fn)}/aliases/${seg(alias)}/explain`, {
      json: body,
    });
    await printResult(args.json, view, () => describe(fn, alias, view).join('\n'));
  },
};
