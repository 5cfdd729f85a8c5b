import type { ChildProcess } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeCache } from './code-cache.js';
import { CodeView } from './code-view.js';
import { CsharpBuilds } from './csharp.js';
import {
  Instance,
  spawnRuntime,
  type InstanceLimits,
  type SpawnPlan,
  type LogLine,
  type RunnableVersion,
} from './instance.js';
import { SluiceError } from '../core/errors.js';
import { CONFIG_DEFAULTS } from '../core/function-config.js';
import type { StandbyCounts } from '../metrics/prometheus.js';
import {
  bootstrapCommand,
  bootstrapFiles,
  hasIpc,
  instanceEnv,
  runtimeEnv,
  runtimeProblem,
  standbyProfile,
  type Interpreters,
  type RuntimeProfile,
} from './launchers.js';
import { CODE_MOUNT } from './sandbox/bwrap.js';
import { Unconfined, type Confinement, type Sandbox } from './sandbox/sandbox.js';
import { Standby } from './standby.js';
import { StandbyPool } from './standby-pool.js';

export interface LauncherOptions {
  codeCache: CodeCache;
  interpreters: Interpreters;
  limits: InstanceLimits;
  /** Reads a code package from the store, once per digest. */
  loadCode: (sha256: string) => Promise<Buffer>;
  onLog: (line: LogLine, version: RunnableVersion) => void;
  /** Where the host allows it, every instance runs in a sandbox of its own. */
  sandbox: Sandbox | undefined;
  /** Unsandboxed, the user instances run as; when the server runs as root, an unprivileged one. */
  runAs: { uid: number; gid: number } | undefined;
  /** Standbys kept per runtime profile that cold starts use (0: none), and how long an unused profile keeps them. */
  standbys: { size: number; idleMs: number };
  log: (line: string) => void;
}

/** Starts instances of versions, from standbys where it can. */
export interface Launcher {
  launch: (version: RunnableVersion) => Promise<Instance>;
  /** Standbys per profile, for metrics. */
  standbys: () => StandbyCounts[];
  /** Ends the standbys; once every instance has stopped, since it waits for those made from standbys too. */
  close: () => Promise<void>;
}

/** A standby's memory bound until its function's is known: the default memorySize, far more than it uses. */
const STANDBY_MEMORY_MB = CONFIG_DEFAULTS.memorySize;

/** The user unsandboxed instances run as when the server is root: `nobody`. */
export function defaultRunAs(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
}

/**
 * Starts an instance of a version: its code extracted, then a standby of its runtime specialised to it, or,
 * where none is ready, a process of its own; sandboxed where the host allows. A start that wanted a standby
 * has its profile's standbys replaced after it.
 */
export function processLauncher(options: LauncherOptions): Launcher {
  const onLog = (version: RunnableVersion) => (line: LogLine) => {
    options.onLog(line, version);
  };
  const { mono } = options.interpreters;
  const csharp = mono === undefined ? undefined : new CsharpBuilds(mono, defaultRunAs());
  const standbys = new StandbyPool({
    ...options.standbys,
    start: (profile) => startStandby(profile, options),
    log: options.log,
  });
  const launch = async (version: RunnableVersion) => {
    // A function created on a node that has its runtime may be run by one that lacks it.
    const missing = runtimeProblem(version.config.runtime, options.interpreters);
    if (missing) throw new SluiceError('FunctionInitializationError', missing);
    const code = await options.codeCache.acquire(version.codeSha256, () =>
      options.loadCode(version.codeSha256),
    );
    const profile = standbyProfile(version.config);
    try {
      // A C# package's sources are compiled, once per code, before its first instance starts.
      if (version.config.runtime === 'csharp') await csharp?.prepare(code.dir, version.config.handler);
      const standby = profile && standbys.take(profile);
      const start: Start = { version, codeDir: code.dir, options, onLog: onLog(version) };
      const instance =
        (standby && (await fromStandby(standby, start))) ??
        (await (options.sandbox ? startSandboxed(options.sandbox, start) : startUnsandboxed(start)));
      // Its code stays on disk for as long as the process (and the sandbox's mount of it) lasts.
      void instance.exited.then(code.release);
      return instance;
    } catch (error) {
      code.release();
      throw error;
    } finally {
      if (profile) standbys.refill(profile);
    }
  };
  return { launch, standbys: () => standbys.stats(), close: () => standbys.close() };
}

/** What starting one instance takes, sandboxed or not. */
interface Start {
  version: RunnableVersion;
  /** The version's extracted code on the host. */
  codeDir: string;
  options: LauncherOptions;
  onLog: (line: LogLine) => void;
}

/**
 * Specialises a standby: the version's code shown in its sandbox and the function's limits set (the two at
 * once), then its environment and user. When the standby has died since it was taken, or cannot be given its
 * code or limits, undefined: the start makes a process of its own instead.
 */
