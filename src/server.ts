import { totalmem } from 'node:os';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createApi } from './api/api.js';
import { serveConsole } from './console/serve.js';
import { ensureAdminToken } from './auth/tokens.js';
import { CredentialVerifier } from './auth/credentials.js';
import { loadCredentialKeys } from './auth/credential-key.js';
import { resealAccessKeys } from './auth/issue.js';
import { Sealer } from './auth/seal.js';
import { DEFAULT_CODE_LIMITS, type CodeLimits } from './core/code-package.js';
import { dataPlaneBase, type DataPlaneAddress } from './core/data-plane.js';
import { SluiceError } from './core/errors.js';
import { authorize } from './core/credentials.js';
import { Catalog } from './gateway/catalog.js';
import { LATEST_VERSION_ID } from './core/qualifier.js';
import { createGateway } from './gateway/gateway.js';
import { createFcApi } from './fc/fc-api.js';
import { createScfApi } from './scf/scf-api.js';
import { CatalogSync } from './gateway/sync.js';
import { createHealth } from './health/health.js';
import { edgeHandler } from './edges.js';
import { InvocationOutput } from './logs/invocation-output.js';
import { DEFAULT_STORE_LOG_FEED_OPTIONS, StoreLogFeed } from './logs/store-log-feed.js';
import { DEFAULT_RECORDER_OPTIONS, TelemetryRecorder } from './metrics/recorder.js';
import { renderPrometheus } from './metrics/prometheus.js';
import { MetricsRegistry } from './metrics/registry.js';
import {
  type ControllerOptions,
  DEFAULT_CONTROLLER_OPTIONS,
  RolloutController,
} from './rollouts/controller.js';
import { RolloutEngine } from './rollouts/engine.js';
import {
  AsyncDispatcher,
  DEFAULT_DISPATCHER_OPTIONS,
  DEFAULT_SAFETY_POLL_MS,
  type DispatcherOptions,
} from './async/dispatcher.js';
import { deliverRecord } from './async/deliver.js';
import { TimerScheduler } from './triggers/timers.js';
import { QueueTriggers } from './triggers/queues.js';
import { nats } from './triggers/nats.js';
import { TriggerDirectory } from './triggers/directory.js';
import type { Changed, LogFeed } from './api/context.js';
import { ZipWorkers } from './code/zip-workers.js';
import { CodeCache, DEFAULT_CODE_CACHE_BYTES } from './runtime/code-cache.js';
import { prepareCodeCacheRoot } from './runtime/code-cache-root.js';
import { defaultRunAs, processLauncher } from './runtime/launcher.js';
import {
  describeRuntimes,
  findInterpreters,
  type InterpreterPaths,
  runtimeProblem,
} from './runtime/launchers.js';
import { type Runtime, RUNTIMES } from './core/function-config.js';
import { InstancePool, type PoolLimits } from './runtime/pool.js';
import { Provisioner } from './runtime/provisioner.js';
import { DEFAULT_ISOLATION, type IsolationOptions, Sandbox } from './runtime/sandbox/sandbox.js';
import { describeIsolation, isFullyIsolated, type IsolationReport } from './core/isolation.js';
import { openStore } from './store/open-store.js';
import { countedStore } from './store/counted.js';
import type { Store } from './store/store.js';
import { runNamedSteps } from './timing/named-steps.js';

export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  /** A `postgres://` URL for a store shared by several nodes; by default the SQLite store in `dataDir`. */
  store?: string;
  /**
   * The keys that seal access-key secrets, from a file or the text of `SLUICE_CREDENTIAL_KEY`; by default
   * `<dataDir>/credential-key`, made on the first start. Nodes sharing a store must share them.
   */
  credentialKey?: { file?: string; env?: string };
  /** How often the routing table is reloaded whole, besides the changes it hears of. */
  resyncMs?: number;
  codeLimits?: CodeLimits;
  /** Extracted code kept on disk; beyond it, what no instance runs goes, least recently used first. */
  codeCacheBytes?: number;
  pool?: Partial<PoolLimits>;
  /** Metrics and stored logs; off only to measure what they cost. */
  telemetry?: boolean;
  rollouts?: ControllerOptions;
  /** How this node runs the asynchronous invocation queue (`safetyPollMs` counts only on a shared store). */
  async?: Partial<DispatcherOptions>;
  /** Standby runtime processes kept per runtime and sandbox profile that cold starts have used (0: none). */
  standbys?: number;
  /** Interpreters the operator names (`--python`, `--php`); the others are looked for. */
  interpreters?: InterpreterPaths;
  /** How instances are kept apart; by default sandboxed where the host allows. */
  isolation?: Partial<IsolationOptions>;
  /** Triggers and stages on a port or host name of their own, so that tenant pages never share the console's origin. */
  dataPlane?: DataPlaneAddress;
  http?: Partial<HttpLimits>;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  /** Where triggers and stages are served: `url` itself unless they have a port or host of their own. */
  dataPlaneUrl: string;
  store: Store;
  /** Where the admin token was written, when this start created it. */
  adminTokenFile: string | undefined;
  isolation: IsolationReport;
  /** Stops taking requests, lets invocations in flight finish, then stops every instance. */
  close(): Promise<void>;
}

