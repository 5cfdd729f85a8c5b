import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { createApi } from './api/api.js';
import { CONSOLE_PATH } from './console/serve.js';
import { type DataPlaneAddress, isPublicHost } from './core/data-plane.js';
import { SluiceError } from './core/errors.js';
import { type createFcApi, FC_PREFIX } from './fc/fc-api.js';
import type { createGateway } from './gateway/gateway.js';
import type { createHealth } from './health/health.js';
import { type createScfApi, isScfRequest } from './scf/scf-api.js';
import { REQUEST_ID_HEADER, sendError } from './http/respond.js';
import { type Method, type Route, Router } from './http/router.js';

/** Which addresses a listener answers for: everything, or only one side of a split. */
export type Listening = 'all' | 'control' | 'data';

/**
 * Where a path is served when triggers and stages have an address of their own: tenant content on the data
 * plane's, the console and the APIs on the control plane's, health and the invoke API on both.
 */
type Plane = 'data' | 'control' | 'both';

type Serve = (req: IncomingMessage, res: ServerResponse, url: URL, found: Found) => void;

interface Edge {
  plane: Plane;
  serve: Serve;
}

/** What the router found in the path: the raw `{param}` segments and the `*`'s rest. */
interface Found {
  params: Record<string, string>;
  rest: string | undefined;
}

/** The parts of the server that answer requests, each with what it serves. */
export interface EdgeParts {
  api: Pick<ReturnType<typeof createApi>, 'routes' | 'serve'>;
  fcApi: Pick<ReturnType<typeof createFcApi>, 'edges' | 'serve' | 'refuse'>;
  /** SCF's API, at `/`: a request there that names an action is SCF's. */
  scfApi: Pick<ReturnType<typeof createScfApi>, 'handle'>;
  gateway: Pick<ReturnType<typeof createGateway>, 'invoke' | 'trigger' | 'stage'>;
  health: ReturnType<typeof createHealth>;
  console: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;
  metrics: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  dataPlane: DataPlaneAddress;
  /** Where the data plane listens, once it does, for the error that sends a caller there. */
  dataPlanePort: () => number | undefined;
  log: (line: string) => void;
}

/** A malformed escape is left as it is: the name then fails validation with a clear error. */
function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Every path the server answers, in one router: the `/v1` API, Function Compute's and SCF's, the invoke API,
 * HTTP triggers and API stages, the console, health and metrics. Returns the listeners' request handler.
 */
export function edgeHandler(
  parts: EdgeParts,
): (listening: Listening, req: IncomingMessage, res: ServerResponse) => void {
  const { dataPlane, log } = parts;
  const fail = (res: ServerResponse, req: IncomingMessage, error: unknown, requestId = randomUUID()) => {
    res.setHeader(REQUEST_ID_HEADER, requestId);
    sendError(res, error, requestId, (e) => {
      log(`error ${requestId} ${req.method ?? ''} ${req.url ?? ''}: ${(e as Error).stack ?? String(e)}`);
    });
  };
  const edge = (method: Method | 'ANY', path: string, plane: Plane, serve: Serve): Route<Edge> => ({
    method,
    path,
    handler: { plane, serve },
  });
  const trigger =
    (qualified: boolean): Serve =>
    (req, res, url, { params, rest }) => {
      const qualifier = qualified ? decodeURIComponentSafe(params.qualifier as string) : undefined;
      void parts.gateway.trigger(req, res, url, params.name as string, qualifier, rest ?? '/');
    };
  const router = new Router<Edge>([
    edge('ANY', '/healthz', 'both', (_req, res) => {
      parts.health.liveness(res);
    }),
    edge('ANY', '/readyz', 'both', (req, res) => {
      parts.health.readiness(res).catch((error: unknown) => {
        fail(res, req, error);
      });
    }),
    // Any method: the invoke API answers a wrong one itself, on either plane.
    edge('ANY', '/v1/functions/{name}/invocations', 'both', (req, res, url, { params }) => {
      void parts.gateway.invoke(req, res, url, params.name as string);
    }),
    edge('ANY', '/fn/{name}', 'data', trigger(false)),
    edge('ANY', '/fn/{name}/', 'data', trigger(false)),
    edge('ANY', '/fn/{name}/{qualifier}/*', 'data', trigger(true)),
    edge('ANY', '/gw/{api}/{stage}/*', 'data', (req, res, url, { params, rest }) => {
      const api = decodeURIComponentSafe(params.api as string);
      const stage = decodeURIComponentSafe(params.stage as string);
      void parts.gateway.stage(req, res, url, api, stage, rest ?? '/');
    }),
    edge('ANY', '/', 'control', (req, res) => {
      if (isScfRequest(req)) {
        parts.scfApi.handle(req, res);
      } else if (req.method === 'GET' || req.method === 'HEAD') {
        // Someone who opens the server's address in a browser finds the console.
        res.writeHead(302, { location: `${CONSOLE_PATH}/` });
        res.end();
      } else {
        fail(res, req, new SluiceError('RouteNotFound', 'no endpoint at /'));
      }
    }),
    // The web console's static files; its data calls go to /v1 with the user's token.
    edge('ANY', `${CONSOLE_PATH}/*`, 'control', (req, res, url) => {
      parts.console(req, res, url).catch((error: unknown) => {
        fail(res, req, error);
      });
    }),
    edge('ANY', '/metrics', 'control', (req, res) => {
      parts.metrics(req, res).catch((error: unknown) => {
        fail(res, req, error);
      });
    }),
    ...parts.fcApi.edges.map(({ method, path, handler: operation }) =>
      edge(method, path, 'control', (req, res, url, { params }) => {
        parts.fcApi.serve(operation, req, res, url, params);
      }),
    ),
    ...parts.api.routes.map((route) =>
      edge(route.method, route.path, 'control', (req, res, url, { params }) => {
        const requestId = randomUUID();
        res.setHeader(REQUEST_ID_HEADER, requestId);
        parts.api.serve(route, req, res, url, params).catch((error: unknown) => {
          fail(res, req, error, requestId);
        });
      }),
    ),
  ]);
  const elsewhere = (what: string, where: string) =>
    new SluiceError('RouteNotFound', `${what} are not served at this address but on ${where}`);
  const onDataPlane = (listening: Listening, req: IncomingMessage) =>
    listening === 'data' ||
    (dataPlane.publicHost !== undefined && isPublicHost(req.headers.host, dataPlane.publicHost));

  return (listening, req, res) => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sluice');
    } catch {
      fail(res, req, new SluiceError('InvalidArgument', 'the request target is not a valid URL'));
      return;
    }
    let found;
    try {
      found = router.match(req.method ?? 'GET', url.pathname);
    } catch (error) {
      if (onDataPlane(listening, req)) fail(res, req, notHere());
      else if (url.pathname.startsWith(FC_PREFIX)) parts.fcApi.refuse(req, res, error);
      else fail(res, req, error);
      return;
    }
    const { plane, serve } = found.route.handler;
    if (plane === 'data' && listening !== 'all' && !onDataPlane(listening, req)) {
      fail(
        res,
        req,
        elsewhere(
          'HTTP triggers and API stages',
          dataPlane.publicHost === undefined
            ? `port ${parts.dataPlanePort()}`
            : `host ${dataPlane.publicHost}`,
        ),
      );
      return;
    }
    if (plane === 'control' && onDataPlane(listening, req)) {
      fail(res, req, notHere());
      return;
    }
    serve(req, res, url, found);
  };

  function notHere(): SluiceError {
    return elsewhere('The console and the /v1 API', 'its control address, apart from tenant content');
  }
}
