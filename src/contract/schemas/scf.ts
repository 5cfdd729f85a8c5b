import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { CONFIG_LIMITS } from '../../core/function-config.js';
import { ALIAS_NAME, ALIAS_NAME_HINT } from '../../core/names.js';
import { Enum, Strict } from './common.js';
import { CodeJson, FunctionConfigView, FunctionName } from './functions.js';

/**
 * Tencent SCF's parameters (API 2018-04-16, every action a JSON body to `POST /`), with SCF's names, as far as
 * Sluice implements them: a parameter SCF has and Sluice does not (Role, VpcConfig, Layers …) is refused as
 * unknown rather than ignored, so that nobody believes it took effect. Values keep `/v1`'s limits.
 */

/**
 * SCF's runtime names, each for one of Sluice's runtimes; the first of each is the one a function reads back
 * with. Node.js and Python functions created through SCF's API are called as SCF calls them (`scf`).
 */
export const SCF_RUNTIMES = {
  'Nodejs18.15': 'nodejs20',
  'Nodejs20.14': 'nodejs20',
  'Nodejs16.13': 'nodejs20',
  'Nodejs14.18': 'nodejs20',
  'Nodejs12.16': 'nodejs20',
  'Python3.9': 'python3',
  'Python3.10': 'python3',
  'Python3.11': 'python3',
  'Python3.7': 'python3',
  'Python3.6': 'python3',
  'Php8.0': 'php8.2',
  'Php7.4': 'php8.2',
  CustomRuntime: 'custom',
} as const;
export type ScfRuntime = keyof typeof SCF_RUNTIMES;

const { properties: config } = FunctionConfigView;

/** SCF's namespaces: Sluice has one, `default`. */
const Namespace = Enum(['default'] as const, { description: 'must be default: Sluice has one namespace' });

const Runtime = Type.Unsafe<ScfRuntime>({
  type: 'string',
  enum: Object.keys(SCF_RUNTIMES),
  description: `must be one of ${Object.keys(SCF_RUNTIMES).join(', ')}`,
});

/** `{"Variables": [{"Key": "A", "Value": "1"}]}`. */
const Environment = Strict(
  {
    Variables: Type.Array(
      Strict({
        Key: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'must be a variable name' }),
        Value: Type.String(),
      }),
      { maxItems: 256 },
    ),
  },
  { title: 'Environment' },
);

const ZipFile = CodeJson.properties.zipFile;

const FunctionNameParam = FunctionName;
const Description = Type.String({ maxLength: CONFIG_LIMITS.descriptionLength });
const VersionParam = Type.String({
  pattern: '^(?:\\$LATEST|[1-9][0-9]{0,15})$',
  description: 'must be $LATEST or a version number such as "1"',
});
const AliasName = Type.String({ pattern: ALIAS_NAME.source, description: ALIAS_NAME_HINT });
/** An alias to read, change or delete: any made, or the default one every function has. */
const ExistingAliasName = Type.String({
  pattern: `^(?:\\$DEFAULT|${ALIAS_NAME.source.slice(1, -1)})$`,
  description: `must be $DEFAULT or an alias name (${ALIAS_NAME_HINT})`,
});
const Offset = Type.Integer({ minimum: 0 });
const Limit = Type.Integer({ minimum: 1, maximum: 100 });

const configParams = {
  Handler: config.handler,
  Description,
  MemorySize: config.memorySize,
  Timeout: config.timeout,
  Environment,
  Runtime,
  Namespace,
};

export const ScfCreateFunction = Strict({
  FunctionName: FunctionNameParam,
  Code: Strict({ ZipFile }, { title: 'Code' }),
  Handler: Type.Optional(configParams.Handler),
  Description: Type.Optional(Description),
  MemorySize: Type.Optional(configParams.MemorySize),
  Timeout: Type.Optional(configParams.Timeout),
  Environment: Type.Optional(Environment),
  Runtime: Type.Optional(Runtime),
  Namespace: Type.Optional(Namespace),
  Type: Type.Optional(Enum(['Event'] as const, { description: 'must be Event' })),
});
export type ScfCreateFunction = Static<typeof ScfCreateFunction>;

const ByName = { FunctionName: FunctionNameParam, Namespace: Type.Optional(Namespace) };

export const ScfGetFunction = Strict({
  ...ByName,
  Qualifier: Type.Optional(VersionParam),
  ShowCode: Type.Optional(Enum(['TRUE', 'FALSE'] as const)),
});
export type ScfGetFunction = Static<typeof ScfGetFunction>;

export const ScfUpdateFunctionCode = Strict({
  ...ByName,
  ZipFile: Type.Optional(ZipFile),
  Code: Type.Optional(Strict({ ZipFile }, { title: 'Code' })),
  Handler: Type.Optional(config.handler),
});
export type ScfUpdateFunctionCode = Static<typeof ScfUpdateFunctionCode>;

export const ScfUpdateFunctionConfiguration = Strict({
  ...ByName,
  Description: Type.Optional(Description),
  MemorySize: Type.Optional(configParams.MemorySize),
  Timeout: Type.Optional(configParams.Timeout),
  Environment: Type.Optional(Environment),
  Runtime: Type.Optional(Runtime),
});
export type ScfUpdateFunctionConfiguration = Static<typeof ScfUpdateFunctionConfiguration>;

export const ScfDeleteFunction = Strict({ ...ByName, Qualifier: Type.Optional(VersionParam) });
export type ScfDeleteFunction = Static<typeof ScfDeleteFunction>;

