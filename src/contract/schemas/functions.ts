import { type Static, Type } from '@sinclair/typebox';
import {
  ANY_HANDLER,
  CONFIG_LIMITS,
  CSHARP_HANDLER_HINT,
  ENV_NAME,
  HANDLER_HINT,
  NETWORK_MODES,
  CONVENTIONS,
  RESERVED_ENV,
  RUNTIMES,
} from '../../core/function-config.js';
import { FUNCTION_NAME, FUNCTION_NAME_HINT } from '../../core/names.js';
import { Enum, NextToken, Strict, StringMap, Timestamp } from './common.js';

export const FunctionName = Type.String({ pattern: FUNCTION_NAME.source, description: FUNCTION_NAME_HINT });

const RESERVED_PREFIXES = RESERVED_ENV.source.slice(2, -1);

/** The fields of a function's configuration, which a version snapshots; the core holds their limits. */
const configFields = {
  runtime: Enum(RUNTIMES),
  handler: Type.String({
    minLength: 1,
    maxLength: CONFIG_LIMITS.handlerLength,
    pattern: ANY_HANDLER.source,
    description: `${HANDLER_HINT}, or ${CSHARP_HANDLER_HINT}`,
  }),
  memorySize: Type.Integer({
    minimum: CONFIG_LIMITS.memorySize.min,
    maximum: CONFIG_LIMITS.memorySize.max,
    multipleOf: CONFIG_LIMITS.memorySize.multipleOf,
    description: 'MB',
  }),
  timeout: Type.Integer({
    minimum: CONFIG_LIMITS.timeout.min,
    maximum: CONFIG_LIMITS.timeout.max,
    description: 'seconds',
  }),
  instanceConcurrency: Type.Integer({
    minimum: CONFIG_LIMITS.instanceConcurrency.min,
    maximum: CONFIG_LIMITS.instanceConcurrency.max,
  }),
  environmentVariables: StringMap({
    // The total size, names and values, is the core's to check: a schema cannot add up bytes.
    pattern: `^(?!${RESERVED_PREFIXES})${ENV_NAME.source.slice(1)}`,
    description:
      'must be a variable name (letters, digits, underscores) not reserved for the platform (SLUICE_*, FC_*)',
  }),
  description: Type.String({ maxLength: CONFIG_LIMITS.descriptionLength }),
  network: Enum(NETWORK_MODES, {
    description: "host: the host's network; none: a loopback of the instance's own only",
  }),
  convention: Enum(CONVENTIONS, {
    description:
      "how the handler is called: fc, Function Compute's (the event as bytes); scf, Tencent SCF's (the event parsed from JSON, SCF's context)",
  }),
  command: Type.Optional(
    Type.Array(Type.String({ maxLength: CONFIG_LIMITS.commandPartLength, pattern: '^[^\\u0000]*$' }), {
      maxItems: CONFIG_LIMITS.commandParts,
      description:
        "a custom runtime's server: the program, then its arguments, instead of the package's bootstrap; [] for none",
    }),
  ),
};

export const FunctionConfigView = Strict(configFields);
export type FunctionConfigView = Static<typeof FunctionConfigView>;

const BASE64 = '^[A-Za-z0-9+/]*={0,2}$';

/** Code inside a JSON body: a zip, base64-encoded. */
export const CodeJson = Strict(
  { zipFile: Type.String({ pattern: BASE64, description: 'must be a base64-encoded zip' }) },
  { title: 'code' },
);
export type CodeJson = Static<typeof CodeJson>;

export const CreateFunction = Strict(
  {
    name: FunctionName,
    runtime: configFields.runtime,
    handler: configFields.handler,
    memorySize: Type.Optional(configFields.memorySize),
    timeout: Type.Optional(configFields.timeout),
    instanceConcurrency: Type.Optional(configFields.instanceConcurrency),
    environmentVariables: Type.Optional(configFields.environmentVariables),
    description: Type.Optional(configFields.description),
    network: Type.Optional(configFields.network),
    convention: Type.Optional(configFields.convention),
    command: configFields.command,
    code: Type.Optional(CodeJson),
  },
  { title: 'function' },
);
export type CreateFunction = Static<typeof CreateFunction>;

export const ConfigPatch = Type.Partial(Strict(configFields), {
  title: 'configuration update',
  minProperties: 1,
  description: 'must name a field to change',
});
export type ConfigPatch = Static<typeof ConfigPatch>;

export const HttpTrigger = Strict(
  { authType: Enum(['token', 'anonymous'] as const, { description: 'who may call /fn/{name}/…' }) },
  { title: 'HTTP trigger' },
);
export type HttpTrigger = Static<typeof HttpTrigger>;

export const FunctionView = Strict({
  name: FunctionName,
  ...configFields,
  trigger: HttpTrigger,
  codeSha256: Type.String(),
  codeSize: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type FunctionView = Static<typeof FunctionView>;

export const FunctionList = Strict({ functions: Type.Array(FunctionView), nextToken: NextToken });
export type FunctionList = Static<typeof FunctionList>;

export const Publish = Strict(
  { description: Type.Optional(Type.String({ maxLength: 256 })) },
  { title: 'publish request' },
);
export type Publish = Static<typeof Publish>;

export const VersionView = Strict({
  functionName: FunctionName,
  versionId: Type.String({ description: 'digits, as the vendors write version ids' }),
  description: Type.String(),
  config: FunctionConfigView,
  codeSha256: Type.String(),
  codeSize: Type.Integer(),
  createdAt: Timestamp,
});
export type VersionView = Static<typeof VersionView>;

export const VersionList = Strict({ versions: Type.Array(VersionView), nextToken: NextToken });
export type VersionList = Static<typeof VersionList>;
