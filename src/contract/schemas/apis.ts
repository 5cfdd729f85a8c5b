import { type Static, Type } from '@sinclair/typebox';
import { API_NAME, METHODS, NAME_HINT } from '../../core/api-gateway.js';
import { Enum, Nullable, Strict, StringMap, Timestamp } from './common.js';
import { FunctionName } from './functions.js';

export const ApiName = Type.String({ pattern: API_NAME.source, description: NAME_HINT });

/** A route: a method (or ANY) and a path such as /users/{id} or /{proxy+}, whose segments the core checks. */
const Route = Strict({
  method: Enum(METHODS),
  path: Type.String({ maxLength: 512, description: 'a path such as /users/{id} or /{proxy+}' }),
});

const definition = {
  description: Type.Optional(Type.String({ maxLength: 256 })),
  routes: Type.Optional(Type.Array(Route, { maxItems: 200 })),
};

export const ApiDefinitionBody = Strict(definition, { title: 'API' });
export type ApiDefinitionBody = Static<typeof ApiDefinitionBody>;

export const CreateApi = Strict({ name: ApiName, ...definition }, { title: 'API' });
export type CreateApi = Static<typeof CreateApi>;

const Qualifier = Type.String({
  minLength: 1,
  description: '$DEFAULT (when absent), $LATEST, a version number or an alias name',
});

const BindingBody = Strict({ function: FunctionName, qualifier: Type.Optional(Qualifier) });

export const StageBody = Strict(
  {
    function: FunctionName,
    qualifier: Type.Optional(Qualifier),
    variables: Type.Optional(
      StringMap(
        { pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$', description: 'must be a valid variable name' },
        Type.String({ maxLength: 1024 }),
      ),
    ),
    /** Bindings of single routes, keyed `METHOD /path`; which keys the API has is the core's to check. */
    routes: Type.Optional(Type.Record(Type.String(), BindingBody)),
  },
  { title: 'stage' },
);
export type StageBody = Static<typeof StageBody>;

export const ApiView = Strict({
  name: ApiName,
  description: Type.String(),
  routes: Type.Array(Route),
  stages: Type.Array(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ApiView = Static<typeof ApiView>;

export const ApiList = Strict({ apis: Type.Array(ApiView) });

const Binding = Strict({ function: Type.String(), qualifier: Type.String() });

const StageSpecView = Strict({
  function: Type.String(),
  qualifier: Type.String(),
  variables: StringMap(),
  routes: Type.Record(Type.String(), Binding),
});

export const StageView = Strict({
  api: Type.String(),
  name: Type.String(),
  function: Type.String(),
  qualifier: Type.String(),
  variables: StringMap(),
  routes: Type.Record(Type.String(), Binding),
  revision: Type.Integer({ minimum: 1 }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type StageView = Static<typeof StageView>;

export const StageList = Strict({ stages: Type.Array(StageView) });

export const StageHistoryView = Strict({
  revision: Type.Integer({ minimum: 1 }),
  action: Enum(['create', 'update', 'delete'] as const),
  actor: Type.String(),
  at: Timestamp,
  before: Nullable(StageSpecView),
  after: Nullable(StageSpecView),
});

export type StageHistoryView = Static<typeof StageHistoryView>;

export const StageHistoryList = Strict({ history: Type.Array(StageHistoryView) });
