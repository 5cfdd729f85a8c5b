import { SluiceError } from '../core/errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route<H> {
  method: Method;
  /** A path template such as `/v1/functions/{name}/aliases/{alias}`. */
  path: string;
  handler: H;
}

interface CompiledRoute<H> {
  route: Route<H>;
  segments: readonly (string | { param: string })[];
}

export interface RouteMatch<H> {
  route: Route<H>;
  params: Record<string, string>;
}

/** Matches a method and path against templates; tells a missing path (404) from a wrong method (405). */
export class Router<H> {
  private readonly compiled: CompiledRoute<H>[];

  constructor(routes: readonly Route<H>[]) {
    this.compiled = routes.map((route) => ({
      route,
      segments: route.path
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : s)),
    }));
  }

  match(method: string, pathname: string): RouteMatch<H> {
    const parts = pathname.split('/').slice(1);
    const allowed: string[] = [];
    for (const { route, segments } of this.compiled) {
      const params = matchSegments(segments, parts);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allowed.push(route.method);
    }
    if (allowed.length > 0) {
      throw new SluiceError(
        'MethodNotAllowed',
        `${method} is not allowed on ${pathname}; use ${allowed.join(', ')}`,
        {
          allowed,
        },
      );
    }
    throw new SluiceError('RouteNotFound', `no endpoint at ${pathname}`);
  }
}

function matchSegments(
  segments: readonly (string | { param: string })[],
  parts: readonly string[],
): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string | { param: string };
    const part = parts[i] as string;
    if (typeof segment === 'string') {
      if (segment !== part) return undefined;
      continue;
    }
    if (part === '') return undefined;
    try {
      params[segment.param] = decodeURIComponent(part);
    } catch {
      throw new SluiceError('InvalidArgument', `path segment "${part}" is not valid percent-encoding`);
    }
  }
  return params;
}
