import { type TSchema, Type } from '@sinclair/typebox';
import { ErrorBody } from '../contract/schemas/common.js';
import { type Answer, type ApiRoute, JsonOrEvents } from './context.js';

/** What `GET /v1/openapi.json` answers: an OpenAPI 3.1 document (the validator in the tests holds it to the spec). */
export const OpenApiDocument = Type.Object(
  { openapi: Type.Literal('3.1.0'), info: Type.Object({}), paths: Type.Object({}) },
  { description: 'an OpenAPI 3.1 document' },
);

const ERROR = '#/components/schemas/Error';
const json = (schema: unknown) => ({ 'application/json': { schema } });

/**
 * The OpenAPI document, from the route table and the contract's schemas: each route's request body and
 * answers are the schemas its handler is checked against and typed by, so the document cannot promise others.
 */
export function openApiDocument(routes: readonly ApiRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const params = [
      ...[...route.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(route.query ?? []).map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
      ...(route.headers ?? []).map(({ name, description }) => ({
        name,
        in: 'header',
        description,
        schema: { type: 'string' },
      })),
    ];
    const entry = (paths[route.path] ??= {});
    entry[route.method.toLowerCase()] = {
      summary: route.summary,
      operationId: operationId(route),
      parameters: params,
      ...(route.public ? { security: [] } : {}),
      ...(route.request && {
        requestBody: {
          required: !route.request.optional,
          content: {
            ...json(plain(route.request.schema)),
            ...(route.request.zip && { 'application/zip': { schema: { type: 'string', format: 'binary' } } }),
          },
        },
      }),
      responses: {
        ...Object.fromEntries(
          Object.entries(route.responses).map(([status, answer]) => [status, response(answer)]),
        ),
        default: {
          description: 'An error from the catalog (docs/errors.md)',
          content: json({ $ref: ERROR }),
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
      schemas: { Error: plain(ErrorBody) },
    },
  };
}

function response(answer: Answer): Record<string, unknown> {
  switch (answer) {
    case 'empty':
      return { description: 'Done; no body' };
    case 'zip':
      return {
        description: 'A zip',
        content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
      };
    default:
      if (answer instanceof JsonOrEvents) {
        return {
          description: 'Success; with follow=true, Server-Sent Events instead',
          content: { ...json(plain(answer.schema)), 'text/event-stream': { schema: { type: 'string' } } },
        };
      }
      return { description: 'Success', content: json(plain(answer)) };
  }
}

/** `PUT /v1/functions/{name}/aliases/{alias}` → `putFunctionsNameAliasesAlias`: unique, as paths are. */
function operationId(route: ApiRoute): string {
  const words = route.path
    .replace(/^\/v1\//, '')
    .split(/[/{}]+/)
    .filter(Boolean);
  return route.method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/** A TypeBox schema as plain JSON: its symbols (TypeBox's own marks) dropped. */
const plain = (schema: TSchema): unknown => JSON.parse(JSON.stringify(schema)) as unknown;
