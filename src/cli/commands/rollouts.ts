import { parseDuration } from '../../contract/domain.js';
import { parseCount, parseVersionArg, parseWeight } from '../args.js';
import { seg } from '../client.js';
import type { Command, Group } from '../command.js';
import { UsageError } from '../errors.js';
import { fields, percent, printResult, table, when } from '../output.js';
import { getCommand, listCommand } from '../request-commands.js';

interface RolloutView {
  id: string;
  functionName: string;
  alias: string;
  from: string;
  to: string;
  status: string;
  step: number;
  steps: { weight: number; holdMs: number }[];
  currentWeight: number;
  reason: string | null;
  events: { at: string; kind: string; message: string }[];
  createdAt: string;
}

export const ROLLOUT_OPTIONS = {
  to: { type: 'string' },
  strategy: { type: 'string' },
  weight: { type: 'string' },
  increment: { type: 'string' },
  steps: { type: 'string' },
  interval: { type: 'string' },
  'max-error-rate': { type: 'string' },
  'max-error-ratio': { type: 'string' },
  'max-p99': { type: 'string' },
  'max-platform-errors': { type: 'string' },
  'min-invocations': { type: 'string' },
  'pre-traffic': { type: 'string' },
} as const;

export const ROLLOUT_FLAGS_HELP = `  --strategy S            canary (one step, then 100 %), linear (+increment each interval) or steps
  --weight F              the canary step's share (canary), as 0.1 or 10% (default 10%)
  --increment F           each linear step's increase (default 10%)
  --steps LIST            explicit shares such as 5%,25%,50% (100 % comes last by itself)
  --interval D            how long each step is held: 30s, 5m, 1h (default 1m)
  --max-error-rate F      the target's largest error rate in a step, as 0.01 or 1%
  --max-error-ratio X     the largest ratio to the primary's error rate in the same window, such as 2
  --max-p99 D             the target's largest p99 duration, such as 500ms or 2s
  --max-platform-errors N timeouts, memory and crashes tolerated per step
  --min-invocations N     no step passes before the target served this many in it (default 10)
  --pre-traffic PAYLOAD   a payload the target must answer without error before any traffic moves`;

/** The rollout request the flags describe; `to` is the target version. */
export function rolloutRequest(
  get: (name: string) => string | undefined,
  to: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = { to };
  const strategy = get('strategy');
  if (strategy !== undefined) {
    if (!['canary', 'linear', 'steps'].includes(strategy)) {
      throw new UsageError(`--strategy takes canary, linear or steps, not "${strategy}"`);
    }
    body.strategy = strategy;
  }
  const weight = get('weight');
  if (weight !== undefined) body.weight = parseWeight(weight, '--weight');
  const increment = get('increment');
  if (increment !== undefined) body.increment = parseWeight(increment, '--increment');
  const steps = get('steps');
  if (steps !== undefined) body.steps = steps.split(',').map((s) => parseWeight(s, '--steps'));
  const interval = get('interval');
  if (interval !== undefined) {
    if (parseDuration(interval) === undefined)
      throw new UsageError(`--interval takes a duration such as 30s, 5m or 1h, not "${interval}"`);
    body.interval = interval;
  }
  const rate = get('max-error-rate');
  if (rate !== undefined) body.maxErrorRate = parseWeight(rate, '--max-error-rate');
  const ratio = get('max-error-ratio');
  if (ratio !== undefined) {
    const value = Number(ratio);
    if (!Number.isFinite(value) || value < 1)
      throw new UsageError(`--max-error-ratio takes a number of 1 or more, not "${ratio}"`);
    body.maxErrorRateRatio = value;
  }
  const p99 = get('max-p99');
  if (p99 !== undefined) {
    const value = parseDuration(/^\d+(\.\d+)?$/.test(p99) ? `${p99}ms` : p99);
    if (value === undefined || value < 1)
      throw new UsageError(`--max-p99 takes a duration such as 500ms or 2s, not "${p99}"`);
    body.maxP99Ms = Math.round(value);
  }
  const platform = get('max-platform-errors');
  if (platform !== undefined) body.maxPlatformErrors = parseCount(platform, '--max-platform-errors', 0);
  const min = get('min-invocations');
  if (min !== undefined) body.minInvocations = parseCount(min, '--min-invocations');
  const pre = get('pre-traffic');
  if (pre !== undefined) body.preTraffic = { payload: pre };
  return body;
}

