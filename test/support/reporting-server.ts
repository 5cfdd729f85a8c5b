import { apiClient, type ApiCall } from './api-client.js';
import { createFunctions, zipOf } from './code.js';
import { startCollector, type Collector } from './collector.js';
import { makeDataDir, startSluice, type SluiceProcess } from './server-process.js';

/**
 * A `sluice server` on a data directory of its own with function f (Node.js), whose handler reports what ran
 * to a collector of its own, at the port its environment names `COLLECTOR`: the set-up of the tests that count
 * runs from the functions' side, on one node.
 */
export interface ReportingServer {
  collector: Collector;
  dataDir: string;
  server: SluiceProcess;
  api: ApiCall;
  /** Starts the server again on its data directory, once the test has stopped it: `server` and `api` follow. */
  restart(): Promise<void>;
  /** Stops the server and the collector, and removes the data directory. */
  close(): Promise<void>;
}

export interface ReportingOptions {
  /** f's timeout in seconds (the API's default if not given). */
  timeout?: number;
  /** f's environment beside `COLLECTOR`. */
  environment?: Record<string, string>;
}

/** Creates f (Node.js) through `api`, with `handler` as its index.js, reporting to `collector`. */
export async function createReportingFunction(
  api: ApiCall,
  collector: Collector,
  handler: string,
  { timeout, environment = {} }: ReportingOptions = {},
): Promise<void> {
  await createFunctions(api, [
    [
      'f',
      await zipOf({ 'index.js': handler }),
      {
        runtime: 'nodejs20',
        ...(timeout === undefined ? {} : { timeout }),
        environmentVariables: { COLLECTOR: String(collector.port), ...environment },
      },
    ],
  ]);
}

/** Starts the collector and the server, and creates f with `handler` as its index.js. */
export async function startReportingServer(
  handler: string,
  options: ReportingOptions = {},
): Promise<ReportingServer> {
  const collector = await startCollector();
  const dir = await makeDataDir();
  let server: SluiceProcess | undefined;
  const close = async () => {
    await server?.stop().catch(() => undefined);
    await collector.close();
    await dir.remove();
  };
  try {
    server = await startSluice(dir.dataDir);
    const api = apiClient(server.url, server.token);
    await createReportingFunction(api, collector, handler, options);
    const fixture: ReportingServer = {
      collector,
      dataDir: dir.dataDir,
      server,
      api,
      restart: async () => {
        server = await startSluice(dir.dataDir);
        fixture.server = server;
        fixture.api = apiClient(server.url, server.token);
      },
      close,
    };
    return fixture;
  } catch (error) {
    await close();
    throw error;
  }
}
