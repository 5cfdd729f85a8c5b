import { SluiceError } from '../core/errors.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface Route<H> {
  /** `ANY` takes every method, as HTTP triggers do. */
  method: Method | 'ANY';
  /**
   * A path template such as `/v1/functions/{name}/aliases/{alias}`. A last segment `*` takes the rest of the
   * path, if any: `/fn/{name}/{qualifier}/*` matches `/fn/a/b`, `/fn/a/b/` and `/fn/a/b/c/d`.
   */
  path: string;
  handler: H;
}

export interface RouteMatch<H> {
  route: Route<H>;
  /** Each `{param}`'s path segment as it was sent, percent-escapes and all (`decodeParams` decodes them). */
  params: Record<string, string>;
  /** What a `*` took, from its leading slash (`/c/d`, `/`); undefined when the path ended before it. */
  rest: string | undefined;
}

interface CompiledRoute<H> {
  route: Route<H>;
  /** The names of its `{param}`s, in the order of the path. */
  names: readonly string[];
}

/** One segment's position in the tree: a literal segment is tried before a parameter, a parameter before `*`. */
interface Node<H> {
  literals: Map<string, Node<H>>;
  param: Node<H> | undefined;
  /** Routes that end here. */
  ends: CompiledRoute<H>[];
  /** Routes whose `*` follows here. */
  rests: CompiledRoute<H>[];
}

const newNode = <H>(): Node<H> => ({ literals: new Map(), param: undefined, ends: [], rests: [] });

/**
 * Matches a method and path against templates compiled into a tree once, so that a request walks its
 * path's segments instead of trying each template; tells a missing path (404) from a wrong method (405).
 */
export class Router<H> {
  private readonly root = newNode<H>();

  constructor(routes: readonly Route<H>[]) {
    for (const route of routes) this.add(route);
  }

  private add(route: Route<H>): void {
    const segments = route.path.split('/').slice(1);
    const rest = segments.at(-1) === '*';
    if (rest) segments.pop();
    const names: string[] = [];
    let node = this.root;
    for (const segment of segments) {
      if (segment.startsWith('{') && segment.endsWith('}')) {
        names.push(segment.slice(1, -1));
        node = node.param ??= newNode();
      } else {
        let next = node.literals.get(segment);
        if (!next) node.literals.set(segment, (next = newNode()));
        node = next;
      }
    }
    (rest ? node.rests : node.ends).push({ route, names });
  }

  match(method: string, pathname: string): RouteMatch<H> {
    const walk: Walk = { path: pathname, method, values: [], allowed: undefined };
    const found = walkFrom(this.root, 1, walk);
    if (found) return found;
    if (walk.allowed) {
      throw new SluiceError(
        'MethodNotAllowed',
        `${method} is not allowed on ${pathname}; use ${walk.allowed.join(', ')}`,
        { allowed: walk.allowed },
      );
    }
    throw new SluiceError('RouteNotFound', `no endpoint at ${pathname}`);
  }
}

/** One request's walk down the tree: the parameters taken so far, and the methods of paths that matched. */
interface Walk {
  path: string;
  method: string;
  values: string[];
  allowed: string[] | undefined;
}

/**
 * Matches the segment that begins at `start` (just after a slash; past the end when the path has no more)
 * and those after it, without splitting the path: this runs for every request.
 */
function walkFrom<H>(node: Node<H>, start: number, walk: Walk): RouteMatch<H> | undefined {
  const { path } = walk;
  if (start > path.length) {
    const ended = pick(node.ends, walk, undefined);
    if (ended) return ended;
  } else {
    const slash = path.indexOf('/', start);
    const end = slash === -1 ? path.length : slash;
    const part = path.slice(start, end);
    const literal = node.literals.get(part);
    const viaLiteral = literal && walkFrom(literal, end + 1, walk);
    if (viaLiteral) return viaLiteral;
    if (node.param && part !== '') {
      walk.values.push(part);
      const viaParam = walkFrom(node.param, end + 1, walk);
      walk.values.pop();
      if (viaParam) return viaParam;
    }
  }
  if (node.rests.length === 0) return undefined;
  return pick(node.rests, walk, start > path.length ? undefined : path.slice(start - 1));
}

function pick<H>(
  candidates: readonly CompiledRoute<H>[],
  walk: Walk,
  rest: string | undefined,
): RouteMatch<H> | undefined {
  for (const { route, names } of candidates) {
    if (route.method !== walk.method && route.method !== 'ANY') {
      (walk.allowed ??= []).push(route.method);
      continue;
    }
    const params: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) params[names[i] as string] = walk.values[i] as string;
    return { route, params, rest };
  }
  return undefined;
}

/** A match's parameters decoded; a malformed escape is the caller's error, never a guess. */
export function decodeParams(params: Record<string, string>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [name, part] of Object.entries(params)) decoded[name] = decodeSegment(part);
  return decoded;
}

/** A path segment decoded; a malformed escape is the caller's error (400), never a guess. */
export function decodeSegment(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new SluiceError('InvalidArgument', `path segment "${part}" is not valid percent-encoding`);
  }
}
