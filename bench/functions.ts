/** The functions the rows call, set up through the API as a user would, and what the rows read back. */
import type { ApiCall } from '../test/support/api-client.js';
import { SEED_NODE_HANDLER, zipOf } from '../test/support/code.js';
import type { SluiceProcess } from '../test/support/server-process.js';
import { CSHARP_HANDLER, CUSTOM_BOOTSTRAP, NODE_HANDLER, PHP_HANDLER, PYTHON_HANDLER } from './handler.js';
import { BODY } from './settings.js';
import type { LoadOptions } from './wrk.js';

export type Target = Omit<LoadOptions, 'connections' | 'seconds'>;

/**
 * What rows marked tuned set: one instance takes every connection, as the bare server does, so that they
 * compare paths rather than process counts. No user of the defaults gets it.
 */
export const TUNED = { instanceConcurrency: 100 } as const;
export const TUNED_LABEL = `tuned: instanceConcurrency ${TUNED.instanceConcurrency}`;

export async function ok(call: Promise<{ status: number; body: unknown }>, what: string): Promise<void> {
  const res = await call;
  if (res.status >= 300) throw new Error(`${what} failed: ${res.status} ${JSON.stringify(res.body)}`);
}

export interface Handler {
  runtime: 'nodejs20' | 'python3' | 'php8.2' | 'csharp' | 'custom';
  /** `index.handler` unless said. */
  handler?: string;
  file: string;
  source: string;
  comment: string;
  /** The file is a program (a custom runtime's bootstrap). */
  executable?: boolean;
}

export const BENCH_NODE: Handler = {
  runtime: 'nodejs20',
  file: 'index.js',
  source: NODE_HANDLER,
  comment: '//',
};
export const BENCH_PYTHON: Handler = {
  runtime: 'python3',
  file: 'index.py',
  source: PYTHON_HANDLER,
  comment: '#',
};
export const BENCH_PHP: Handler = {
  runtime: 'php8.2',
  file: 'index.php',
  source: PHP_HANDLER,
  comment: '//',
};
export const BENCH_CSHARP: Handler = {
  runtime: 'csharp',
  handler: 'Bench::Bench.Handler::Handle',
  file: 'Bench.cs',
  source: CSHARP_HANDLER,
  comment: '//',
};
export const BENCH_CUSTOM: Handler = {
  runtime: 'custom',
  file: 'bootstrap',
  source: CUSTOM_BOOTSTRAP,
  comment: '#',
  executable: true,
};
/** The seeds' sample, which writes two log lines per invocation. */
export const SEED_NODE: Handler = {
  runtime: 'nodejs20',
  file: 'index.js',
  source: SEED_NODE_HANDLER,
  comment: '//',
};

/** A function with two versions of the handler and a 10 % canary alias `canary` on them. */
export async function setUpCanary(
  api: ApiCall,
  name: string,
  handler: Handler,
  config: Partial<typeof TUNED> = {},
): Promise<void> {
  await ok(
    api('POST', '/v1/functions', {
      name,
      runtime: handler.runtime,
      handler: handler.handler ?? 'index.handler',
      ...config,
    }),
    name,
  );
  for (const tag of ['v1', 'v2']) {
    const code = await zipOf(
      { [handler.file]: `${handler.source}\n${handler.comment} ${tag}\n` },
      handler.executable ? [handler.file] : [],
    );
    await ok(api('PUT', `/v1/functions/${name}/code`, code), `${name} code`);
    await ok(api('POST', `/v1/functions/${name}/versions`), `${name} publish`);
  }
  await ok(
    api('PUT', `/v1/functions/${name}/aliases/canary`, {
      version: '1',
      canary: { version: '2', weight: 0.1 },
    }),
    `${name} canary`,
  );
}

/** A POST through a function's HTTP trigger. */
export const triggerLoad = (
  sluice: SluiceProcess,
  name: string,
  qualifier = 'canary',
  headers: Record<string, string> = {},
): Target => ({
  url: `${sluice.url}/fn/${name}/${qualifier}/hello`,
  method: 'POST',
  body: BODY,
  headers: { authorization: `Bearer ${sluice.token}`, ...headers },
});

/** Instances the server has started since it began, every function's: `sluice_cold_starts_total` summed. */
export async function coldStartsTotal(sluice: SluiceProcess): Promise<number> {
  const res = await fetch(`${sluice.url}/metrics`, { headers: { authorization: `Bearer ${sluice.token}` } });
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  let total = 0;
  for (const [, value] of (await res.text()).matchAll(/^sluice_cold_starts_total\{[^}]*\} (\d+)$/gm)) {
    total += Number(value);
  }
  return total;
}

/** The fields of `GET /readyz` the rows read. */
export interface Readiness {
  routing: { resyncs: number; functions: number };
  instances: { total: number };
}

export async function readiness(url: string): Promise<Readiness> {
  const res = await fetch(`${url}/readyz`);
  return (await res.json()) as Readiness;
}