/**
 * Three quarters of the memory this process may use (the machine's, or its cgroup's when that is less): the
 * rest is the server's own, the page cache's and the system's.
 */
function defaultInstanceMemoryMb(): number {
  const constrained = process.constrainedMemory();
  const available = constrained > 0 ? Math.min(constrained, totalmem()) : totalmem();
  return Math.floor((available * 0.75) / (1024 * 1024));
}

export const DEFAULT_POOL_LIMITS: PoolLimits = {
  maxInstancesPerFunction: 10,
  maxQueuePerFunction: 100,
  maxInstanceMemoryMb: defaultInstanceMemoryMb(),
  idleMs: 5 * 60_000,
  drainMs: 30_000,
};

export const DEFAULT_RESYNC_MS = 30_000;

/**
 * One standby per runtime profile in use: a cold start usually comes alone (a new version, one more instance),
 * and the standby it takes is replaced within an interpreter's start; each one holds an idle interpreter's
 * memory (10–40 MB) and a cgroup. A burst of cold starts of one runtime beyond it starts processes of their own.
 */
export const DEFAULT_STANDBYS = 1;

/** What one connection may hold of the server; Node's own defaults would let a slow client keep one for minutes. */
export interface HttpLimits {
  /** From a connection's first byte to the end of a request's headers. */
  headersTimeoutMs: number;
  /** From a request's first byte to the end of its body (the answer is not counted: functions may run long). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept. */
  keepAliveTimeoutMs: number;
  /** Connections held at once per listening port; beyond, new ones are closed at once. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 2048,
};

const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** The one place that wires the store, the control plane, the data plane and the HTTP listener together. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const isolationOptions = { ...DEFAULT_ISOLATION, ...options.isolation };
  const { sandbox, report: isolation } = await Sandbox.detect(isolationOptions);
  if (isolationOptions.mode === 'required' && !isFullyIsolated(isolation)) {
    await sandbox?.close();
    throw new SluiceError(
      'InvalidArgument',
      `--isolation required, but this host gives no sandbox with kernel limits: ${isolation.problems.join('; ')}`,
    );
  }
  log(describeIsolation(isolation));
  const interpreters = findInterpreters(options.interpreters);
  log(describeRuntimes(interpreters, RUNTIMES));
  if (!sandbox && process.getuid?.() !== 0)
    log(
      `warning: unsandboxed functions run as this server's user and can read ${options.dataDir}, its token included`,
    );
  // The database holds every function's code and the token hashes: nothing the server writes is for others.
  process.umask(0o077);
  // This process among the nodes that share a store: its metric rows, rollout leases and connections carry it.
  const node = randomUUID();
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const opened = await openStore(options.store, { dataDir: options.dataDir, node, log });
  const storeOperations = new Map<string, number>();
  const store = countedStore(opened.store, storeOperations);
  if (opened.kind !== 'sqlite') log(`node ${node}: state in ${opened.description}`);
  // Unsandboxed instances run as another user and must reach their code under the data directory, without
  // listing it; sandboxed ones see their code through the sandbox's mounts, and the directory stays closed.
  await chmod(options.dataDir, sandbox ? 0o700 : 0o711);
  const clock = () => new Date();
  const adminTokenFile = await ensureAdminToken(store, options.dataDir, clock());
  const credentialKeys = await loadCredentialKeys({
    dataDir: options.dataDir,
    ...options.credentialKey,
  }).catch(async (error: unknown) => {
    await sandbox?.close();
    await store.close();
    throw error;
  });
  if (credentialKeys.created && opened.kind !== 'sqlite')
    log(
      `warning: made a credential key of this node's own in ${credentialKeys.source}: access keys made on another node will not work here. Give every node the same key (--credential-key-file or SLUICE_CREDENTIAL_KEY)`,
    );
  const sealer = new Sealer(credentialKeys.keys);
  // The second step of a rotation: what an older key sealed is sealed again with the first.
  const resealed = await resealAccessKeys(store, sealer).catch((error: unknown) => {
    log(`warning: could not reseal access keys with the current credential key: ${String(error)}`);
    return 0;
  });
  if (resealed > 0) log(`resealed ${resealed} access keys with the first credential key`);
  const credentials = new CredentialVerifier(store, sealer);
  const catalog = new Catalog(store);

  const runAs = sandbox ? undefined : defaultRunAs();
  const codeRoot = await prepareCodeCacheRoot(options.dataDir, runAs !== undefined, log).catch(
    async (error: unknown) => {
      // Nothing else has started yet: with these closed, a refused start lets the process end.
      await sandbox?.close();
      await store.close();
      throw error;
    },
  );
  const zipWorkers = new ZipWorkers();
  const codeCache = new CodeCache(
    codeRoot,
    options.codeCacheBytes ?? DEFAULT_CODE_CACHE_BYTES,
    zipWorkers,
    log,
  );
  await codeCache.init();
  const output = new InvocationOutput(DEFAULT_RECORDER_OPTIONS.maxLogBytes);
  const metrics = new MetricsRegistry(node);
  const telemetry = new TelemetryRecorder(store, metrics, DEFAULT_RECORDER_OPTIONS, log);
  if (options.telemetry !== false) telemetry.start();
  const poolLimits = { ...DEFAULT_POOL_LIMITS, ...options.pool };
  const launcher = processLauncher({
    codeCache,
    interpreters,
    limits: { startTimeoutMs: 10_000, maxResponseBytes: MAX_PAYLOAD_BYTES, memoryPollMs: 100 },
    loadCode: async (sha256) => {
      const zip = await store.getCode(sha256);
      if (!zip) throw new SluiceError('InternalError', `code ${sha256} is missing from the store`);
      return zip;
    },
    onLog: (line, version) => {
      // An invocation's output goes with its record; the rest (at load time, from the instance's own timers,
      // after its invocation ended) is the instance's own.
      if (line.requestId !== undefined && output.append(line.requestId, line.text)) return;
      if (options.telemetry === false) return;
      telemetry.instanceOutput({
        at: Date.now(),
        functionName: version.functionName,
        versionId: version.versionId,
        ...line,
        requestId: undefined,
      });
    },
    sandbox,
    runAs,
    standbys: { size: options.standbys ?? DEFAULT_STANDBYS, idleMs: poolLimits.idleMs },
    log,
  });
  const pool = new InstancePool(poolLimits, launcher.launch);
  const resyncMs = options.resyncMs ?? DEFAULT_RESYNC_MS;
  // Eight beats per resync, a node gone after three missed: a node that died is seen gone at most half a
  // resync later, which leaves the other half to start its share elsewhere.
  const heartbeatMs = Math.max(100, Math.round(resyncMs / 8));
  const provisioner = new Provisioner({
    store,
    pool,
    snapshot: (name) => catalog.get(name),
    node,
    shared: opened.kind !== 'sqlite',
    heartbeatMs,
    expireMs: 3 * heartbeatMs,
    log,
  });

  // What sleeps until something changes: the timers, the queue consumers and the rollouts (made further down).
  const followers = { functionChanged: (_name: string): void => undefined, reloaded: (): void => undefined };
  const sync = new CatalogSync(catalog, opened.changes, {
    resyncMs,
    log,
    credentials,
    reloaded: () => {
      followers.reloaded();
    },
    applied: (change) => {
      if (change.kind !== 'function') return;
      followers.functionChanged(change.name);
      provisioner.changed();
      // Series of deleted functions and versions go, so that the label sets stay bounded.
      const snapshot = catalog.get(change.name);
      metrics.forget(
        change.name,
        (versionId) =>
          snapshot !== undefined &&
          (versionId === LATEST_VERSION_ID || snapshot.versions.has(Number(versionId))),
      );
    },
  });
  await sync.start();
  await provisioner.start();
  const changed = (what: Changed) =>
    sync.committed(
      'api' in what
        ? { kind: 'api', name: what.api }
        : 'credential' in what
          ? { kind: 'credential', name: what.credential }
          : { kind: 'function', name: what.function },
    );
  // A follower reads the store, where the lines of every node are, each with the id that it resumes from.
  // The embedded store has only this node's, written every flush: it is asked as often.
  const logFeed: LogFeed = new StoreLogFeed(
    store,
    opened.kind === 'sqlite'
      ? { ...DEFAULT_STORE_LOG_FEED_OPTIONS, pollMs: DEFAULT_RECORDER_OPTIONS.flushMs }
      : DEFAULT_STORE_LOG_FEED_OPTIONS,
    log,
  );
  const health = createHealth({
    node,
    storeKind: opened.kind,
    probeStore: () => store.countTokens(),
    sync: () => sync.status(),
    changeFeed: () => opened.changes.status(),
    routes: () => catalog.counts(),
    instances: () => pool.stats(),
    provisioned: () => ({ nodes: provisioner.liveNodes(), instances: provisioner.report() }),
    isolation,
  });
  const dataPlane = options.dataPlane ?? {};
  const split = dataPlane.port !== undefined || dataPlane.publicHost !== undefined;
  if (!split)
    log(
      "warning: HTTP triggers share the console's origin; their pages are served sandboxed (CSP). Give them their own with --data-plane-port or --public-host",
    );

  // The name this data directory's node claims rollouts and queued events under, across restarts.
  const stableNode = await persistentNodeId(options.dataDir);
  // The gateway queues events through the dispatcher, which runs them through the gateway: made right after.
  const queueing: { dispatcher?: AsyncDispatcher } = {};
  const gateway = createGateway({
    catalog,
    pool,
    credentials,
    output,
    telemetry: options.telemetry === false ? { record: () => undefined } : telemetry,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    enqueue: (event) =>
      queueing.dispatcher
        ? queueing.dispatcher.enqueue(event)
        : Promise.reject(new SluiceError('ServiceUnavailable', 'the server is starting')),
    sharedOrigin: !split,
    log,
  });
  const asyncQueue = new AsyncDispatcher({
    store,
    node: stableNode,
    invoke: (event) => gateway.invokeEvent(event),
    config: (name) => catalog.get(name)?.async,
    deliver: deliverRecord,
    options: {
      ...DEFAULT_DISPATCHER_OPTIONS,
      ...options.async,
      // Alone on its store a node queues every event itself and needs no look without a notice.
      safetyPollMs:
        opened.kind === 'sqlite' ? undefined : (options.async?.safetyPollMs ?? DEFAULT_SAFETY_POLL_MS),
    },
    log,
  });
  queueing.dispatcher = asyncQueue;
  opened.changes.onQueued(() => {
    asyncQueue.wake();
  });
  await asyncQueue.start();
  const triggers = new TriggerDirectory(store, log);
  // Wired before the first read, so that no change is missed between the two; the rollouts' controller, made
  // below, reads the store when it starts.
  const wakeRollouts = { now: (): void => undefined };
  followers.functionChanged = (name) => {
    triggers.functionChanged(name);
    wakeRollouts.now();
  };
  followers.reloaded = () => {
    triggers.reload();
    wakeRollouts.now();
  };
  await triggers.start();
  const timers = new TimerScheduler(
    store,
    triggers,
    () => {
      asyncQueue.wake();
    },
    log,
  );
  timers.start();
  const queues = new QueueTriggers({
    triggers,
    node: stableNode,
    invoke: (event) => gateway.invokeEvent(event),
    config: (name) => catalog.get(name)?.async,
    failed: (destination, record) => asyncQueue.sendRecord(destination, record, String(record.requestId)),
    brokers: { nats },
    log,
  });
  queues.start();
  const rollouts = new RolloutEngine({
    store,
    clock,
    changed: (name) => changed({ function: name }),
    invokeVersion: (name, version, payload) => gateway.invokeVersion(name, version, payload),
  });
  const controller = new RolloutController(
    store,
    rollouts,
    stableNode,
    options.rollouts ?? DEFAULT_CONTROLLER_OPTIONS,
    log,
  );
  controller.start();
  wakeRollouts.now = () => {
    controller.wake();
  };
  // The data plane's port is filled in once it listens (`--data-plane-port 0` takes a free one).
  const serverInfo = { node, isolation, dataPlane: split ? { ...dataPlane } : null };
  const api = createApi({
    store,
    logFeed,
    credentials,
    sealer,
    rollouts,
    changed,
    codeLimits: options.codeLimits ?? DEFAULT_CODE_LIMITS,
    zipWorkers,
    clock,
    server: serverInfo,
    runtimeProblem: (runtime) => runtimeProblem(runtime, interpreters),
  });
  /** What the vendors' APIs share: the control plane's services, access keys, and what they tell the data plane. */
  const vendorApi = {
    api: {
      store,
      codeLimits: options.codeLimits ?? DEFAULT_CODE_LIMITS,
      zipWorkers,
      clock,
      runtimeProblem: (runtime: Runtime) => runtimeProblem(runtime, interpreters),
    },
    accessKeys: credentials,
    authorize,
    changed,
    maxPayloadBytes: MAX_PAYLOAD_BYTES,
    log,
  };
  const fcApi = createFcApi({
    ...vendorApi,
    invoke: (req, res, url, target, wire) => gateway.invokeThrough(req, res, url, target, wire),
  });
  const scfApi = createScfApi({ ...vendorApi, invoke: (call, how) => gateway.invokeEvent(call, how) });

