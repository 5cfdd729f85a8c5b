import { type AliasSpec, isWeightCanary } from './alias.js';
import {
  type Condition,
  type Interval,
  type ParameterRef,
  type Source,
  numericValue,
  parseInterval,
} from './conditions.js';
import type { VersionRef } from './names.js';
import { BUCKETS, bucketOf } from './stable-hash.js';

/**
 * Where a lookup reads: one of the four sources, or `routingKeyHeader` — the routing key's entry whose name is
 * the (lower-cased) header name in any case, for SCF's rule (see `valueOf`).
 */
export type LookupSource = Source | 'routingKeyHeader';

/** Reads one parameter of a request; `header` names arrive lower-cased. Absent → undefined. */
export type ParameterLookup = (source: LookupSource, name: string) => string | undefined;

/**
 * A parameter's value. SCF's rule: on an API invocation the routing key stands for the headers, so a `header`
 * parameter that the request does not carry is read from the routing key's entry of that name; a header the
 * request carries always wins.
 */
function valueOf(source: Source, name: string, lookup: ParameterLookup): string | undefined {
  const value = lookup(source, name);
  return value === undefined && source === 'header' ? lookup('routingKeyHeader', name) : value;
}

/** Where `valueOf` found a value: its own source, or `routingKey` for a header the request lacks. */
export type ValueOrigin = Source | 'routingKey';

function originOf(source: Source, name: string, lookup: ParameterLookup): ValueOrigin {
  return lookup(source, name) === undefined ? 'routingKey' : source;
}

/**
 * A condition ready to evaluate: every op in one shape, without closures, so that a route over many functions
 * is a few small objects to read. `value` is the operand in its evaluated form (the text of `=` and `!=`, the
 * bound of a comparison, the set of `in`, the interval of `range`, the threshold in buckets of `percent`).
 */
export interface CompiledCondition {
  /** As written, for explanations. */
  condition: Condition;
  source: Source;
  /** As looked up: a header's lower-cased. */
  name: string;
  op: Condition['op'];
  value: string | number | ReadonlySet<string> | Interval;
  /** `percent`'s hash salt; empty for other ops. */
  salt: string;
}

/**
 * An alias flattened once, when it is written, so that routing a request only evaluates it: one object whose
 * `mode` says which of its fields apply. Its versions are `V`: references as the alias names them, or whatever
 * the caller resolved them to when it compiled (the data plane's runnable versions), so that a decision ends
 * on the version itself rather than on a key to look up.
 */
export type CompiledRoute<V = VersionRef> = (
  | { mode: 'primary'; primary: V }
  | {
      mode: 'weight';
      primary: V;
      canary: V;
      /** The canary's share in buckets of 0..BUCKETS. */
      threshold: number;
      sticky: ParameterRef | undefined;
      salt: string;
    }
  | {
      mode: 'rules';
      primary: V;
      canary: V;
      match: 'all' | 'any';
      conditions: readonly CompiledCondition[];
    }
) & {
  /** The alias as written: what it names, for those that read it rather than route by it. */
  spec: AliasSpec;
};

/**
 * Equal parts of routes, shared by every route that has them (a catalog's many aliases named `live`, the same
 * header in their rules, the same rules), so that routing over many functions reads a few objects that stay in
 * the CPU's caches rather than one each, scattered over the heap.
 */
export interface RouteParts {
  /** A string equal to `text`. */
  text: (text: string) => string;
  /** Rules compiled alike: those compiled for `key` before, else `compile()`'s. */
  rules: (key: string, compile: () => readonly CompiledCondition[]) => readonly CompiledCondition[];
}

/** What compiling an alias for a caller resolves and shares. */
export interface CompileOptions<V> {
  /** What the route holds for each version the alias names. */
  resolve: (ref: VersionRef) => V;
  share?: RouteParts;
}

