import type { Page } from '../core/model.js';
import type { ApiRequest, ApiRoute } from './context.js';

/**
 * Routes whose answer always has one shape, 200 with a JSON body or 204 without one: each says only the step
 * that is its own (what it reads, what it deletes), the status and the body's form are written here once.
 */

type RouteHead = Omit<ApiRoute, 'method' | 'handler'>;

/** A GET route answering 200 with what `read` returns as its body. */
export function getRoute(route: RouteHead, read: (request: ApiRequest) => Promise<unknown>): ApiRoute {
  return {
    method: 'GET',
    ...route,
    handler: async (request) => ({ status: 200, json: await read(request) }),
  };
}

/** A DELETE route: `remove` deletes what the path names; the answer is 204 without a body. */
export function deleteRoute(
  route: Omit<RouteHead, 'responses'>,
  remove: (request: ApiRequest) => Promise<void>,
): ApiRoute {
  return {
    method: 'DELETE',
    ...route,
    responses: { 204: 'empty' },
    handler: async (request) => {
      await remove(request);
      return { status: 204 };
    },
  };
}

/** One page of a collection as every list answers it: the items under `key`, the next page's token or null. */
export function pageBody<T>(key: string, page: Page<T>, view: (item: T) => unknown): Record<string, unknown> {
  return { [key]: page.items.map(view), nextToken: page.nextToken ?? null };
}
