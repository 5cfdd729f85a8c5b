import type { ServerResponse } from 'node:http';
import { sendJson } from '../http/respond.js';
import type { IsolationReport } from '../core/isolation.js';
import type { ChangeFeedStatus } from '../store/changes.js';
import type { StoreKind } from '../store/open-store.js';
import type { SyncStatus } from '../gateway/sync.js';
import type { ProvisionedReport } from '../core/provisioned.js';

export interface HealthDeps {
  node: string;
  storeKind: StoreKind;
  /** A cheap read of the store: resolves when it answers. */
  probeStore: () => Promise<unknown>;
  sync: () => SyncStatus;
  changeFeed: () => ChangeFeedStatus;
  routes: () => { functions: number; apis: number };
  instances: () => readonly { instances: number; busy: number; provisioned: number }[];
  /** The nodes that divide provisioned instances, and what this one runs of them. */
  provisioned: () => { nodes: readonly string[]; instances: readonly ProvisionedReport[] };
  isolation: IsolationReport;
  probeTimeoutMs?: number;
}

const iso = (at: number | undefined): string | null => (at === undefined ? null : new Date(at).toISOString());

/**
 * `GET /healthz`: the process answers (liveness). `GET /readyz`: this node can serve as the others do — its
 * store answers and its routing table is in sync (readiness) — with what it knows of both. Neither needs a
 * token: load balancers call them.
 */
export function createHealth(deps: HealthDeps): {
  liveness: (res: ServerResponse) => void;
  readiness: (res: ServerResponse) => Promise<void>;
} {
  const timeoutMs = deps.probeTimeoutMs ?? 2000;
  let probing: Promise<{ reachable: boolean; error?: string }> | undefined;

  /** One probe at a time, however many callers: a store that hangs is not asked again and again. */
  const probe = () => {
    probing ??= (async () => {
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          deps.probeStore(),
          new Promise((_, reject) => {
            timer = setTimeout(() => {
              reject(new Error(`no answer within ${timeoutMs} ms`));
            }, timeoutMs);
          }),
        ]);
        return { reachable: true };
      } catch (error) {
        return { reachable: false, error: error instanceof Error ? error.message : String(error) };
      } finally {
        clearTimeout(timer);
        probing = undefined;
      }
    })();
    return probing;
  };

  return {
    liveness(res) {
      sendJson(res, 200, { status: 'ok' }, { 'cache-control': 'no-store' });
    },

    async readiness(res) {
      const store = await probe();
      const sync = deps.sync();
      const feed = deps.changeFeed();
      const now = Date.now();
      const ready = store.reachable && sync.synced;
      const instances = deps.instances();
      sendJson(
        res,
        ready ? 200 : 503,
        {
          status: ready ? 'ready' : 'unready',
          node: deps.node,
          store: {
            kind: deps.storeKind,
            reachable: store.reachable,
            ...(store.error !== undefined && { error: store.error }),
          },
          routing: {
            synced: sync.synced,
            lastSyncAt: iso(sync.lastSyncAt),
            syncAgeMs: sync.lastSyncAt === undefined ? null : now - sync.lastSyncAt,
            resyncs: sync.resyncs,
            failedResyncs: sync.failing,
            lastError: sync.lastError ?? null,
            ...deps.routes(),
          },
          changeFeed: {
            kind: feed.kind,
            connected: feed.connected,
            connectedAt: iso(feed.connectedAt),
            reconnects: feed.reconnects,
            unannounced: feed.unannounced,
            lastError: feed.lastError ?? null,
          },
          instances: {
            total: instances.reduce((n, v) => n + v.instances, 0),
            busy: instances.reduce((n, v) => n + v.busy, 0),
            provisioned: instances.reduce((n, v) => n + v.provisioned, 0),
            versions: instances.length,
          },
          provisioned: deps.provisioned(),
          isolation: deps.isolation,
        },
        { 'cache-control': 'no-store' },
      );
    },
  };
}