/** Parts kept in one map per kind; the caller decides how long they live. */
export function routeParts(): RouteParts {
  const texts = new Map<string, string>();
  const rules = new Map<string, readonly CompiledCondition[]>();
  return {
    text: (text) => {
      const found = texts.get(text);
      if (found !== undefined) return found;
      texts.set(text, text);
      return text;
    },
    rules: (key, compile) => {
      const found = rules.get(key);
      if (found !== undefined) return found;
      const compiled = compile();
      rules.set(key, compiled);
      return compiled;
    },
  };
}

const lookupName = (source: Source, name: string) => (source === 'header' ? name.toLowerCase() : name);

function compileCondition(
  condition: Condition,
  salt: string,
  share: (text: string) => string,
): CompiledCondition {
  const compiled = (value: CompiledCondition['value'], conditionSalt = ''): CompiledCondition => ({
    condition,
    source: condition.source,
    name: share(lookupName(condition.source, condition.name)),
    op: condition.op,
    value,
    salt: conditionSalt,
  });
  switch (condition.op) {
    case '=':
    case '!=':
      return compiled(share(condition.value));
    case '>':
    case '<':
    case '>=':
    case '<=':
      return compiled(condition.value);
    case 'in':
      return compiled(new Set(condition.value.map(share)));
    case 'range':
      return compiled(parseInterval(condition.value) as Interval);
    case 'percent':
      return compiled(
        Math.round(condition.value * (BUCKETS / 100)),
        `${salt}\u0000${condition.source}:${condition.name}`,
      );
  }
}

/** Whether a present parameter's value satisfies the condition. */
function satisfies(c: CompiledCondition, v: string): boolean {
  switch (c.op) {
    case '=':
      return v === c.value;
    case '!=':
      return v !== c.value;
    case 'in':
      return (c.value as ReadonlySet<string>).has(v);
    case 'percent':
      return bucketOf(c.salt, v) < (c.value as number);
    default: {
      const n = numericValue(v);
      if (n === undefined) return false;
      switch (c.op) {
        case '>':
          return n > (c.value as number);
        case '<':
          return n < (c.value as number);
        case '>=':
          return n >= (c.value as number);
        case '<=':
          return n <= (c.value as number);
        case 'range': {
          const interval = c.value as Interval;
          const aboveLow = interval.lowInclusive ? n >= interval.low : n > interval.low;
          const belowHigh = interval.highInclusive ? n <= interval.high : n < interval.high;
          return aboveLow && belowHigh;
        }
      }
    }
  }
}

const asRef = (ref: VersionRef): VersionRef => ref;
const UNSHARED: RouteParts = { text: (text) => text, rules: (_key, compile) => compile() };

/** `salt` names the alias (`function/alias`): hashes differ between aliases, and never change for one. */
export function compileRoute(spec: AliasSpec, salt: string): CompiledRoute;
export function compileRoute<V>(spec: AliasSpec, salt: string, options: CompileOptions<V>): CompiledRoute<V>;
export function compileRoute<V>(
  spec: AliasSpec,
  salt: string,
  options: CompileOptions<V> = { resolve: asRef as (ref: VersionRef) => V },
): CompiledRoute<V> {
  const { resolve, share = UNSHARED } = options;
  const canary = spec.canary;
  const primary = resolve(spec.version);
  // Each shape is built by one literal, so that all routes of a mode share one hidden class.
  if (!canary) return { mode: 'primary', primary, spec };
  if (isWeightCanary(canary)) {
    return {
      mode: 'weight',
      primary,
      canary: resolve(canary.version),
      threshold: Math.round(canary.weight * BUCKETS),
      sticky: canary.sticky && {
        source: canary.sticky.source,
        name: share.text(lookupName(canary.sticky.source, canary.sticky.name)),
      },
      salt,
      spec,
    };
  }
  return {
    mode: 'rules',
    primary,
    canary: resolve(canary.version),
    match: canary.match,
    conditions: share.rules(rulesKey(canary.rules, salt), () =>
      canary.rules.map((condition) => compileCondition(condition, salt, share.text)),
    ),
    spec,
  };
}

