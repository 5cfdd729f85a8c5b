import { errorCatalog } from '../core/errors.js';
import type { ApiRoute } from './context.js';

const JSON_CONTENT = { 'application/json': { schema: { type: 'object' } } };

/** The OpenAPI document, derived from the route table so that the two cannot drift apart. */
export function openApiDocument(routes: readonly ApiRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const entry = (paths[route.path] ??= {});
    entry[route.method.toLowerCase()] = {
      summary: route.summary,
      parameters: params,
      ...(route.public ? { security: [] } : {}),
      responses: {
        '2XX': { description: 'Success', content: JSON_CONTENT },
        default: {
          description: 'An error from the catalog',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Sluice control plane', version },
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'requestId'],
              properties: {
                code: { type: 'string', enum: Object.keys(errorCatalog) },
                message: { type: 'string' },
                requestId: { type: 'string' },
                details: {},
              },
            },
          },
        },
      },
    },
  };
}
