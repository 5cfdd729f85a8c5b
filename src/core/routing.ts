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

type Test = (value: string) => boolean;

interface CompiledCondition {
  condition: Condition;
  source: Source;
  name: string;
  test: Test;
}

/** An alias flattened once, when it is written, so that routing a request only evaluates it. */
export interface CompiledRoute {
  primary: VersionRef;
  canary:
    | {
        version: VersionRef;
        mode: 'weight';
        threshold: number;
        sticky: ParameterRef | undefined;
        salt: string;
      }
    | { version: VersionRef; mode: 'rules'; match: 'all' | 'any'; conditions: CompiledCondition[] }
    | undefined;
}

const lookupName = (source: Source, name: string) => (source === 'header' ? name.toLowerCase() : name);

function compileTest(condition: Condition, salt: string): Test {
  switch (condition.op) {
    case '=':
      return (v) => v === condition.value;
    case '!=':
      return (v) => v !== condition.value;
    case '>':
    case '<':
    case '>=':
    case '<=':
      return numeric(condition.op, condition.value);
    case 'in': {
      const values = new Set(condition.value);
      return (v) => values.has(v);
    }
    case 'range': {
      const interval = parseInterval(condition.value) as Interval;
      return (v) => {
        const n = numericValue(v);
        if (n === undefined) return false;
        const aboveLow = interval.lowInclusive ? n >= interval.low : n > interval.low;
        const belowHigh = interval.highInclusive ? n <= interval.high : n < interval.high;
        return aboveLow && belowHigh;
      };
    }
    case 'percent': {
      const threshold = Math.round(condition.value * (BUCKETS / 100));
      const conditionSalt = `${salt}\u0000${condition.source}:${condition.name}`;
      return (v) => bucketOf(conditionSalt, v) < threshold;
    }
  }
}

function numeric(op: '>' | '<' | '>=' | '<=', bound: number): Test {
  const compare = {
    '>': (n: number) => n > bound,
    '<': (n: number) => n < bound,
    '>=': (n: number) => n >= bound,
    '<=': (n: number) => n <= bound,
  }[op];
  return (v) => {
    const n = numericValue(v);
    return n !== undefined && compare(n);
  };
}

/** `salt` names the alias (`function/alias`): hashes differ between aliases, and never change for one. */
export function compileRoute(spec: AliasSpec, salt: string): CompiledRoute {
  const canary = spec.canary;
  if (!canary) return { primary: spec.version, canary: undefined };
  if (isWeightCanary(canary)) {
    return {
      primary: spec.version,
      canary: {
        version: canary.version,
        mode: 'weight',
        threshold: Math.round(canary.weight * BUCKETS),
        sticky: canary.sticky && {
          source: canary.sticky.source,
          name: lookupName(canary.sticky.source, canary.sticky.name),
        },
        salt,
      },
    };
  }
  return {
    primary: spec.version,
    canary: {
      version: canary.version,
      mode: 'rules',
      match: canary.match,
      conditions: canary.rules.map((condition) => ({
        condition,
        source: condition.source,
        name: lookupName(condition.source, condition.name),
        test: compileTest(condition, salt),
      })),
    },
  };
}

function holds(c: CompiledCondition, value: string | undefined): boolean {
  return value !== undefined && c.test(value);
}

/** The version that serves a request. `random` is in [0, 1), like Math.random. */
export function route(compiled: CompiledRoute, lookup: ParameterLookup, random: () => number): VersionRef {
  const canary = compiled.canary;
  if (!canary) return compiled.primary;
  if (canary.mode === 'rules') {
    const matched =
      canary.match === 'all'
        ? canary.conditions.every((c) => holds(c, valueOf(c.source, c.name, lookup)))
        : canary.conditions.some((c) => holds(c, valueOf(c.source, c.name, lookup)));
    return matched ? canary.version : compiled.primary;
  }
  const key = canary.sticky && valueOf(canary.sticky.source, canary.sticky.name, lookup);
  const draw = key === undefined ? Math.floor(random() * BUCKETS) : bucketOf(canary.salt, key);
  return draw < canary.threshold ? canary.version : compiled.primary;
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
  const canary = compiled.canary;
  if (!canary) return { version: compiled.primary, target: 'primary', reason: 'no canary' };
  if (canary.mode === 'rules') {
    const conditions = canary.conditions.map((c) => {
      const value = valueOf(c.source, c.name, lookup);
      return {
        condition: c.condition,
        value,
        from: value === undefined ? undefined : originOf(c.source, c.name, lookup),
        holds: holds(c, value),
      };
    });
    const matched =
      canary.match === 'all' ? conditions.every((c) => c.holds) : conditions.some((c) => c.holds);
    return {
      version: matched ? canary.version : compiled.primary,
      target: matched ? 'canary' : 'primary',
      reason: 'rules',
      match: canary.match,
      conditions,
    };
  }
  const key = canary.sticky && valueOf(canary.sticky.source, canary.sticky.name, lookup);
  const bucket = key === undefined ? Math.floor(random() * BUCKETS) : bucketOf(canary.salt, key);
  const toCanary = bucket < canary.threshold;
  return {
    version: toCanary ? canary.version : compiled.primary,
    target: toCanary ? 'canary' : 'primary',
    reason: 'weight',
    weight: canary.threshold / BUCKETS,
    sticky:
      canary.sticky && key !== undefined
        ? {
            source: canary.sticky.source,
            name: canary.sticky.name,
            value: key,
            from: originOf(canary.sticky.source, canary.sticky.name, lookup),
            bucket,
          }
        : undefined,
    draw: key === undefined ? bucket / BUCKETS : undefined,
  };
}
