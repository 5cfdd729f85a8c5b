import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CREDENTIAL_KEY_ENV } from '../auth/credential-key.js';
import { DEFAULT_CODE_LIMITS } from '../core/code-package.js';
import { publicHostProblem } from '../core/data-plane.js';
import { DEFAULT_CODE_CACHE_BYTES } from '../runtime/code-cache.js';
import { DEFAULT_ISOLATION, type IsolationMode } from '../runtime/sandbox/sandbox.js';
import { parseUidRange } from '../runtime/sandbox/uids.js';
import { closeInheritedDescriptors } from '../runtime/sandbox/inherited-descriptors.js';
import {
  DEFAULT_HTTP_LIMITS,
  DEFAULT_POOL_LIMITS,
  DEFAULT_RESYNC_MS,
  DEFAULT_STANDBYS,
  startServer,
} from '../server.js';
import { DEFAULT_DISPATCHER_OPTIONS, DEFAULT_SAFETY_POLL_MS } from '../async/dispatcher.js';
import { CliError } from './errors.js';

const MB = 1024 * 1024;

const USAGE = `usage: sluice server [--port 9000] [--host 127.0.0.1] [--data-dir ./.sluice] [--max-code-size 50]
                    [--instances-per-function 10] [--queue-per-function 100] [--instance-idle-seconds 300]
                    [--instance-memory MB] [--standby-instances ${DEFAULT_STANDBYS}]
                    [--store postgres://…] [--credential-key-file F] [--resync-seconds 30] [--telemetry on|off]
                    [--isolation auto|required|none] [--instance-uids FIRST-LAST]
                    [--instance-tmp-size 512] [--instance-pids 64]
                    [--data-plane-port PORT] [--public-host HOST] [--header-timeout 15]
                    [--request-timeout 120] [--keepalive-timeout 5] [--max-connections 2048]
                    [--python PATH] [--php PATH] [--mono PATH]
                    [--async-concurrency 10] [--async-lease-seconds 30] [--async-poll-seconds 30]

  --max-code-size MB            the largest zipped code package accepted (unzipped: ${DEFAULT_CODE_LIMITS.unzippedBytes / MB} MB)
  --code-cache-size MB          extracted code kept on disk (${DEFAULT_CODE_CACHE_BYTES / MB}); beyond it, code no instance runs goes, oldest use first
  --instances-per-function N    instances one function may run at once, all its versions together
  --queue-per-function N        invocations of one function that may wait for an instance; beyond, 429
  --instance-idle-seconds S     an instance with nothing to do for this long is stopped
  --instance-memory MB          the memorySize all instances of this node may reserve together (default: 3/4 of
                                the memory the server may use, here ${DEFAULT_POOL_LIMITS.maxInstanceMemoryMb}); beyond, idle instances of any
                                function stop to make room, longest idle first, else 429
  --standby-instances N         runtime processes started ahead of any function, per runtime (and network
                                mode) that cold starts have used in the last --instance-idle-seconds: a cold
                                start takes one and makes it its function's instance (0: none; not Node.js)
  --store URL                   a PostgreSQL database shared by several nodes (postgres://…[?schema=NAME]);
                                by default the embedded SQLite store in the data directory (env SLUICE_STORE).
                                Every local user can read a command line: give a password with PGPASSWORD,
                                or the whole URL with --store-file or SLUICE_STORE
  --store-file F                a file holding the store's URL (env SLUICE_STORE_FILE)
  --credential-key-file F       the keys that seal access-key secrets (0600; base64 of 32 bytes, one a line,
                                the first seals, all open); or their text in env SLUICE_CREDENTIAL_KEY. Nodes
                                sharing a store need the same; by default <data-dir>/credential-key, made at start
  --resync-seconds S            how often the routing table is reloaded whole, besides the changes it hears of
  --telemetry on|off            off keeps no metrics and no stored logs (to measure what they cost)
  --isolation MODE              auto: each instance in a sandbox (bubblewrap, cgroups) where the host allows,
                                else unsandboxed with a warning; required: refuse to start without both;
                                none: unsandboxed (env SLUICE_ISOLATION)
  --instance-uids FIRST-LAST    the user ids a root server gives functions, one each (default ${DEFAULT_ISOLATION.uids.first}-${DEFAULT_ISOLATION.uids.first + DEFAULT_ISOLATION.uids.count - 1})
  --instance-tmp-size MB        the size of each instance's private /tmp (and /dev/shm); counts against memorySize
  --instance-pids N             processes and threads one instance may have at once
  --data-plane-port PORT        serve HTTP triggers and API stages on this port only, apart from the console and
                                /v1, so that functions' pages never share the console's origin (recommended)
  --public-host HOST            serve triggers and stages only to requests for this host name (e.g.
                                fn.example.com), and the console only to other names (recommended)
  --header-timeout S            a request's headers must arrive within this many seconds
  --request-timeout S           a request's body must arrive within this many seconds of its start
  --keepalive-timeout S         an idle keep-alive connection is closed after this many seconds
  --max-connections N           connections held at once per port; beyond, new ones are closed
  --python PATH                 the Python 3 that runs python3 functions (env SLUICE_PYTHON; default: python3
                                found in /usr/bin, /usr/local/bin or on PATH)
  --php PATH                    the PHP (8.1 or later) that runs php8.2 functions (env SLUICE_PHP; default:
                                /usr/bin/php or /usr/local/bin/php)
  --mono PATH                   the Mono that runs csharp functions, its mcs beside it (env SLUICE_MONO; default:
                                /usr/bin/mono or /usr/local/bin/mono). A runtime whose interpreter is missing is
                                named at start, and its functions are refused at creation
  --async-concurrency N         asynchronous invocations (and timer firings) this node runs at once; 0 for a
                                node that only queues them, for the others sharing its store to run
  --async-lease-seconds S       how long an invocation this node took stays its own without word from it: a
                                node that dies running one, the others run it again this long after
  --async-poll-seconds S        with PostgreSQL, the longest an idle node goes without looking at the queue
                                (each queued invocation is announced, and wakes it at once)`;

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

