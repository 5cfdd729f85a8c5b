/**
 * The `peer` scenario: serverless-offline, the local Lambda emulator users run today, serving the benchmark's
 * handler through an `httpApi` event on POST /hello. It is installed apart from Sluice's own dependencies, in
 * bench/peer/node_modules (bench/setup.sh). When it cannot be installed or started here, its row says why and
 * the rest of the suite runs on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { NODE_HANDLER } from './handler.js';
import type { LoadResult } from './wrk.js';

const PEER_DIR = fileURLToPath(new URL('../../bench/peer/', import.meta.url));
const READY_TIMEOUT_MS = 45_000;
const STOP_TIMEOUT_MS = 5_000;

export interface PeerRow {
  scenario: string;
  what: string;
  /** Absent when the mode could not be measured; `what` then says why. */
  result?: LoadResult;
}

const MODES = [
  { scenario: 'peer', flags: ['--useInProcess'], label: '--useInProcess, its fastest mode' },
  { scenario: 'peer workers', flags: [], label: 'its default mode, a worker thread per concurrent request' },
] as const;

/** The same handler in Lambda's shape: NODE_HANDLER's result as the JSON body of a 200 response. */
const LAMBDA_HANDLER = `const inner = require('./inner.js');
exports.handler = async (event, context) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(await inner.handler(event.body, { requestId: context.awsRequestId })),
});
`;

const SERVERLESS_YML = `service: sluice-bench-peer
frameworkVersion: '3'
provider:
  name: aws
  runtime: nodejs20.x
plugins:
  - serverless-offline
functions:
  hello:
    handler: handler.handler
    events:
      - httpApi:
          method: POST
          path: /hello
`;

/**
 * Measures serverless-offline in each mode with `measure` (the suite's wrk at 50 connections). Never throws: a
 * mode that cannot run gets a row without a result.
 */
export async function peerScenarios(measure: (url: string) => Promise<LoadResult>): Promise<PeerRow[]> {
  const rows: PeerRow[] = [];
  let versions: string;
  try {
    versions = await installedVersions();
  } catch (err) {
    const why = `not installed (${reason(err)}); bench/setup.sh installs it into bench/peer/node_modules`;
    return MODES.map((m) => ({ scenario: m.scenario, what: `serverless-offline, ${m.label}: ${why}` }));
  }
  for (const mode of MODES) {
    const what = `${versions} on an httpApi event, ${mode.label}`;
    let peer: Peer | undefined;
    try {
      peer = await startPeer(mode.flags);
      const result = await measure(peer.url);
      const rss = peer.peakRssMb();
      rows.push({ scenario: mode.scenario, what: rss ? `${what}; peak RSS ${rss} MB` : what, result });
    } catch (err) {
      rows.push({ scenario: mode.scenario, what: `${what}: not measured, ${reason(err)}` });
    } finally {
      await peer?.stop();
    }
  }
  return rows;
}

async function installedVersions(): Promise<string> {
  const version = async (name: string) =>
    (
      JSON.parse(await readFile(join(PEER_DIR, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      }
    ).version;
  return `serverless-offline ${await version('serverless-offline')} (serverless ${await version('serverless')})`;
}

interface Peer {
  url: string;
  /** The serverless process's peak resident memory (its worker threads included), if /proc tells it. */
  peakRssMb: () => number | undefined;
  stop: () => Promise<void>;
}

async function startPeer(flags: readonly string[]): Promise<Peer> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-peer-'));
  await writeFile(join(dir, 'serverless.yml'), SERVERLESS_YML);
  await writeFile(join(dir, 'inner.js'), NODE_HANDLER);
  await writeFile(join(dir, 'handler.js'), LAMBDA_HANDLER);
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  // It logs every request: into a file, read back only to say why a start failed.
  const logFile = join(dir, 'offline.log');
  const log = openSync(logFile, 'w');
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [
        join(PEER_DIR, 'node_modules', 'serverless', 'bin', 'serverless.js'),
        'offline',
        'start',
        '--noSponsor',
        ...flags,
        '--host',
        '127.0.0.1',
        '--httpPort',
        String(httpPort),
        '--lambdaPort',
        String(lambdaPort),
      ],
      {
        cwd: dir,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
        stdio: ['ignore', log, log],
        detached: true, // its own process group, stopped as one
      },
    );
  } finally {
    closeSync(log);
  }
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => {
      resolve(`could not start: ${err.message}`);
    });
    child.once('exit', (code, signal) => {
      resolve(`exited (${signal ?? `code ${code}`})`);
    });
  });
  let stopped = false;
  const state = { exited: false };
  void exited.then(() => {
    state.exited = true;
  });
  const peer: Peer = {
    url: `http://127.0.0.1:${httpPort}/hello`,
    peakRssMb: () => {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
        return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      signalGroup(child, 'SIGTERM');
      const gone = await Promise.race([exited.then(() => true), sleep(STOP_TIMEOUT_MS, false)]);
      if (!gone) signalGroup(child, 'SIGKILL');
      await Promise.race([exited, sleep(1000)]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  const failure = await Promise.race([waitReady(peer.url, state), exited]);
  if (failure !== undefined) {
    const tail = lastLines(readFileSync(logFile, 'utf8'));
    await peer.stop();
    throw new Error(tail ? `${failure}: ${tail}` : failure);
  }
  return peer;
}

/** Polls the endpoint until it answers 200; resolves with why not if it does not within READY_TIMEOUT_MS. */
async function waitReady(url: string, state: { exited: boolean }): Promise<string | undefined> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline && !state.exited) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        body: '{"hello":"sluice"}',
        signal: AbortSignal.timeout(2000),
      });
      const body = await res.text();
      if (res.status === 200) return undefined;
      last = `${res.status} ${body.slice(0, 120)}`;
    } catch (err) {
      last = reason(err);
    }
    await sleep(200);
  }
  return `not ready within ${READY_TIMEOUT_MS / 1000} s (last: ${last})`;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

function reason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  // On one line and without pipes: it ends up in a Markdown table cell.
  return message.replace(/[\s|]+/g, ' ').trim();
}

/** Why its log says it stopped, on one line and without colours or box drawing, for a table cell. */
function lastLines(text: string): string {
  const lines = text
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((line) => line.replace(/[\s|\u2500-\u257f]+/g, ' ').trim())
    .filter(Boolean);
  const error = lines.findIndex((line) => /error/i.test(line));
  const clean = (error >= 0 ? lines.slice(error) : lines).join(' ');
  if (clean.length <= 300) return clean;
  return error >= 0 ? `${clean.slice(0, 300)}…` : `…${clean.slice(-300)}`;
}
