import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { errorCatalog } from '../../core/errors.js';
import { VERSION_ID } from '../../core/names.js';

/**
 * The building blocks of the API's bodies. TypeBox rather than zod: a TypeBox schema is JSON Schema as it
 * stands, so the OpenAPI document serves the very schema that ajv, the fastest validator, compiles and checks. A schema's `description` is its rule in words: the OpenAPI document
 * shows it, and a value that fails the schema's pattern or choice is told it (`src/contract/validate.ts`).
 */

/** A string that is one of `values`, written as JSON Schema's `enum` (clearer to read than a union of consts). */
export const Enum = <const T extends readonly string[]>(values: T, options: { description?: string } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });

/** An object that refuses fields it does not name. */
export const Strict = <P extends Parameters<typeof Type.Object>[0]>(
  properties: P,
  options: Parameters<typeof Type.Object>[1] = {},
) => Type.Object(properties, { additionalProperties: false, ...options });

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** An object of string values, its keys held to `keys`. */
export const StringMap = (keys: { pattern?: string; description?: string } = {}, value = Type.String()) =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    ...(Object.keys(keys).length > 0 && { propertyNames: { type: 'string', ...keys } }),
    additionalProperties: value,
  });

export const Timestamp = Type.String({ description: 'an ISO 8601 time, such as 2024-05-01T12:00:00.000Z' });

const VERSION_DIGITS = VERSION_ID.source.slice(1, -1);

/** Where an alias sends traffic: `$LATEST` (or Function Compute's `LATEST`) or a published version's id. */
export const VersionRef = Type.String({
  pattern: `^(?:\\$LATEST|LATEST|${VERSION_DIGITS})$`,
  description: 'must be $LATEST or a version number such as "1"',
});

export const VersionId = Type.String({
  pattern: VERSION_ID.source,
  description: 'must be a published version number such as "2"',
});

/** The token that fetches a listing's next page, null on its last. */
export const NextToken = Nullable(Type.String());

/** Every error answer: `{error: {code, message, requestId, details?}}`; `details` lists an InvalidArgument's fields. */
export const ErrorBody = Strict({
  error: Strict({
    code: Enum(Object.keys(errorCatalog) as (keyof typeof errorCatalog)[]),
    message: Type.String(),
    requestId: Type.String(),
    details: Type.Optional(
      Type.Union([
        Type.Array(Strict({ path: Type.String(), message: Type.String() })),
        Type.Record(Type.String(), Type.Unknown()),
      ]),
    ),
  }),
});
export type ErrorBody = Static<typeof ErrorBody>;
