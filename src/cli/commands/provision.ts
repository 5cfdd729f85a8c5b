import { parseCount, parseWeight } from '../args.js';
import { type Client, seg } from '../client.js';
import type { Group } from '../command.js';
import { printResult, table } from '../output.js';
import { deleteCommand } from '../request-commands.js';

/** A qualifier's provisioned instances as the API answers them. */
interface Counts {
  version: string;
  role: string;
  target: number;
  started: number;
  ready: number;
  failed: number;
}
interface ProvisionedView {
  functionName: string;
  qualifier: string;
  target: number;
  canaryRatio: number | 'weight';
  versions: Counts[];
  nodes: { node: string; versions: Counts[] }[];
}

const path = (fn: string, qualifier?: string) =>
  `/v1/functions/${seg(fn)}/provisioned${qualifier === undefined ? '' : `/${seg(qualifier)}`}`;

const ratioText = (ratio: number | 'weight') =>
  ratio === 'weight' ? 'weight' : `${+(ratio * 100).toFixed(2)}%`;

/** One row per version: what is asked of it on the platform, and what the nodes run; then per node. */
function describe(views: readonly ProvisionedView[]): string {
  const rows = views.flatMap((v) =>
    v.versions.map((c) => [
      v.qualifier,
      c.version,
      c.role,
      String(c.target),
      String(c.started),
      String(c.ready),
      String(c.failed),
      ratioText(v.canaryRatio),
    ]),
  );
  const nodes = views.flatMap((v) =>
    v.nodes.flatMap((n) =>
      n.versions.map((c) => [v.qualifier, n.node, c.version, String(c.target), String(c.ready)]),
    ),
  );
  const versions = table(
    ['qualifier', 'version', 'role', 'target', 'started', 'ready', 'failed', 'canary ratio'],
    rows,
  );
  return nodes.length === 0
    ? versions
    : `${versions}\n\n${table(['qualifier', 'node', 'version', 'target', 'ready'], nodes)}`;
}

async function show(client: Client, fn: string, json: boolean): Promise<void> {
  const { provisioned } = await client.call<{ provisioned: ProvisionedView[] }>('GET', path(fn));
  await printResult(json, provisioned, () =>
    provisioned.length === 0 ? `${fn} has no provisioned instances` : describe(provisioned),
  );
}

export const provisionCommands: Group = {
  summary: 'keep instances of an alias, a version or $LATEST started and warm',
  commands: {
    set: {
      summary: "set a qualifier's provisioned instances, and the canary's part of an alias's",
      usage:
        'usage: sluice provision set FN QUALIFIER N [--canary-ratio F|weight]\n\n' +
        'N instances for the whole platform, divided among the nodes. For an alias with a canary, --canary-ratio\n' +
        'is the canary\'s part (a fraction or a percentage, default 1 %), or "weight": the canary\'s weight, as it moves.\n\n' +
        'examples:\n  sluice provision set B live 10 --canary-ratio 0.2\n  sluice provision set B $LATEST 1',
      positionals: ['FN', 'QUALIFIER', 'N'],
      options: { 'canary-ratio': { type: 'string' } },
      async run(args, ctx) {
        const [fn, qualifier] = [args.positional(0), args.positional(1)];
        const target = parseCount(args.positional(2), 'N', 0);
        const flag = args.string('canary-ratio');
        const canaryRatio =
          flag === undefined ? undefined : flag === 'weight' ? flag : parseWeight(flag, '--canary-ratio');
        const view = await (
          await ctx.client()
        ).call<ProvisionedView>('PUT', path(fn, qualifier), {
          json: { target, ...(canaryRatio !== undefined && { canaryRatio }) },
        });
        await printResult(
          args.json,
          view,
          () => `${fn}/${view.qualifier}: ${target} provisioned instances\n${describe([view])}`,
        );
      },
    },
    list: {
      summary: "a function's provisioned instances: per qualifier and version, and per node",
      usage: 'usage: sluice provision list FN\n\nexample:\n  sluice provision list B',
      positionals: ['FN'],
      async run(args, ctx) {
        await show(await ctx.client(), args.positional(0), args.json);
      },
    },
    delete: deleteCommand({
      summary: "release a qualifier's provisioned instances",
      usage: 'usage: sluice provision delete FN QUALIFIER\n\nexample:\n  sluice provision delete B live',
      positionals: ['FN', 'QUALIFIER'],
      path: ([fn, qualifier]) => path(fn, qualifier),
      json: ([fn, qualifier]) => ({ functionName: fn, qualifier, released: true }),
      done: ([fn, qualifier]) => `released the provisioned instances of ${fn}/${qualifier}`,
    }),
  },
};