export function describeRollout(r: RolloutView): string {
  const steps = r.steps.map((s, i) => `${i + 1 === r.step ? '▶' : ''}${percent(s.weight)}`).join(' → ');
  return fields([
    ['rollout', r.id],
    ['alias', `${r.functionName}/${r.alias}: ${r.from} → ${r.to}`],
    ['status', r.reason ? `${r.status} (${r.reason})` : r.status],
    ['steps', steps],
    ['now', `${percent(r.currentWeight)} on ${r.to}`],
    ['started', when(r.createdAt)],
  ]);
}

function eventsTable(r: RolloutView): string {
  return table(
    ['at', 'event', 'what'],
    r.events.map((e) => [when(e.at), e.kind, e.message]),
  );
}

const control = (action: 'pause' | 'resume' | 'abort' | 'promote', summary: string): Command => ({
  summary,
  usage: `usage: sluice rollout ${action} ID\n\nexample: sluice rollout ${action} 5f0c…`,
  positionals: ['ID'],
  async run(args, ctx) {
    const client = await ctx.client();
    const rollout = await client.call<RolloutView>(
      'POST',
      `/v1/rollouts/${seg(args.positional(0))}/${action}`,
    );
    await printResult(args.json, rollout, () => describeRollout(rollout));
  },
});

export const rolloutCommands: Group = {
  summary: 'move an alias to a new version step by step, with guardrails and automatic rollback',
  commands: {
    start: {
      summary: 'start a rollout of an alias to a version',
      usage: `usage: sluice rollout start FN ALIAS --to V [options]

${ROLLOUT_FLAGS_HELP}

example: sluice rollout start B release --to 2 --steps 5%,25%,50% --interval 5m --max-error-rate 1% --max-p99 500ms`,
      positionals: ['FN', 'ALIAS'],
      options: ROLLOUT_OPTIONS,
      async run(args, ctx) {
        const to = args.string('to');
        if (to === undefined) throw args.usageError('--to V is required: the version to roll out');
        const version = parseVersionArg(to, '--to');
        const body = rolloutRequest((name) => args.string(name), version);
        const client = await ctx.client();
        const rollout = await client.call<RolloutView>(
          'POST',
          `/v1/functions/${seg(args.positional(0))}/aliases/${seg(args.positional(1))}/rollouts`,
          { json: body },
        );
        await printResult(
          args.json,
          rollout,
          () => `${describeRollout(rollout)}\n\nfollow it with: sluice rollout status ${rollout.id}`,
        );
      },
    },
    status: getCommand({
      summary: "a rollout's state and its event log",
      usage: 'usage: sluice rollout status ID\n\nexample: sluice rollout status 5f0c…',
      positionals: ['ID'],
      path: ([id]) => `/v1/rollouts/${seg(id)}`,
      text: (rollout: RolloutView) => `${describeRollout(rollout)}\n\n${eventsTable(rollout)}`,
    }),
    list: listCommand({
      summary: "an alias's rollouts, newest first",
      usage: 'usage: sluice rollout list FN ALIAS\n\nexample: sluice rollout list B release',
      positionals: ['FN', 'ALIAS'],
      path: ([fn, alias]) => `/v1/functions/${seg(fn)}/aliases/${seg(alias)}/rollouts`,
      key: 'rollouts',
      text: (rollouts: RolloutView[]) =>
        table(
          ['id', 'from', 'to', 'status', 'step', 'started', 'reason'],
          rollouts.map((r) => [
            r.id,
            r.from,
            r.to,
            r.status,
            `${r.step}/${r.steps.length}`,
            when(r.createdAt),
            r.reason ?? '',
          ]),
        ),
    }),
    pause: control('pause', 'hold a rollout at its step'),
    resume: control('resume', 'go on with a paused rollout (its step starts afresh)'),
    abort: control('abort', 'stop a rollout: all traffic back to the primary at once'),
    promote: control('promote', 'make the target the primary now'),
  },
};
