import { SluiceError } from '../core/errors.js';
import { type AsyncEvent } from '../core/async-invocation.js';
import {
  ASYNC_STATUSES,
  type AsyncConfig,
  type AsyncStatus,
  DEFAULT_ASYNC_CONFIG,
  type Destination,
} from '../core/async-config.js';
import { parseAsyncConfig } from '../core/async-config.js';
import { parseQualifier } from '../core/names.js';
import {
  AsyncConfigBody,
  AsyncConfigView,
  AsyncInvocationList,
  AsyncInvocationView,
} from '../contract/schemas/async.js';
import type { Store } from '../store/store.js';
import { type ApiDeps, type ApiRoute, changeBy } from './context.js';
import { jsonRoute } from './json-route.js';
import { getRoute, pageBody } from './plain-routes.js';
import { functionParam, optionalQuery, pageParams } from './params.js';
import { requireFunction } from './services.js';

const iso = (ms: number) => new Date(ms).toISOString();

export function asyncInvocationView(event: AsyncEvent): AsyncInvocationView {
  return {
    requestId: event.id,
    functionName: event.functionName,
    qualifier: event.qualifier,
    source: event.source,
    status: event.status,
    version: event.attempts.at(-1)?.versionId ?? null,
    attempts: event.attempts.map(({ versionId, ...attempt }) => ({ version: versionId, ...attempt })),
    payloadBytes: event.payload.length,
    createdAt: iso(event.createdAt),
    nextAttemptAt: event.status === 'queued' ? iso(event.nextAt) : null,
    finishedAt: event.finishedAt === undefined ? null : iso(event.finishedAt),
    ...(event.result !== undefined && { result: event.result }),
    ...(event.error && { error: event.error }),
    ...(event.destination && { destination: event.destination }),
  };
}

const configView = (config: AsyncConfig): AsyncConfigView => ({
  maxRetries: config.maxRetries,
  maxEventAgeSeconds: config.maxEventAgeSeconds,
  onSuccess: config.onSuccess ?? null,
  onFailure: config.onFailure ?? null,
});

/** A function destination must name something that exists now (it may be deleted later: that is recorded). */
async function checkDestination(
  store: Store,
  destination: Destination | undefined,
  path: string,
): Promise<void> {
  if (!destination || 'url' in destination) return;
  const fn = await store.getFunction(destination.function);
  if (!fn)
    throw new SluiceError('FunctionNotFound', `${path}: function ${destination.function} does not exist`);
  const qualifier = parseQualifier(destination.qualifier);
  if (qualifier.kind === 'alias' && !(await store.getAlias(destination.function, qualifier.alias)))
    throw new SluiceError(
      'AliasNotFound',
      `${path}: function ${destination.function} has no alias ${qualifier.alias}`,
    );
  if (qualifier.kind === 'version' && !(await store.getVersion(destination.function, qualifier.version)))
    throw new SluiceError(
      'VersionNotFound',
      `${path}: function ${destination.function} has no version ${qualifier.version}`,
    );
}

function statusParam(text: string | undefined): AsyncStatus | undefined {
  if (text === undefined) return undefined;
  if ((ASYNC_STATUSES as readonly string[]).includes(text)) return text as AsyncStatus;
  throw new SluiceError(
    'InvalidArgument',
    `status must be one of ${ASYNC_STATUSES.join(', ')}, not "${text}"`,
    [{ path: 'status', message: `must be one of ${ASYNC_STATUSES.join(', ')}` }],
  );
}

/** Asynchronous invocations: the function's settings, and its queued and ended events with their versions. */
export function asyncRoutes({ store, clock }: ApiDeps): ApiRoute[] {
  return [
    getRoute(
      {
        path: '/v1/functions/{name}/async-config',
        summary: "A function's asynchronous invocation settings: retries, maximum event age, destinations",
        responses: { 200: AsyncConfigView },
      },
      async (request) => {
        const fn = await requireFunction(store, functionParam(request));
        return configView(fn.async ?? DEFAULT_ASYNC_CONFIG);
      },
    ),
    jsonRoute(
      {
        method: 'PUT',
        path: '/v1/functions/{name}/async-config',
        summary:
          'Replace the asynchronous invocation settings (a field left out takes its default); they apply to every qualifier and are not versioned',
        responses: { 200: AsyncConfigView },
      },
      { schema: AsyncConfigBody },
      async (request, body) => {
        const name = functionParam(request);
        const config = parseAsyncConfig(body);
        await requireFunction(store, name);
        await checkDestination(store, config.onSuccess, 'onSuccess');
        await checkDestination(store, config.onFailure, 'onFailure');
        const fn = await store.updateFunction(name, { async: config }, changeBy(request, clock));
        return { status: 200, json: configView(fn.async ?? DEFAULT_ASYNC_CONFIG) };
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/async-invocations',
        summary:
          "A function's asynchronous invocations, newest first, with their status, attempts and the version of each (status, limit, nextToken)",
        query: ['status', 'limit', 'nextToken'],
        responses: { 200: AsyncInvocationList },
      },
      async (request) => {
        const status = statusParam(optionalQuery(request, 'status'));
        const page = await store.listAsync(functionParam(request), {
          ...pageParams(request),
          ...(status !== undefined && { status }),
        });
        return pageBody('invocations', page, asyncInvocationView);
      },
    ),
    getRoute(
      {
        path: '/v1/functions/{name}/async-invocations/{id}',
        summary: 'One asynchronous invocation by its request id',
        responses: { 200: AsyncInvocationView },
      },
      async (request) => {
        const name = functionParam(request);
        const id = request.params.id ?? '';
        const event = await store.getAsync(name, id);
        if (!event) {
          await requireFunction(store, name);
          throw new SluiceError(
            'AsyncInvocationNotFound',
            `function ${name} has no asynchronous invocation ${id}`,
          );
        }
        return asyncInvocationView(event);
      },
    ),
  ];
}
