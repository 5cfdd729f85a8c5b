import type { Static, TSchema } from '@sinclair/typebox';
import { validator } from '../contract/validate.js';
import { readJson } from '../http/body.js';
import { type ApiRequest, type ApiResponse, type ApiRoute, JSON_LIMIT } from './context.js';

export interface JsonBody<S extends TSchema> {
  schema: S;
  /** A request without a body is taken as `{}`. */
  optional?: boolean;
  /** Bytes; JSON_LIMIT unless the body carries code. */
  limit?: number;
}

/**
 * A route that takes a JSON body: read, checked against its schema (every problem, unknown fields refused)
 * and handed to the handler typed. The schema the route declares is the one it checks, so the OpenAPI
 * document cannot promise another.
 */
export function jsonRoute<S extends TSchema>(
  route: Omit<ApiRoute, 'request' | 'handler'>,
  body: JsonBody<S>,
  handler: (request: ApiRequest, body: Static<S>) => Promise<ApiResponse>,
): ApiRoute {
  const check = validator(body.schema);
  const optional = body.optional ?? false;
  return {
    ...route,
    request: { schema: body.schema, optional },
    handler: async (request) => {
      const json = await readJson(request.req, body.limit ?? JSON_LIMIT);
      return handler(request, check(json === undefined && optional ? {} : json));
    },
  };
}