/** Rules compile alike when they are written alike, but for `percent`, whose hash each alias salts its own way. */
function rulesKey(rules: readonly Condition[], salt: string): string {
  const written = JSON.stringify(rules);
  return rules.some((rule) => rule.op === 'percent') ? `${salt}\u0000${written}` : written;
}

function holds(c: CompiledCondition, value: string | undefined): boolean {
  return value !== undefined && satisfies(c, value);
}

/** Whether the request matches the rules: loops rather than callbacks, as this runs for every request. */
function matches(
  match: 'all' | 'any',
  conditions: readonly CompiledCondition[],
  lookup: ParameterLookup,
): boolean {
  const all = match === 'all';
  for (const c of conditions) {
    if (holds(c, valueOf(c.source, c.name, lookup)) !== all) return !all;
  }
  return all;
}

/** The version that serves a request. `random` is in [0, 1), like Math.random. */
export function route<V>(compiled: CompiledRoute<V>, lookup: ParameterLookup, random: () => number): V {
  switch (compiled.mode) {
    case 'primary':
      return compiled.primary;
    case 'rules':
      return matches(compiled.match, compiled.conditions, lookup) ? compiled.canary : compiled.primary;
    case 'weight': {
      const key = compiled.sticky && valueOf(compiled.sticky.source, compiled.sticky.name, lookup);
      const draw = key === undefined ? Math.floor(random() * BUCKETS) : bucketOf(compiled.salt, key);
      return draw < compiled.threshold ? compiled.canary : compiled.primary;
    }
  }
}

export type Explanation =
  | { version: VersionRef; target: 'primary'; reason: 'no canary' }
  | {
      version: VersionRef;
      target: 'primary' | 'canary';
      reason: 'weight';
      weight: number;
      sticky: { source: Source; name: string; value: string; from: ValueOrigin; bucket: number } | undefined;
      draw: number | undefined;
    }
  | {
      version: VersionRef;
      target: 'primary' | 'canary';
      reason: 'rules';
      match: 'all' | 'any';
      conditions: {
        condition: Condition;
        value: string | undefined;
        /** Where the value was read; absent when the request has none. */
        from: ValueOrigin | undefined;
        holds: boolean;
      }[];
    };

/** Why a request would be served by the version it would be served by: the same decision `route` takes. */
export function explainRoute(
  compiled: CompiledRoute,
  lookup: ParameterLookup,
  random: () => number,
): Explanation {
  if (compiled.mode === 'primary') {
    return { version: compiled.primary, target: 'primary', reason: 'no canary' };
  }
  if (compiled.mode === 'rules') {
    const conditions = compiled.conditions.map((c) => {
      const value = valueOf(c.source, c.name, lookup);
      return {
        condition: c.condition,
        value,
        from: value === undefined ? undefined : originOf(c.source, c.name, lookup),
        holds: holds(c, value),
      };
    });
    const matched =
      compiled.match === 'all' ? conditions.every((c) => c.holds) : conditions.some((c) => c.holds);
    return {
      version: matched ? compiled.canary : compiled.primary,
      target: matched ? 'canary' : 'primary',
      reason: 'rules',
      match: compiled.match,
      conditions,
    };
  }
  const sticky = compiled.sticky;
  const key = sticky && valueOf(sticky.source, sticky.name, lookup);
  const bucket = key === undefined ? Math.floor(random() * BUCKETS) : bucketOf(compiled.salt, key);
  const toCanary = bucket < compiled.threshold;
  return {
    version: toCanary ? compiled.canary : compiled.primary,
    target: toCanary ? 'canary' : 'primary',
    reason: 'weight',
    weight: compiled.threshold / BUCKETS,
    sticky:
      sticky && key !== undefined
        ? {
            source: sticky.source,
            name: sticky.name,
            value: key,
            from: originOf(sticky.source, sticky.name, lookup),
            bucket,
          }
        : undefined,
    draw: key === undefined ? bucket / BUCKETS : undefined,
  };
}
