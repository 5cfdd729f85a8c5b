import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CODE_LIMITS } from '../core/code-package.js';
import { DEFAULT_CODE_CACHE_BYTES } from '../runtime/code-cache.js';
import { DEFAULT_ISOLATION, type IsolationMode } from '../runtime/sandbox/sandbox.js';
import { parseUidRange } from '../runtime/sandbox/uids.js';
import { DEFAULT_POOL_LIMITS, DEFAULT_RESYNC_MS, startServer } from '../server.js';
import { CliError } from './errors.js';

const MB = 1024 * 1024;

const USAGE = `usage: sluice server [--port 9000] [--host 127.0.0.1] [--data-dir ./.sluice] [--max-code-size 50]
                    [--instances-per-function 10] [--queue-per-function 100] [--instance-idle-seconds 300]
                    [--store postgres://…] [--resync-seconds 30] [--telemetry on|off]
                    [--isolation auto|required|none] [--instance-uids FIRST-LAST]
                    [--instance-tmp-size 512] [--instance-pids 64]

  --max-code-size MB            the largest zipped code package accepted (unzipped: ${DEFAULT_CODE_LIMITS.unzippedBytes / MB} MB)
  --code-cache-size MB          extracted code kept on disk (${DEFAULT_CODE_CACHE_BYTES / MB}); beyond it, code no instance runs goes, oldest use first
  --instances-per-function N    instances one function may run at once, all its versions together
  --queue-per-function N        invocations of one function that may wait for an instance; beyond, 429
  --instance-idle-seconds S     an instance with nothing to do for this long is stopped
  --store URL                   a PostgreSQL database shared by several nodes (postgres://…[?schema=NAME]);
                                by default the embedded SQLite store in the data directory (env SLUICE_STORE)
  --resync-seconds S            how often the routing table is reloaded whole, besides the changes it hears of
  --telemetry on|off            off keeps no metrics and no stored logs (to measure what they cost)
  --isolation MODE              auto: each instance in a sandbox (bubblewrap, cgroups) where the host allows,
                                else unsandboxed with a warning; required: refuse to start without both;
                                none: unsandboxed (env SLUICE_ISOLATION)
  --instance-uids FIRST-LAST    the user ids a root server gives functions, one each (default ${DEFAULT_ISOLATION.uids.first}-${DEFAULT_ISOLATION.uids.first + DEFAULT_ISOLATION.uids.count - 1})
  --instance-tmp-size MB        the size of each instance's private /tmp (and /dev/shm); counts against memorySize
  --instance-pids N             processes and threads one instance may have at once`;

function parseMegabytes(flag: string, text: string): number {
  const mb = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || mb <= 0)
    throw new CliError(`${flag} must be a positive number of megabytes, not "${text}"`);
  return Math.round(mb * MB);
}

function parseCount(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min)
    throw new CliError(`${flag} must be an integer of at least ${min}, not "${text}"`);
  return n;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new CliError(`--port must be an integer from 0 to 65535, not "${text}"`);
  return port;
}

export async function serverCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: process.env.SLUICE_PORT ?? '9000' },
      host: { type: 'string', default: process.env.SLUICE_HOST ?? '127.0.0.1' },
      'data-dir': { type: 'string', default: process.env.SLUICE_DATA_DIR ?? './.sluice' },
      'max-code-size': { type: 'string', default: String(DEFAULT_CODE_LIMITS.zipBytes / MB) },
      'code-cache-size': { type: 'string', default: String(DEFAULT_CODE_CACHE_BYTES / MB) },
      'instances-per-function': {
        type: 'string',
        default: String(DEFAULT_POOL_LIMITS.maxInstancesPerFunction),
      },
      'queue-per-function': { type: 'string', default: String(DEFAULT_POOL_LIMITS.maxQueuePerFunction) },
      'instance-idle-seconds': { type: 'string', default: String(DEFAULT_POOL_LIMITS.idleMs / 1000) },
      store: { type: 'string', default: process.env.SLUICE_STORE ?? '' },
      'resync-seconds': { type: 'string', default: String(DEFAULT_RESYNC_MS / 1000) },
      telemetry: { type: 'string', default: 'on' },
      isolation: { type: 'string', default: process.env.SLUICE_ISOLATION ?? DEFAULT_ISOLATION.mode },
      'instance-uids': {
        type: 'string',
        default: `${DEFAULT_ISOLATION.uids.first}-${DEFAULT_ISOLATION.uids.first + DEFAULT_ISOLATION.uids.count - 1}`,
      },
      'instance-tmp-size': { type: 'string', default: String(DEFAULT_ISOLATION.tmpBytes / MB) },
      'instance-pids': { type: 'string', default: String(DEFAULT_ISOLATION.pidsLimit) },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (values.telemetry !== 'on' && values.telemetry !== 'off') {
    throw new CliError(`--telemetry must be on or off, not "${values.telemetry}"`);
  }
  const isolation = values.isolation as IsolationMode;
  if (!['auto', 'required', 'none'].includes(isolation))
    throw new CliError(`--isolation must be auto, required or none, not "${values.isolation}"`);
  const uids = parseUidRange(values['instance-uids']);
  if (!uids) {
    throw new CliError(
      `--instance-uids must be FIRST-LAST, ids of at least 1000 that leave out 65534, not "${values['instance-uids']}"`,
    );
  }
  const dataDir = resolve(values['data-dir']);
  const server = await startServer({
    telemetry: values.telemetry === 'on',
    host: values.host,
    port: parsePort(values.port),
    dataDir,
    ...(values.store !== '' && { store: values.store }),
    resyncMs: parseCount('--resync-seconds', values['resync-seconds'], 1) * 1000,
    codeLimits: {
      ...DEFAULT_CODE_LIMITS,
      zipBytes: parseMegabytes('--max-code-size', values['max-code-size']),
    },
    codeCacheBytes: parseMegabytes('--code-cache-size', values['code-cache-size']),
    pool: {
      maxInstancesPerFunction: parseCount('--instances-per-function', values['instances-per-function'], 1),
      maxQueuePerFunction: parseCount('--queue-per-function', values['queue-per-function'], 0),
      idleMs: parseCount('--instance-idle-seconds', values['instance-idle-seconds'], 1) * 1000,
    },
    isolation: {
      mode: isolation,
      uids,
      tmpBytes: parseMegabytes('--instance-tmp-size', values['instance-tmp-size']),
      pidsLimit: parseCount('--instance-pids', values['instance-pids'], 8),
    },
  });
  process.stdout.write(`Sluice is listening on ${server.url} (data in ${dataDir})\n`);

  if (server.adminTokenFile) {
    process.stdout.write(
      `Created the admin token; it is in ${server.adminTokenFile} (readable by you only)\n`,
    );
  }
  const stop = (signal: string) => {
    process.stdout.write(`${signal}: shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