  const handle = edgeHandler({
    api,
    fcApi,
    scfApi,
    gateway,
    health,
    console: serveConsole,
    metrics: async (req, res) => {
      // Every function's series: not for a credential limited to some of them.
      authorize(await credentials.authenticate(req), 'deploy');
      const body = renderPrometheus(metrics.series(), pool.stats(), launcher.standbys(), storeOperations);
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(body);
    },
    dataPlane,
    dataPlanePort: () => serverInfo.dataPlane?.port,
    log,
  });

  /** What runs behind the listeners, stopped once they no longer take requests (or never could). */
  const stopServices = async () => {
    await timers.close();
    await queues.close();
    await triggers.close();
    await asyncQueue.close();
    await provisioner.close();
    await zipWorkers.close();
    await controller.close();
    await telemetry.close();
    await sync.close();
    await store.close();
  };
  const limits = { ...DEFAULT_HTTP_LIMITS, ...options.http };
  let control: Listener | undefined;
  let data: Listener | undefined;
  try {
    control = await listen(options.host, options.port, limits, (req, res) => {
      handle(split ? 'control' : 'all', req, res);
    });
    if (dataPlane.port !== undefined) {
      data = await listen(options.host, dataPlane.port, limits, (req, res) => {
        handle('data', req, res);
      });
    }
  } catch (error) {
    // A port taken by another server, say: nothing of this one may linger and keep the process alive.
    await control?.close();
    await pool.destroy();
    await launcher.close();
    await sandbox?.close();
    await stopServices();
    throw error;
  }
  const listening = [control, ...(data ? [data] : [])];
  if (data && serverInfo.dataPlane) serverInfo.dataPlane.port = data.port;
  const url = control.url;

