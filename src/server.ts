import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { createApi } from './api/api.js';
import { ensureAdminToken, TokenVerifier } from './auth/tokens.js';
import { DEFAULT_CODE_LIMITS, type CodeLimits } from './core/code-package.js';
import { SluiceError } from './core/errors.js';
import { Catalog, LATEST_VERSION_ID } from './gateway/catalog.js';
import { createGateway } from './gateway/gateway.js';
import { REQUEST_ID_HEADER, sendError } from './http/respond.js';
import { LogBuffer } from './logs/log-buffer.js';
import { DEFAULT_RECORDER_OPTIONS, TelemetryRecorder } from './metrics/recorder.js';
import { renderPrometheus } from './metrics/prometheus.js';
import { MetricsRegistry } from './metrics/registry.js';
import {
  type ControllerOptions,
  DEFAULT_CONTROLLER_OPTIONS,
  RolloutController,
} from './rollouts/controller.js';
import { RolloutEngine } from './rollouts/engine.js';
import type { Changed } from './api/context.js';
import { CodeCache } from './runtime/code-cache.js';
import { defaultRunAs, processLauncher } from './runtime/launcher.js';
import { findInterpreters } from './runtime/launchers.js';
import { InstancePool, type PoolLimits } from './runtime/pool.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  codeLimits?: CodeLimits;
  pool?: Partial<PoolLimits>;
  /** Metrics and stored logs; off only to measure what they cost. */
  telemetry?: boolean;
  rollouts?: ControllerOptions;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  store: Store;
  /** Where the admin token was written, when this start created it. */
  adminTokenFile: string | undefined;
  /** Stops taking requests, lets invocations in flight finish, then stops every instance. */
  close(): Promise<void>;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = {
  maxInstancesPerFunction: 10,
  maxQueuePerFunction: 100,
  idleMs: 5 * 60_000,
  drainMs: 30_000,
};

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;
const INVOCATIONS = /^\/v1\/functions\/([^/]+)\/invocations$/;
const TRIGGER = /^\/fn\/([^/]+)\/([^/]+)(\/.*)?$/;
const STAGE = /^\/gw\/([^/]+)\/([^/]+)(\/.*)?$/;

/** A malformed escape is left as it is: the name then fails validation with a clear error. */
function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The one place that wires the store, the control plane, the data plane and the HTTP listener together. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  // The database holds every function's code and the token hashes: nothing the server writes is for others.
  process.umask(0o077);
  const store = SqliteStore.open(options.dataDir);
  // Instances run as another user and must reach their code under the data directory, without listing it.
  await chmod(options.dataDir, 0o711);
  const clock = () => new Date();
  // This process among the nodes that share a store: its metric rows and rollout leases carry it.
  const node = randomUUID();
  const adminTokenFile = await ensureAdminToken(store, options.dataDir, clock());
  const tokens = new TokenVerifier(store);
  const catalog = new Catalog(store);
  await catalog.loadAll();

  const codeCache = new CodeCache(join(options.dataDir, 'code'));
  await codeCache.init();
  const logs = new LogBuffer(64 * 1024 * 1024);
  const metrics = new MetricsRegistry(node);
  const telemetry = new TelemetryRecorder(store, metrics, logs, DEFAULT_RECORDER_OPTIONS, log);
  if (options.telemetry !== false) telemetry.start();
  const launch = processLauncher({
    codeCache,
    interpreters: findInterpreters(),
    limits: { startTimeoutMs: 10_000, maxResponseBytes: MAX_PAYLOAD_BYTES, memoryPollMs: 100 },
    loadCode: async (sha256) => {
      const zip = await store.getCode(sha256);
      if (!zip) throw new SluiceError('InternalError', `code ${sha256} is missing from the store`);
      return zip;
    },
    onLog: (line, version) => {
      const record = {
        at: Date.now(),
        functionName: version.functionName,
        versionId: version.versionId,
        ...line,
      };
      logs.append(record);
      if (record.requestId === undefined && options.telemetry !== false) telemetry.instanceOutput(record);
    },
    runAs: defaultRunAs(),
  });
  const pool = new InstancePool({ ...DEFAULT_POOL_LIMITS, ...options.pool }, launch);

  const changed = async (what: Changed) => {
    if ('api' in what) {
      await catalog.refreshApi(what.api);
      return;
    }
    const name = what.function;
    await catalog.refresh(name);
    // Series of deleted functions and versions go, so that the label sets stay bounded.
    const snapshot = catalog.get(name);
    metrics.forget(
      name,
      (versionId) => versionId === LATEST_VERSION_ID || snapshot?.versions.has(Number(versionId)) === true,
    );
  };
  const gateway = createGateway({
    catalog,
    pool,
    tokens,
    logs,
    telemetry: options.telemetry === false ? { record: () => undefined } : telemetry,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    log,
  });
  const rollouts = new RolloutEngine({
    store,
    clock,
    changed: (name) => changed({ function: name }),
    invokeVersion: (name, version, payload) => gateway.invokeVersion(name, version, payload),
  });
  const controller = new RolloutController(
    store,
    rollouts,
    node,
    options.rollouts ?? DEFAULT_CONTROLLER_OPTIONS,
    log,
  );
  controller.start();
  const api = createApi({
    store,
    logFeed: telemetry,
    tokens,
    rollouts,
    changed,
    codeLimits: options.codeLimits ?? DEFAULT_CODE_LIMITS,
    clock,
  });

  const server: Server = createServer((req, res) => {
    const fail = (error: unknown, requestId = randomUUID()) => {
      res.setHeader(REQUEST_ID_HEADER, requestId);
      sendError(res, error, requestId, (e) => {
        log(`error ${requestId} ${req.method ?? ''} ${req.url ?? ''}: ${(e as Error).stack ?? String(e)}`);
      });
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://sluice');
    } catch {
      fail(new SluiceError('InvalidArgument', 'the request target is not a valid URL'));
      return;
    }
    const invocation = INVOCATIONS.exec(url.pathname);
    if (invocation) {
      void gateway.invoke(req, res, url, invocation[1] as string);
      return;
    }
    const stage = STAGE.exec(url.pathname);
    if (stage) {
      const [, api, stageName, rawPath] = stage as unknown as [string, string, string, string | undefined];
      void gateway.stage(
        req,
        res,
        url,
        decodeURIComponentSafe(api),
        decodeURIComponentSafe(stageName),
        rawPath || '/',
      );
      return;
    }
    const trigger = TRIGGER.exec(url.pathname);
    if (trigger) {
      const [, name, qualifier, rawPath] = trigger as unknown as [string, string, string, string | undefined];
      void gateway.trigger(req, res, url, name, decodeURIComponentSafe(qualifier), rawPath || '/');
      return;
    }
    if (url.pathname === '/metrics') {
      tokens.authenticate(req).then(
        () => {
          const body = renderPrometheus(metrics.series(), pool.stats());
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
          res.end(body);
        },
        (error: unknown) => {
          fail(error);
        },
      );
      return;
    }
    if (url.pathname.startsWith('/v1/')) {
      const requestId = randomUUID();
      res.setHeader(REQUEST_ID_HEADER, requestId);
      api.handle(req, res, url).catch((error: unknown) => {
        fail(error, requestId);
      });
      return;
    }
    fail(new SluiceError('RouteNotFound', `no endpoint at ${url.pathname}`));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    store,
    adminTokenFile,
    async close() {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeIdleConnections();
      await pool.close();
      server.closeAllConnections();
      await closed;
      await controller.close();
      await telemetry.close();
      await store.close();
    },
  };
}
