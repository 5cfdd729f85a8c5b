import { SOURCES, type Condition, type Source } from '../contract/domain.js';
import { type Args, type Options, parseVersionArg, parseWeight } from './args.js';
import { UsageError } from './errors.js';
import { parseRule } from './rules.js';
import { isWeight, type AliasSpecView, type CanaryView } from './views.js';

/** The flags that describe where an alias sends traffic, shared by `alias create` and `alias update`. */
export const ALIAS_OPTIONS: Options = {
  version: { type: 'string' },
  canary: { type: 'string' },
  weight: { type: 'string' },
  rule: { type: 'string', multiple: true },
  match: { type: 'string' },
  sticky: { type: 'string' },
  'no-canary': { type: 'boolean' },
  description: { type: 'string' },
};

export const ALIAS_FLAGS_HELP = `  --version V          the primary version: a number or $LATEST (quote it: '$LATEST')
  --canary V2          a second version that takes part of the traffic…
  --weight F           …a share of it: 0.3 or 30%
  --rule "SRC:NAME OP VALUE"
                       …or the requests that match (repeat for more conditions): SRC is header, cookie,
                       query or key (the invoke API's routing key); OP is = != > < >= <= in range percent.
                       "header:User = Bob", "key:uid in 42,43", "query:age range [18,30)",
                       "cookie:uid percent 20", or the seeds' "invoke.headers.User exact Bob"
  --match all|any      whether every rule or any one must hold (default all)
  --sticky SRC:NAME    with --weight: a request that carries this parameter always gets the same version
  --description D      a note on the alias`;

function parseSticky(text: string): { source: Source; name: string } {
  const match = /^([a-z]+):(.+)$/.exec(text.trim());
  if (!match || !(SOURCES as readonly string[]).includes(match[1] as string)) {
    throw new UsageError(
      `--sticky takes SOURCE:NAME with SOURCE header, cookie, query or key, not "${text}"`,
    );
  }
  return { source: match[1] as Source, name: (match[2] as string).trim() };
}

interface CanaryFlags {
  version?: string;
  weight?: number;
  rules?: Condition[];
  match?: 'all' | 'any';
  sticky?: { source: Source; name: string };
}

function readCanaryFlags(args: Args): CanaryFlags | 'none' | undefined {
  const flags: CanaryFlags = {};
  const canary = args.string('canary');
  if (canary !== undefined) flags.version = parseVersionArg(canary, '--canary');
  const weight = args.string('weight');
  if (weight !== undefined) flags.weight = parseWeight(weight, '--weight');
  const rules = args.list('rule');
  if (rules.length > 0) flags.rules = rules.map(parseRule);
  const match = args.string('match');
  if (match !== undefined) {
    if (match !== 'all' && match !== 'any') throw args.usageError(`--match takes all or any, not "${match}"`);
    flags.match = match;
  }
  const sticky = args.string('sticky');
  if (sticky !== undefined) flags.sticky = parseSticky(sticky);
  const given = Object.keys(flags).length > 0;
  if (args.flag('no-canary')) {
    if (given) throw args.usageError('--no-canary takes no --canary, --weight, --rule, --match or --sticky');
    return 'none';
  }
  if (flags.weight !== undefined && flags.rules)
    throw args.usageError('a canary takes --weight or --rule, not both');
  if (flags.match && flags.weight !== undefined)
    throw args.usageError('--match applies to --rule, not to --weight');
  if (flags.sticky && flags.rules) throw args.usageError('--sticky applies to --weight, not to --rule');
  return given ? flags : undefined;
}

function mergeCanary(flags: CanaryFlags, base: CanaryView | undefined, args: Args): CanaryView {
  const version = flags.version ?? base?.version;
  if (version === undefined) {
    throw args.usageError('the alias has no canary version yet: name one with --canary V2');
  }
  if (flags.weight === undefined && !flags.rules && !base) {
    throw args.usageError('--canary needs --weight F or --rule "SRC:NAME OP VALUE"');
  }
  const baseWeight = base && isWeight(base) ? base : undefined;
  const baseRules = base && !isWeight(base) ? base : undefined;
  if (flags.weight !== undefined || (!flags.rules && !flags.match && baseWeight)) {
    if (flags.match) throw args.usageError('--match applies to a canary by rules, and this one is by weight');
    const weight = flags.weight ?? baseWeight?.weight;
    if (weight === undefined)
      throw args.usageError('--canary needs --weight F or --rule "SRC:NAME OP VALUE"');
    const sticky = flags.sticky ?? baseWeight?.sticky;
    return { version, weight, ...(sticky && { sticky }) };
  }
  if (flags.sticky) throw args.usageError('--sticky applies to a canary by weight, and this one is by rules');
  const rules = flags.rules ?? baseRules?.rules;
  if (!rules) throw args.usageError('--canary needs --weight F or --rule "SRC:NAME OP VALUE"');
  return { version, match: flags.match ?? baseRules?.match ?? 'all', rules };
}

/**
 * The alias configuration the flags describe: the whole of it for `create` (no current one), or the current
 * one with what the flags change for `update`. Promoting the canary to primary (`--version` = the canary)
 * drops the canary.
 */
export function specFromFlags(args: Args, current: AliasSpecView | undefined): AliasSpecView {
  const versionFlag = args.string('version');
  const version = versionFlag === undefined ? current?.version : parseVersionArg(versionFlag, '--version');
  if (version === undefined) throw args.usageError('missing --version V (a version number or $LATEST)');
  const description = args.string('description') ?? current?.description ?? '';
  const flags = readCanaryFlags(args);
  let canary: CanaryView | undefined;
  if (flags === 'none') canary = undefined;
  else if (flags) canary = mergeCanary(flags, current?.canary, args);
  else if (current?.canary && current.canary.version !== version) canary = current.canary;
  if (canary && canary.version === version) {
    throw args.usageError(`the canary must differ from the primary version (${version})`);
  }
  return { version, description, ...(canary && { canary }) };
}

export const sameSpec = (a: AliasSpecView, b: AliasSpecView): boolean =>
  JSON.stringify([a.version, a.description, a.canary ?? null]) ===
  JSON.stringify([b.version, b.description, b.canary ?? null]);
