import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { type Condition as CoreCondition, OPS, RULE_LIMITS, SOURCES } from '../../core/conditions.js';
import { ALIAS_NAME } from '../../core/names.js';
import { Enum, Nullable, Strict, StringMap, Timestamp, VersionRef } from './common.js';
import { FunctionName } from './functions.js';

const Source = Enum(SOURCES, {
  description:
    'header (any case), cookie, query, or key: an entry of the routing key an invoke caller passes',
});
const ParameterName = Type.String({ minLength: 1, maxLength: RULE_LIMITS.nameLength });
const Text = Type.String({ maxLength: RULE_LIMITS.valueLength });

/** The parameter of a request that routing reads; a header's name is held to HTTP's rule by the core. */
export const ParameterRef = Strict({ source: Source, name: ParameterName });

/** The value each op takes. */
const VALUES: [ops: readonly (typeof OPS)[number][], value: TSchema][] = [
  [['=', '!='], Text],
  [['>', '<', '>=', '<='], Type.Number()],
  [['in'], Type.Array(Text, { minItems: 1, maxItems: RULE_LIMITS.inValues })],
  [['range'], Type.String({ description: 'an interval such as [1,100), (0,1] or [5,5]' })],
  [
    ['percent'],
    Type.Number({
      minimum: 0,
      maximum: 100,
      description: 'the share of distinct values that match, the same on every node',
    }),
  ],
];

/**
 * A rule condition, `{source, name, op, value}`: the value's type follows from its op (`if`/`then`, so that
 * every problem with a condition is found at once, its op's included).
 */
export const Condition = Type.Unsafe<CoreCondition>({
  ...Strict({ source: Source, name: ParameterName, op: Enum(OPS), value: Type.Unknown() }),
  allOf: VALUES.map(([ops, value]) => ({
    if: { required: ['op'], properties: { op: { enum: ops } } },
    then: { properties: { value } },
  })),
});
export type Condition = CoreCondition;

/**
 * A canary by weight (`weight`, optionally `sticky`) or by rules (`rules`, `match`). Which field goes with which
 * mode, and weights in steps of 0.0001, are the core's to check (`parseAliasSpec`).
 */
export const Canary = Strict(
  {
    version: VersionRef,
    weight: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'the canary’s share of traffic, in steps of 0.0001',
      }),
    ),
    sticky: Type.Optional(ParameterRef),
    match: Type.Optional(Enum(['all', 'any'] as const)),
    rules: Type.Optional(Type.Array(Condition, { minItems: 1, maxItems: RULE_LIMITS.conditions })),
  },
  {
    oneOf: [{ required: ['weight'] }, { required: ['rules'] }],
    description: 'must have exactly one of weight (a fraction of traffic) or rules (conditions)',
  },
);
export type Canary = Static<typeof Canary>;

export const AliasSpecBody = Strict(
  {
    version: VersionRef,
    description: Type.Optional(Type.String({ maxLength: 256 })),
    canary: Type.Optional(Nullable(Canary)),
  },
  { title: 'alias' },
);
export type AliasSpecBody = Static<typeof AliasSpecBody>;

/** An alias's configuration as the server answers it: `$LATEST` or a version id, and a canary in one mode. */
export const CanaryView = Type.Union([
  Strict({ version: Type.String(), weight: Type.Number(), sticky: Type.Optional(ParameterRef) }),
  Strict({ version: Type.String(), match: Enum(['all', 'any'] as const), rules: Type.Array(Condition) }),
]);
export type CanaryView = Static<typeof CanaryView>;

export const AliasSpecView = Strict({
  version: Type.String(),
  description: Type.String(),
  canary: Type.Optional(CanaryView),
});
export type AliasSpecView = Static<typeof AliasSpecView>;

export const AliasName = Type.String({ pattern: `${ALIAS_NAME.source}|^\\$DEFAULT$` });

export const AliasView = Strict({
  functionName: FunctionName,
  name: AliasName,
  version: Type.String(),
  description: Type.String(),
  canary: Type.Optional(CanaryView),
  revision: Type.Integer({ minimum: 1 }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type AliasView = Static<typeof AliasView>;

export const AliasList = Strict({ aliases: Type.Array(AliasView) });

export const HistoryView = Strict({
  revision: Type.Integer({ minimum: 1 }),
  action: Enum(['create', 'update', 'rollback', 'delete'] as const),
  actor: Type.String(),
  at: Timestamp,
  before: Nullable(AliasSpecView),
  after: Nullable(AliasSpecView),
});
export type HistoryView = Static<typeof HistoryView>;

export const HistoryList = Strict({ history: Type.Array(HistoryView) });

export const Rollback = Strict(
  {
    to: Type.Optional(Enum(['previous', 'primary'] as const)),
    revision: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
  },
  { title: 'rollback request', maxProperties: 1, description: 'takes either to or revision, not both' },
);
export type Rollback = Static<typeof Rollback>;

/** The request attributes `explain` evaluates; the routing key is checked as the invoke API checks it. */
export const Explain = Strict(
  {
    headers: Type.Optional(StringMap()),
    cookies: Type.Optional(StringMap()),
    query: Type.Optional(StringMap()),
    routingKey: Type.Optional(StringMap()),
  },
  { title: 'explain request' },
);
export type Explain = Static<typeof Explain>;

export const ExplainView = Type.Object(
  {
    /** Null when the qualifier is `$LATEST` or a version, which no alias routes (`reason: 'named'`). */
    alias: Nullable(Type.String()),
    revision: Nullable(Type.Integer()),
    version: Type.String(),
    target: Enum(['primary', 'canary'] as const),
    reason: Enum(['named', 'no canary', 'weight', 'rules'] as const),
    weight: Type.Optional(Type.Number()),
    sticky: Type.Optional(
      Strict({
        source: Source,
        name: Type.String(),
        value: Type.String(),
        from: Type.String(),
        bucket: Type.Number(),
      }),
    ),
    draw: Type.Optional(Type.Number()),
    match: Type.Optional(Enum(['all', 'any'] as const)),
    conditions: Type.Optional(
      Type.Array(
        Strict({
          condition: Condition,
          value: Type.Optional(Type.String()),
          /** Where the value was read, `routingKey` for a header the request lacks. */
          from: Type.Optional(Type.String()),
          holds: Type.Boolean(),
        }),
      ),
    ),
  },
  { additionalProperties: false },
);
export type ExplainView = Static<typeof ExplainView>;
