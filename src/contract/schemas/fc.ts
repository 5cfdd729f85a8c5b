import { type Static, Type } from '@sinclair/typebox';
import { CONFIG_LIMITS } from '../../core/function-config.js';
import { ALIAS_NAME, ALIAS_NAME_HINT } from '../../core/names.js';
import { Strict } from './common.js';
import { CodeJson, FunctionConfigView, FunctionName } from './functions.js';

/**
 * Function Compute 3.0's bodies (`/2023-03-30/…`), with FC's field names, as far as Sluice implements them: a
 * field FC has and Sluice does not (vpcConfig, cpu, layers …) is refused as unknown rather than ignored, so
 * that nobody believes it took effect. The values are held to the same limits as `/v1`'s.
 */

/**
 * FC's runtime names, each for one of Sluice's runtimes (the Sluice names of runtimes FC lacks stand for
 * themselves): a function reads back with the name it was given.
 */
export const FC_RUNTIMES = {
  nodejs20: 'nodejs20',
  'python3.10': 'python3',
  custom: 'custom',
  'php8.2': 'php8.2',
  csharp: 'csharp',
} as const;
export type FcRuntime = keyof typeof FC_RUNTIMES;

const { properties: config } = FunctionConfigView;

const Runtime = Type.Unsafe<FcRuntime>({
  type: 'string',
  enum: Object.keys(FC_RUNTIMES),
  description: `must be one of ${Object.keys(FC_RUNTIMES).join(', ')}`,
});

/** FC's `customRuntimeConfig`: the server a custom runtime starts, as a program and its arguments. */
const CustomRuntimeConfig = Strict(
  {
    command: Type.Optional(config.command),
    args: Type.Optional(config.command),
  },
  { title: 'customRuntimeConfig' },
);

/** FC's `code`: a zip in base64 (FC's OSS bucket and checksum are not Sluice's). */
const Code = Strict({ zipFile: CodeJson.properties.zipFile }, { title: 'code' });

const configFields = {
  runtime: Runtime,
  handler: config.handler,
  memorySize: config.memorySize,
  timeout: config.timeout,
  instanceConcurrency: config.instanceConcurrency,
  environmentVariables: config.environmentVariables,
  description: config.description,
  customRuntimeConfig: CustomRuntimeConfig,
};

export const FcCreateFunction = Strict(
  {
    functionName: FunctionName,
    runtime: configFields.runtime,
    handler: configFields.handler,
    code: Type.Optional(Code),
    memorySize: Type.Optional(configFields.memorySize),
    timeout: Type.Optional(configFields.timeout),
    instanceConcurrency: Type.Optional(configFields.instanceConcurrency),
    environmentVariables: Type.Optional(configFields.environmentVariables),
    description: Type.Optional(configFields.description),
    customRuntimeConfig: Type.Optional(configFields.customRuntimeConfig),
  },
  { title: 'function' },
);
export type FcCreateFunction = Static<typeof FcCreateFunction>;

export const FcUpdateFunction = Type.Partial(Strict({ ...configFields, code: Code }), {
  title: 'function update',
  minProperties: 1,
  description: 'must name a field to change',
});
export type FcUpdateFunction = Static<typeof FcUpdateFunction>;

export const FcPublishVersion = Strict(
  { description: Type.Optional(Type.String({ maxLength: CONFIG_LIMITS.descriptionLength })) },
  { title: 'version' },
);
export type FcPublishVersion = Static<typeof FcPublishVersion>;

/** `{"2": 0.1}`: the one version beside `versionId` and its share of the traffic, in steps of 0.0001. */
const AdditionalVersionWeight = Type.Unsafe<Record<string, number>>({
  type: 'object',
  propertyNames: { type: 'string', pattern: '^[1-9][0-9]{0,15}$', description: 'must be a version number' },
  additionalProperties: { type: 'number', minimum: 0, maximum: 1 },
  maxProperties: 1,
  description: 'must name at most one version (an alias has one canary), with a weight from 0 to 1',
});

const aliasFields = {
  versionId: Type.String({
    pattern: '^(?:LATEST|\\$LATEST|[1-9][0-9]{0,15})$',
    description: 'must be a version number such as "1", or LATEST',
  }),
  description: Type.String({ maxLength: CONFIG_LIMITS.descriptionLength }),
  additionalVersionWeight: AdditionalVersionWeight,
};

export const FcCreateAlias = Strict(
  {
    aliasName: Type.String({ pattern: ALIAS_NAME.source, description: ALIAS_NAME_HINT }),
    versionId: aliasFields.versionId,
    description: Type.Optional(aliasFields.description),
    additionalVersionWeight: Type.Optional(aliasFields.additionalVersionWeight),
  },
  { title: 'alias' },
);
export type FcCreateAlias = Static<typeof FcCreateAlias>;

export const FcUpdateAlias = Type.Partial(Strict(aliasFields), { title: 'alias update' });
export type FcUpdateAlias = Static<typeof FcUpdateAlias>;
