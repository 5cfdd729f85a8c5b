import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CodeCache } from './code-cache.js';
import { Instance, type InstanceLimits, type LogLine, type RunnableVersion } from './instance.js';
import { bootstrapCommand, instanceEnv, type Interpreters } from './launchers.js';

export interface LauncherOptions {
  codeCache: CodeCache;
  interpreters: Interpreters;
  limits: InstanceLimits;
  /** Reads a code package from the store, once per digest. */
  loadCode: (sha256: string) => Promise<Buffer>;
  onLog: (line: LogLine, version: RunnableVersion) => void;
  /** The user instances run as; when the server runs as root, an unprivileged one. */
  runAs: { uid: number; gid: number } | undefined;
}

/** The unprivileged user instances run as when the server is root: `nobody`. */
export function defaultRunAs(): { uid: number; gid: number } | undefined {
  return process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : undefined;
}

/** Starts an instance of a version: its code extracted, its own writable temp directory, its process. */
export function processLauncher(options: LauncherOptions): (version: RunnableVersion) => Promise<Instance> {
  return async (version) => {
    const codeDir = await options.codeCache.directory(version.codeSha256, () =>
      options.loadCode(version.codeSha256),
    );
    const tmpDir = await mkdtemp(join(tmpdir(), 'sluice-instance-'));
    const cleanup = () => rm(tmpDir, { recursive: true, force: true });
    try {
      if (options.runAs) await chown(tmpDir, options.runAs.uid, options.runAs.gid);
      const { command, args } = bootstrapCommand(
        version.config.runtime,
        version.config.memorySize,
        options.interpreters,
      );
      const instance = await Instance.start(
        version,
        { command, args, env: instanceEnv(version, tmpDir), cwd: codeDir, codeDir, ...options.runAs },
        options.limits,
        (line) => {
          options.onLog(line, version);
        },
      );
      void instance.exited.then(cleanup);
      return instance;
    } catch (error) {
      await cleanup();
      throw error;
    }
  };
}