async function fromStandby(standby: Standby, start: Start): Promise<Instance | undefined> {
  const { version, codeDir, options } = start;
  const { view } = standby;
  try {
    await Promise.all([view?.fill(codeDir), standby.limit(version.config.memorySize)]);
  } catch (error) {
    options.log(
      `warning: a standby could not become an instance of ${version.functionName}: ${String(error)}`,
    );
    standby.kill();
    return undefined;
  }
  const runtime = standby.handOver();
  if (!runtime) return undefined;
  const user = options.sandbox?.userOf(version.functionName);
  // bubblewrap sets PWD for the directory it starts a runtime in: an instance of its own has it so.
  const env = { ...instanceEnv(version, standby.tmpDir), ...(view && { PWD: CODE_MOUNT }) };
  return Instance.specialise(
    version,
    runtime,
    view ? CODE_MOUNT : codeDir,
    { env, ...(user && { user }) },
    options.limits,
    start.onLog,
  );
}

async function startSandboxed(sandbox: Sandbox, start: Start): Promise<Instance> {
  const { version, codeDir, options, onLog } = start;
  const { config } = version;
  const { command, args } = bootstrapCommand(config, options.interpreters, 'sandbox');
  const launch = await sandbox.confine({
    functionName: version.functionName,
    memorySize: config.memorySize,
    network: config.network,
    codeDir,
    command: [command, ...args],
    interpreters: [command],
    files: bootstrapFiles(config.runtime),
  });
  return Instance.start(
    version,
    {
      command: launch.command,
      args: launch.args,
      env: instanceEnv(version, '/tmp'),
      cwd: '/',
      codeDir: CODE_MOUNT,
      ipc: hasIpc(config.runtime),
    },
    options.limits,
    onLog,
    launch.confinement,
  );
}

/** Without a sandbox: its own writable temp directory, and the process as `runAs`. */
async function startUnsandboxed(start: Start): Promise<Instance> {
  const { version, codeDir, options, onLog } = start;
  const { command, args } = bootstrapCommand(version.config, options.interpreters, 'host');
  const tmpDir = await privateTmp(options.runAs);
  const cleanup = () => rm(tmpDir, { recursive: true, force: true });
  try {
    const instance = await Instance.start(
      version,
      {
        command,
        args,
        env: instanceEnv(version, tmpDir),
        cwd: codeDir,
        codeDir,
        ipc: hasIpc(version.config.runtime),
        ...options.runAs,
      },
      options.limits,
      onLog,
      new Unconfined(version.config.memorySize),
    );
    void instance.exited.then(cleanup);
    return instance;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** An instance's own temporary directory, writable by the user it runs as. */
async function privateTmp(runAs: { uid: number; gid: number } | undefined): Promise<string> {
  const tmpDir = await mkdtemp(join(tmpdir(), 'sluice-instance-'));
  if (runAs) await chown(tmpDir, runAs.uid, runAs.gid);
  return tmpDir;
}

/**
 * Starts a standby of a profile, confined as an instance is but for its function's user (which a standby of a
 * root server becomes on `init`) and its code, an empty view until then.
 */
async function startStandby(profile: RuntimeProfile, options: LauncherOptions): Promise<Standby> {
  const { sandbox, interpreters } = options;
  const shape = { ...profile, memorySize: STANDBY_MEMORY_MB };
  const timeout = options.limits.startTimeoutMs;
  if (sandbox) {
    const { command, args } = bootstrapCommand(shape, interpreters, 'sandbox');
    const view = await CodeView.make(options.codeCache.root);
    try {
      const launch = await sandbox.confine({
        functionName: undefined,
        memorySize: STANDBY_MEMORY_MB,
        network: profile.network,
        codeDir: view.dir,
        command: [command, ...args],
        interpreters: [command],
        files: bootstrapFiles(profile.runtime),
      });
      const { confinement } = launch;
      const env = runtimeEnv(profile.runtime, '/tmp');
      const child = spawnOrDispose(
        { command: launch.command, args: launch.args, env, cwd: '/', ipc: hasIpc(profile.runtime) },
        confinement,
      );
      const switchesUser = sandbox.perFunctionUsers;
      const cleanup = () => view.remove();
      return new Standby(
        profile,
        { child, confinement, view, tmpDir: '/tmp', switchesUser, cleanup },
        timeout,
      );
    } catch (error) {
      await view.remove();
      throw error;
    }
  }
  const { command, args } = bootstrapCommand(shape, interpreters, 'host');
  const tmpDir = await privateTmp(options.runAs);
  const cleanup = () => rm(tmpDir, { recursive: true, force: true });
  try {
    const confinement = new Unconfined(STANDBY_MEMORY_MB);
    const plan = {
      command,
      args,
      env: runtimeEnv(profile.runtime, tmpDir),
      cwd: tmpDir,
      ipc: hasIpc(profile.runtime),
      ...options.runAs,
    };
    const child = spawnOrDispose(plan, confinement);
    return new Standby(
      profile,
      { child, confinement, view: undefined, tmpDir, switchesUser: false, cleanup },
      timeout,
    );
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function spawnOrDispose(plan: SpawnPlan, confinement: Confinement): ChildProcess {
  try {
    return spawnRuntime(plan, confinement);
  } catch (error) {
    void confinement.dispose();
    throw error;
  }
}