export const ScfListFunctions = Strict({
  Namespace: Type.Optional(Namespace),
  Offset: Type.Optional(Offset),
  Limit: Type.Optional(Limit),
  SearchKey: Type.Optional(Type.String({ maxLength: 128 })),
  Order: Type.Optional(Enum(['ASC', 'DESC'] as const)),
  Orderby: Type.Optional(Enum(['FunctionName'] as const, { description: 'must be FunctionName' })),
});
export type ScfListFunctions = Static<typeof ScfListFunctions>;

export const ScfPublishVersion = Strict({ ...ByName, Description: Type.Optional(Description) });
export type ScfPublishVersion = Static<typeof ScfPublishVersion>;

export const ScfListVersionByFunction = Strict({
  ...ByName,
  Offset: Type.Optional(Offset),
  Limit: Type.Optional(Limit),
  Order: Type.Optional(Enum(['ASC', 'DESC'] as const)),
  OrderBy: Type.Optional(Enum(['AddTime'] as const, { description: 'must be AddTime' })),
});
export type ScfListVersionByFunction = Static<typeof ScfListVersionByFunction>;

export const ScfDeleteFunctionVersion = Strict({
  ...ByName,
  Qualifier: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'must be a version number' }),
});
export type ScfDeleteFunctionVersion = Static<typeof ScfDeleteFunctionVersion>;

/**
 * SCF's `RoutingConfig`: one version beside the alias's own, by weight (`AdditionalVersionWeights`) or by
 * rule (`AddtionVersionMatchs`, misspelled as in SCF), whose `Key` is `invoke.headers.<name>`.
 */
const RoutingConfig = Strict(
  {
    AdditionalVersionWeights: Type.Optional(
      Type.Array(Strict({ Version: VersionParam, Weight: Type.Number({ minimum: 0, maximum: 1 }) }), {
        maxItems: 1,
        description: 'must name at most one version: an alias has one canary',
      }),
    ),
    AddtionVersionMatchs: Type.Optional(
      Type.Array(
        Strict({
          Version: VersionParam,
          Key: Type.String({
            pattern: "^invoke\\.headers\\.[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            description: 'must be invoke.headers.<header name>, such as invoke.headers.User',
          }),
          Method: Enum(['exact', 'range'] as const),
          Expression: Type.String({ minLength: 1, maxLength: 1024 }),
        }),
        { maxItems: 20 },
      ),
    ),
  },
  { title: 'RoutingConfig' },
);
export type ScfRoutingConfig = Static<typeof RoutingConfig>;

export const ScfCreateAlias = Strict({
  ...ByName,
  Name: AliasName,
  FunctionVersion: VersionParam,
  Description: Type.Optional(Description),
  RoutingConfig: Type.Optional(RoutingConfig),
});
export type ScfCreateAlias = Static<typeof ScfCreateAlias>;

export const ScfUpdateAlias = Strict({
  ...ByName,
  Name: ExistingAliasName,
  FunctionVersion: VersionParam,
  Description: Type.Optional(Description),
  RoutingConfig: Type.Optional(RoutingConfig),
});
export type ScfUpdateAlias = Static<typeof ScfUpdateAlias>;

export const ScfAliasByName = Strict({ ...ByName, Name: ExistingAliasName });
export type ScfAliasByName = Static<typeof ScfAliasByName>;

export const ScfListAliases = Strict({
  ...ByName,
  FunctionVersion: Type.Optional(VersionParam),
  Offset: Type.Optional(Offset),
  Limit: Type.Optional(Limit),
});
export type ScfListAliases = Static<typeof ScfListAliases>;

const invokeParams = {
  ...ByName,
  Qualifier: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  LogType: Type.Optional(Enum(['None', 'Tail'] as const)),
  RoutingKey: Type.Optional(
    Type.String({ maxLength: 1024, description: 'must be a JSON object of strings, such as {"User":"Bob"}' }),
  ),
};

export const ScfInvoke = Strict({
  ...invokeParams,
  ClientContext: Type.Optional(Type.String()),
  InvocationType: Type.Optional(
    Enum(['RequestResponse'] as const, {
      description: 'must be RequestResponse: Sluice runs SCF calls synchronously',
    }),
  ),
});
export type ScfInvoke = Static<typeof ScfInvoke>;

export const ScfInvokeFunction = Strict({ ...invokeParams, Event: Type.Optional(Type.String()) });
export type ScfInvokeFunction = Static<typeof ScfInvokeFunction>;

/** Every action's parameters, by action. */
export const SCF_PARAMS = {
  CreateFunction: ScfCreateFunction,
  GetFunction: ScfGetFunction,
  UpdateFunctionCode: ScfUpdateFunctionCode,
  UpdateFunctionConfiguration: ScfUpdateFunctionConfiguration,
  DeleteFunction: ScfDeleteFunction,
  ListFunctions: ScfListFunctions,
  PublishVersion: ScfPublishVersion,
  ListVersionByFunction: ScfListVersionByFunction,
  DeleteFunctionVersion: ScfDeleteFunctionVersion,
  CreateAlias: ScfCreateAlias,
  UpdateAlias: ScfUpdateAlias,
  GetAlias: ScfAliasByName,
  DeleteAlias: ScfAliasByName,
  ListAliases: ScfListAliases,
  Invoke: ScfInvoke,
  InvokeFunction: ScfInvokeFunction,
} satisfies Record<string, TSchema>;
export type ScfAction = keyof typeof SCF_PARAMS;
