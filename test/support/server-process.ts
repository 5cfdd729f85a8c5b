import { spawn, type ChildProcess, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SLUICE_BIN = fileURLToPath(new URL('../../bin/sluice.js', import.meta.url));

export interface SluiceProcess {
  url: string;
  dataDir: string;
  token: string;
  child: ChildProcess;
  /** Stops the server (SIGTERM) and waits for it to exit; fails unless it shut down cleanly (status 0). */
  stop(): Promise<void>;
  /** Kills the server (SIGKILL), as a crash would, and waits for it to be gone. */
  kill(): Promise<void>;
}

export async function makeDataDir(): Promise<{ dataDir: string; remove: () => Promise<void> }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-e2e-'));
  return { dataDir, remove: () => rm(dataDir, { recursive: true, force: true }) };
}

/**
 * The instance user ids of this test process's servers, its own among the test runs on this host: a function
 * named alike in another run's server would otherwise get the same uid, and a test that finds its instance's
 * processes by uid would find the other's too. 512 ids from 10^9 + pid · 512 stay below 2^32 - 1 for any pid.
 */
export const OWN_INSTANCE_UIDS = { first: 1_000_000_000 + process.pid * 512, count: 512 };
export const OWN_INSTANCE_UIDS_FLAG = [
  '--instance-uids',
  `${OWN_INSTANCE_UIDS.first}-${OWN_INSTANCE_UIDS.first + OWN_INSTANCE_UIDS.count - 1}`,
];

/** A `sluice server` process that has said where it listens, and everything it has written since it began. */
export interface SpawnedServer {
  child: ChildProcessByStdio<null, Readable, Readable>;
  url: string;
  output: () => string;
}

/**
 * Spawns `sluice server --port 0 …args` as a real process and waits until it says where it listens; `bin` is
 * the sluice command of another copy of the package, `wrapper` a command that runs it (as another user).
 */
export async function spawnServer(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  bin: string = SLUICE_BIN,
  wrapper: string[] = [],
): Promise<SpawnedServer> {
  const [command, ...rest] = [...wrapper, process.execPath, bin, 'server', '--port', '0', ...args] as [
    string,
    ...string[],
  ];
  const child = spawn(command, rest, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`sluice server did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sluice server exited with ${code}:\n${output}`));
    });
  });
  return { child, url, output: () => output };
}

/** How long a stopped server may drain: far beyond a clean shutdown's, even on a busy machine. */
const STOP_MS = 60_000;

/**
 * Starts `sluice server` on a free port with the embedded store in `dataDir`, and reads its admin token;
 * `wrapper` runs Node.js (as in `spawnServer`).
 */
export async function startSluice(
  dataDir: string,
  extraArgs: string[] = [],
  bin: string = SLUICE_BIN,
  wrapper: string[] = [],
): Promise<SluiceProcess> {
  const { child, url, output } = await spawnServer(
    ['--data-dir', dataDir, ...extraArgs],
    process.env,
    bin,
    wrapper,
  );
  const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  return {
    url,
    dataDir,
    token,
    child,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        // A server that does not end on SIGTERM fails the test that stops it, instead of hanging the suite.
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`sluice server did not exit within ${STOP_MS} ms of SIGTERM:\n${output()}`));
        }, STOP_MS);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          // Killed by the signal itself, or a failed close: the server did not shut down as it should.
          if (code === 0) resolve();
          else
            reject(
              new Error(`sluice server ended with ${signal ?? `status ${code}`} on SIGTERM:\n${output()}`),
            );
        });
        child.kill('SIGTERM');
      }),
  };
}
