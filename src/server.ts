import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApi } from './api/api.js';
import { ensureAdminToken } from './api/auth.js';
import { DEFAULT_CODE_LIMITS, type CodeLimits } from './core/code-package.js';
import { SluiceError } from './core/errors.js';
import { REQUEST_ID_HEADER, sendError } from './http/respond.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export interface ServerOptions {
  host: string;
  port: number;
  dataDir: string;
  codeLimits?: CodeLimits;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  store: Store;
  /** Where the admin token was written, when this start created it. */
  adminTokenFile: string | undefined;
  close(): Promise<void>;
}

/** The one place that wires the store, the control plane and the HTTP listener together. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const store = SqliteStore.open(options.dataDir);
  const clock = () => new Date();
  const adminTokenFile = await ensureAdminToken(store, options.dataDir, clock());
  const api = createApi({ store, codeLimits: options.codeLimits ?? DEFAULT_CODE_LIMITS, clock });

  const server: Server = createServer((req, res) => {
    const requestId = randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    const fail = (error: unknown) => {
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
    if (url.pathname.startsWith('/v1/') || url.pathname === '/v1') {
      api.handle(req, res, url).catch(fail);
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
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeIdleConnections();
      });
      await store.close();
    },
  };
}
