import { parseTimeAgo } from '../../contract/domain.js';
import type { MetricsView, Summary } from '../../contract/schemas/telemetry.js';
import { seg } from '../client.js';
import type { Command } from '../command.js';
import { ms, percent, printResult, table } from '../output.js';

const row = (label: string, share: string, s: Summary): string[] => [
  label,
  share,
  String(s.invocations),
  String(s.functionErrors + s.platformErrors),
  percent(s.errorRate),
  String(s.throttles),
  String(s.coldStarts),
  ms(s.p50Ms),
  ms(s.p90Ms),
  ms(s.p99Ms),
];

export const metricsCommand: Command = {
  summary: 'per-version traffic share, errors and latency percentiles of a function',
  usage: `usage: sluice metrics FN [--since 10m] [--until T] [--by version|alias]

  --since T          from this long ago (30s, 10m, 2h, 7d) or an ISO 8601 time (default 10m)
  --until T          to this time (default now)
  --by version       one row per version that served (default)
  --by alias         one row per qualifier the callers named (alias, version, $LATEST, $DEFAULT)

examples:
  sluice metrics B --since 30m
  sluice metrics B --by alias`,
  positionals: ['FN'],
  options: { since: { type: 'string' }, until: { type: 'string' }, by: { type: 'string' } },
  async run(args, ctx) {
    const fn = args.positional(0);
    const byFlag = args.string('by') ?? 'version';
    if (!['version', 'alias', 'qualifier'].includes(byFlag))
      throw args.usageError(`--by takes version or alias, not "${byFlag}"`);
    const by = byFlag === 'version' ? 'version' : 'qualifier';
    const since = args.string('since') ?? '10m';
    const until = args.string('until');
    const now = Date.now();
    const from = parseTimeAgo(since, now);
    const to = until === undefined ? now : parseTimeAgo(until, now);
    if (from === undefined)
      throw args.usageError(`--since takes a duration (10m, 2h) or an ISO 8601 time, not "${since}"`);
    if (to === undefined)
      throw args.usageError(`--until takes a duration (10m, 2h) or an ISO 8601 time, not "${until ?? ''}"`);
    // The rows, not the time series, are shown: a coarse step keeps the answer small over a long range.
    const rangeSeconds = (to - from) / 1000;
    const step =
      rangeSeconds > 3600 ? String(Math.max(60, Math.ceil(rangeSeconds / 60 / 1000) * 60)) + 's' : undefined;
    const view = await (
      await ctx.client()
    ).call<MetricsView>('GET', `/v1/functions/${seg(fn)}/metrics`, {
      query: { since, until, by, step },
    });
    await printResult(args.json, view, () => {
      const t = view.totals;
      const head =
        `${fn}, ${view.from.replace('T', ' ').slice(0, 19)} to ${view.until.replace('T', ' ').slice(0, 19)} UTC: ` +
        `${t.invocations} invocations, ${percent(t.errorRate)} errors`;
      if (view.series.length === 0) return head;
      const rows = [
        ...view.series.map((s) => row(String(s[by]), percent(s.share), s.totals)),
        row('all', '100%', t),
      ];
      return `${head}\n${table([by, 'share', 'invocations', 'errors', 'error rate', 'throttles', 'cold', 'p50', 'p90', 'p99'], rows)}`;
    });
  },
};