function parsePort(flag: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535)
    throw new CliError(`${flag} must be an integer from 0 to 65535, not "${text}"`);
  return port;
}

/** A port already taken, said in the terms of the flags; undefined for any other error. */
function portTaken(error: unknown, host: string): CliError | undefined {
  const { code, port } = error as { code?: string; port?: number };
  if (code !== 'EADDRINUSE') return undefined;
  return new CliError(
    `port ${port} on ${host} is already in use (another Sluice server?): choose another with --port or --data-plane-port`,
  );
}

/** The store's URL from `--store` or a file; a password typed on the command line gets a warning. */
async function storeUrl(flag: string, file: string): Promise<string | undefined> {
  if (flag !== '' && file !== '') throw new CliError('give --store or --store-file, not both');
  if (file !== '') {
    let text: string;
    try {
      text = (await readFile(file, 'utf8')).trim();
    } catch (error) {
      throw new CliError(
        `cannot read the store file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    if (text === '') throw new CliError(`the store file ${file} is empty`);
    return text;
  }
  if (flag === '') return undefined;
  if (hasPassword(flag) && process.argv.some((arg) => arg.includes(flag))) {
    process.stderr.write(
      'warning: the password in --store was visible to every local user while this command started; use PGPASSWORD, --store-file or SLUICE_STORE\n',
    );
  }
  return flag;
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
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
      'instance-memory': { type: 'string', default: String(DEFAULT_POOL_LIMITS.maxInstanceMemoryMb) },
      'standby-instances': { type: 'string', default: String(DEFAULT_STANDBYS) },
      store: { type: 'string', default: process.env.SLUICE_STORE ?? '' },
      'store-file': { type: 'string', default: process.env.SLUICE_STORE_FILE ?? '' },
      'credential-key-file': { type: 'string' },
      'data-plane-port': { type: 'string', default: process.env.SLUICE_DATA_PLANE_PORT ?? '' },
      'public-host': { type: 'string', default: process.env.SLUICE_PUBLIC_HOST ?? '' },
      'header-timeout': { type: 'string', default: String(DEFAULT_HTTP_LIMITS.headersTimeoutMs / 1000) },
      'request-timeout': { type: 'string', default: String(DEFAULT_HTTP_LIMITS.requestTimeoutMs / 1000) },
      'keepalive-timeout': { type: 'string', default: String(DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs / 1000) },
      'max-connections': { type: 'string', default: String(DEFAULT_HTTP_LIMITS.maxConnections) },
      'resync-seconds': { type: 'string', default: String(DEFAULT_RESYNC_MS / 1000) },
      telemetry: { type: 'string', default: 'on' },
      isolation: { type: 'string', default: process.env.SLUICE_ISOLATION ?? DEFAULT_ISOLATION.mode },
      'instance-uids': {
        type: 'string',
        default: `${DEFAULT_ISOLATION.uids.first}-${DEFAULT_ISOLATION.uids.first + DEFAULT_ISOLATION.uids.count - 1}`,
      },
      'instance-tmp-size': { type: 'string', default: String(DEFAULT_ISOLATION.tmpBytes / MB) },
      'instance-pids': { type: 'string', default: String(DEFAULT_ISOLATION.pidsLimit) },
      python: { type: 'string' },
      php: { type: 'string' },
      mono: { type: 'string' },
      'async-concurrency': { type: 'string', default: String(DEFAULT_DISPATCHER_OPTIONS.concurrency) },
      'async-lease-seconds': { type: 'string', default: String(DEFAULT_DISPATCHER_OPTIONS.leaseMs / 1000) },
      'async-poll-seconds': { type: 'string', default: String(DEFAULT_SAFETY_POLL_MS / 1000) },
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
  const publicHost = values['public-host'];
  const hostProblem = publicHost === '' ? undefined : publicHostProblem(publicHost);
  if (hostProblem) throw new CliError(`--public-host: ${hostProblem}`);
  const store = await storeUrl(values.store, values['store-file']);
  const inherited = closeInheritedDescriptors();
  if (inherited.length > 0) {
    process.stdout.write(
      `Closed descriptors ${inherited.join(', ')}, left open by what started the server, so that no function inherits them\n`,
    );
  }
  // What the command line held (a store's password) is no longer shown to other users' `ps`.
  process.title = 'sluice server';
  const dataDir = resolve(values['data-dir']);
  const server = await startServer({
    telemetry: values.telemetry === 'on',
    host: values.host,
    port: parsePort('--port', values.port),
    dataDir,
    ...(store !== undefined && { store }),
    credentialKey: {
      ...(values['credential-key-file'] !== undefined && { file: resolve(values['credential-key-file']) }),
      ...(process.env[CREDENTIAL_KEY_ENV] !== undefined && { env: process.env[CREDENTIAL_KEY_ENV] }),
    },
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
      maxInstanceMemoryMb: parseCount('--instance-memory', values['instance-memory'], 128),
    },
    standbys: parseCount('--standby-instances', values['standby-instances'], 0),
    interpreters: { python: values.python, php: values.php, mono: values.mono },
    async: {
      concurrency: parseCount('--async-concurrency', values['async-concurrency'], 0),
      leaseMs: parseCount('--async-lease-seconds', values['async-lease-seconds'], 3) * 1000,
      safetyPollMs: parseCount('--async-poll-seconds', values['async-poll-seconds'], 1) * 1000,
    },
    isolation: {
      mode: isolation,
      uids,
      tmpBytes: parseMegabytes('--instance-tmp-size', values['instance-tmp-size']),
      pidsLimit: parseCount('--instance-pids', values['instance-pids'], 8),
    },
    dataPlane: {
      ...(values['data-plane-port'] !== '' && {
        port: parsePort('--data-plane-port', values['data-plane-port']),
      }),
      ...(publicHost !== '' && { publicHost: publicHost.toLowerCase() }),
    },
    http: {
      headersTimeoutMs: parseCount('--header-timeout', values['header-timeout'], 1) * 1000,
      requestTimeoutMs: parseCount('--request-timeout', values['request-timeout'], 1) * 1000,
      keepAliveTimeoutMs: parseCount('--keepalive-timeout', values['keepalive-timeout'], 1) * 1000,
      maxConnections: parseCount('--max-connections', values['max-connections'], 1),
    },
  }).catch((error: unknown) => {
    throw portTaken(error, values.host) ?? error;
  });
  // Installed before the line that says the server listens: whoever waits for that line may stop the server
  // the moment it reads it, and a SIGTERM before this would kill the process without closing anything (its
  // instances' cgroups left behind, as a loaded CI host showed).
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
  process.stdout.write(`Sluice is listening on ${server.url} (data in ${dataDir})\n`);
  process.stdout.write(`The web console is at ${server.url}/console/\n`);
  if (server.dataPlaneUrl !== server.url)
    process.stdout.write(`HTTP triggers and API stages are served at ${server.dataPlaneUrl}\n`);

  if (server.adminTokenFile) {
    process.stdout.write(
      `Created the admin token; it is in ${server.adminTokenFile} (readable by you only)\n`,
    );
  }
}
