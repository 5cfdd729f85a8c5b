import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeCache } from './code-cache.js';
import { CsharpBuilds } from './csharp.js';
import { Instance, type InstanceLimits, type LogLine, type RunnableVersion } from './instance.js';
import { SluiceError } from '../core/errors.js';
import {
  bootstrapCommand,
  bootstrapFiles,
  instanceEnv,
  runtimeProblem,
  type Interpreters,
} from './launchers.js';
import { CODE_MOUNT } from './sandbox/bwrap.js';
import { Unconfined, type Sandbox } from './sandbox/sandbox.js';

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
}

/** The user unsandboxed instances run as when the server is root: `nobody`. */
export function defaultRunAs(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
}

/** Starts an instance of a version: its code extracted, then its process, sandboxed where the host allows. */
export function processLauncher(options: LauncherOptions): (version: RunnableVersion) => Promise<Instance> {
  const onLog = (version: RunnableVersion) => (line: LogLine) => {
    options.onLog(line, version);
  };
  const { mono } = options.interpreters;
  const csharp = mono === undefined ? undefined : new CsharpBuilds(mono, defaultRunAs());
  return async (version) => {
    // A function created on a node that has its runtime may be run by one that lacks it.
    const missing = runtimeProblem(version.config.runtime, options.interpreters);
    if (missing) throw new SluiceError('FunctionInitializationError', missing);
    const code = await options.codeCache.acquire(version.codeSha256, () =>
      options.loadCode(version.codeSha256),
    );
    try {
      // A C# package's sources are compiled, once per code, before its first instance starts.
      if (version.config.runtime === 'csharp') await csharp?.prepare(code.dir, version.config.handler);
      const { sandbox } = options;
      const where = sandbox ? 'sandbox' : 'host';
      const bootstrap = bootstrapCommand(version.config, options.interpreters, where);
      const start: Start = { version, codeDir: code.dir, bootstrap, options, onLog: onLog(version) };
      const instance = await (sandbox ? startSandboxed(sandbox, start) : startUnsandboxed(start));
      // Its code stays on disk for as long as the process (and the sandbox's mount of it) lasts.
      void instance.exited.then(code.release);
      return instance;
    } catch (error) {
      code.release();
      throw error;
    }
  };
}

/** What starting one instance takes, sandboxed or not. */
interface Start {
  version: RunnableVersion;
  /** The version's extracted code on the host. */
  codeDir: string;
  bootstrap: { command: string; args: string[] };
  options: LauncherOptions;
  onLog: (line: LogLine) => void;
}

async function startSandboxed(sandbox: Sandbox, start: Start): Promise<Instance> {
  const { version, codeDir, options, onLog } = start;
  const { command, args } = start.bootstrap;
  const { config } = version;
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
    },
    options.limits,
    onLog,
    launch.confinement,
  );
}

/** Without a sandbox: its own writable temp directory, and the process as `runAs`. */
async function startUnsandboxed(start: Start): Promise<Instance> {
  const { version, codeDir, options, onLog } = start;
  const { command, args } = start.bootstrap;
  const tmpDir = await mkdtemp(join(tmpdir(), 'sluice-instance-'));
  const cleanup = () => rm(tmpDir, { recursive: true, force: true });
  try {
    if (options.runAs) await chown(tmpDir, options.runAs.uid, options.runAs.gid);
    const instance = await Instance.start(
      version,
      { command, args, env: instanceEnv(version, tmpDir), cwd: codeDir, codeDir, ...options.runAs },
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
