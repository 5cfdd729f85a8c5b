import { SluiceError } from './errors.js';
import { LATEST, parseQualifier } from './names.js';
import { Issues, fieldPath } from './validate.js';

export const API_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const STAGE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
export const NAME_HINT =
  'must start with a letter and hold only letters, digits, underscores and hyphens (at most 64)';
export const METHODS = ['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type RouteMethod = (typeof METHODS)[number];

/** One route of an API: a method (or ANY) and a path pattern such as `/users/{id}` or `/{proxy+}`. */
export interface ApiRoute {
  method: RouteMethod;
  path: string;
}

export interface ApiDefinition {
  description: string;
  routes: ApiRoute[];
}

/** Where a stage sends a request: a function and the qualifier to invoke it with. */
export interface Binding {
  function: string;
  qualifier: string;
}

/** A stage: the binding of all its routes (or of some, `routes`), and variables passed in the event. */
export interface StageSpec extends Binding {
  variables: Record<string, string>;
  /** Bindings of single routes, keyed `METHOD /path`, that differ from the stage's own. */
  routes: Record<string, Binding>;
}

export const routeKey = (route: ApiRoute) => `${route.method} ${route.path}`;

const SEGMENT = /^(?:[A-Za-z0-9._~!$&'()*+,;=:@-]+|\{[A-Za-z_][A-Za-z0-9_]*\}|\{[A-Za-z_][A-Za-z0-9_]*\+\})$/;

function checkPath(path: string, at: string, issues: Issues): void {
  if (!path.startsWith('/')) {
    issues.add(at, 'must start with /');
    return;
  }
  if (path === '/') return;
  const segments = path.slice(1).split('/');
  segments.forEach((segment, i) => {
    if (!SEGMENT.test(segment))
      issues.add(at, `segment "${segment}" is neither a literal, {name} nor {name+}`);
    else if (segment.endsWith('+}') && i !== segments.length - 1)
      issues.add(at, `{name+} may only be the last segment`);
  });
  const names = segments.filter((s) => s.startsWith('{')).map((s) => s.replace(/[{}+]/g, ''));
  if (new Set(names).size !== names.length) issues.add(at, 'names a path parameter twice');
}

export function assertApiName(name: string, what = 'API'): void {
  if (!(what === 'API' ? API_NAME : STAGE_NAME).test(name)) {
    throw new SluiceError('InvalidArgument', `${what} name "${name}" ${NAME_HINT}`, [
      { path: 'name', message: NAME_HINT },
    ]);
  }
}

/** An API's definition as a request gives it, its fields' types checked already (the API's schema). */
export interface ApiDefinitionInput {
  description?: string;
  routes?: ApiRoute[];
}

/** An API's definition: each route's path a pattern the gateway can match, no two routes taking the same requests. */
export function parseApiDefinition(input: ApiDefinitionInput): ApiDefinition {
  const issues = new Issues();
  const routes = (input.routes ?? []).map((r) => ({ method: r.method, path: r.path }));
  routes.forEach((route, i) => {
    checkPath(route.path, fieldPath(fieldPath('routes', i), 'path'), issues);
  });
  issues.throwIfAny('API');
  const keys = routes.map(routeKey);
  const duplicate = keys.find((k, i) => keys.indexOf(k) !== i);
  if (duplicate) issues.add('routes', `route ${duplicate} is listed twice`);
  else {
    // Patterns that differ only in their parameters' names take the same requests: the second never would.
    const shapes = keys.map((k) => k.replace(/\{[^}+]*(\+?)\}/g, '{$1}'));
    const twin = shapes.findIndex((k, i) => shapes.indexOf(k) !== i);
    if (twin !== -1)
      issues.add(
        'routes',
        `route ${keys[twin]} takes the same requests as ${keys[shapes.indexOf(shapes[twin] as string)]}`,
      );
  }
  issues.throwIfAny('API');
  return { description: input.description ?? '', routes };
}

/** A binding as a request gives it: the qualifier defaults to `$DEFAULT`. */
export interface BindingInput {
  function: string;
  qualifier?: string;
}

/** A stage as a request gives it, its fields' types checked already (the API's schema). */
export interface StageInput extends BindingInput {
  variables?: Record<string, string>;
  routes?: Record<string, BindingInput>;
}

function readBinding(input: BindingInput, at: string, issues: Issues): Binding {
  let qualifier = input.qualifier ?? '$DEFAULT';
  try {
    // Stored as `$LATEST` when written `LATEST`, so that every binding of the latest code reads the same.
    if (parseQualifier(qualifier).kind === 'latest') qualifier = LATEST;
  } catch {
    issues.add(fieldPath(at, 'qualifier'), 'must be $DEFAULT, $LATEST, a version number or an alias name');
  }
  return { function: input.function, qualifier };
}

/** A stage: its qualifiers read, and its route bindings only for routes the API has. */
export function parseStageSpec(input: StageInput, api: ApiDefinition): StageSpec {
  const issues = new Issues();
  const binding = readBinding(input, '', issues);
  const routes: Record<string, Binding> = {};
  const known = api.routes.map(routeKey);
  for (const [key, value] of Object.entries(input.routes ?? {})) {
    const at = fieldPath('routes', key);
    if (known.includes(key)) routes[key] = readBinding(value, at, issues);
    else issues.add(at, `is not a route of the API (known: ${known.join(', ')})`);
  }
  issues.throwIfAny('stage');
  return { ...binding, variables: { ...input.variables }, routes };
}

/** Every binding of a stage: its own and its routes'. */
export function stageBindings(spec: StageSpec): Binding[] {
  return [{ function: spec.function, qualifier: spec.qualifier }, ...Object.values(spec.routes)];
}

/** The binding a route of a stage uses. */
export function bindingFor(spec: StageSpec, route: ApiRoute): Binding {
  return spec.routes[routeKey(route)] ?? spec;
}

interface CompiledPattern {
  route: ApiRoute;
  segments: ({ literal: string } | { param: string } | { greedy: string })[];
  /** Literal segments first, then parameters, then a greedy tail; exact methods before ANY. */
  rank: number[];
}

export interface RouteMatch {
  route: ApiRoute;
  pathParameters: Record<string, string>;
}

/** An API's routes compiled once, matched per request; `undefined` path → 404, wrong method → 405. */
export class RouteMatcher {
  private readonly patterns: CompiledPattern[];

  constructor(routes: readonly ApiRoute[]) {
    this.patterns = routes
      .map((route) => {
        const segments =
          route.path === '/'
            ? []
            : route.path
                .slice(1)
                .split('/')
                .map((s) => {
                  if (s.endsWith('+}')) return { greedy: s.slice(1, -2) };
                  if (s.startsWith('{')) return { param: s.slice(1, -1) };
                  return { literal: s };
                });
        const rank = [
          ...segments.map((s) => ('literal' in s ? 0 : 'param' in s ? 1 : 2)),
          route.method === 'ANY' ? 1 : 0,
        ];
        return { route, segments, rank };
      })
      .sort((a, b) => compareRanks(a.rank, b.rank));
  }

  match(method: string, path: string): RouteMatch | { methodNotAllowed: string[] } | undefined {
    const parts = path === '/' || path === '' ? [] : path.replace(/^\//, '').split('/');
    const allowed: string[] = [];
    for (const pattern of this.patterns) {
      const params = matchSegments(pattern.segments, parts);
      if (!params) continue;
      if (pattern.route.method === 'ANY' || pattern.route.method === method)
        return { route: pattern.route, pathParameters: params };
      allowed.push(pattern.route.method);
    }
    return allowed.length > 0 ? { methodNotAllowed: [...new Set(allowed)] } : undefined;
  }
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

function matchSegments(
  segments: CompiledPattern['segments'],
  parts: readonly string[],
): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as CompiledPattern['segments'][number];
    if ('greedy' in segment) {
      const rest = parts.slice(i);
      if (rest.length === 0 || rest.join('/') === '') return undefined;
      params[segment.greedy] = rest.map(safeDecode).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if ('literal' in segment) {
      if (segment.literal !== safeDecode(part)) return undefined;
    } else {
      if (part === '') return undefined;
      params[segment.param] = safeDecode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