  return {
    url,
    dataPlaneUrl: data?.url ?? dataPlaneBase(url, dataPlane),
    store,
    adminTokenFile,
    isolation,
    async close() {
      const closed = Promise.all(listening.map((l) => l.close()));
      await runNamedSteps(
        [
          // The other nodes take this one's share at once, before its instances stop.
          ['provisioned instances', () => provisioner.close()],
          // Events in flight end and are recorded before the instances they run on stop.
          ['timer triggers', () => timers.close()],
          ['queue triggers', () => queues.close()],
          ['asynchronous invocations', () => asyncQueue.close()],
          ['instances', () => pool.close()],
          ['standby processes', () => launcher.close()],
          ['the sandbox', () => sandbox?.close()],
          [
            'connections',
            () => {
              for (const l of listening) l.server.closeAllConnections();
              return closed;
            },
          ],
          ['the store and telemetry', stopServices],
        ],
        (line) => {
          log(`shutdown: ${line}`);
        },
      );
    },
  };
}

interface Listener {
  server: Server;
  url: string;
  port: number;
  /** Stops accepting, closes idle connections, and resolves when the last connection has gone. */
  close(): Promise<void>;
}

async function listen(
  host: string,
  port: number,
  limits: HttpLimits,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Listener> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above only this often; its default of 30 s would triple a short one.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shown}:${address.port}`,
    port: address.port,
    close() {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      server.closeIdleConnections();
      return closed;
    },
  };
}

/**
 * The name this data directory's node drives rollouts under. It outlives the process, so that a node
 * restarted mid-rollout takes its own lease back at once instead of waiting for it to expire.
 */
async function persistentNodeId(dataDir: string): Promise<string> {
  const file = join(dataDir, 'node-id');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const id = randomUUID();
    await writeFile(file, `${id}\n`, { mode: 0o600 });
    return id;
  }
}
