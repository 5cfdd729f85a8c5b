import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, constants, readFile, realpath } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ErrorCode } from '../../core/errors.js';
import type { IsolationReport } from '../../core/isolation.js';
import { bwrapArgs, isSystemPath, readSystemLayout, type SandboxSpec, type SystemEntry } from './bwrap.js';
import { CgroupTree, readCgroupHost, type InstanceCgroup } from './cgroups.js';
import { seccompArch, seccompProgram } from './seccomp.js';
import { FunctionUids, type UidRange } from './uids.js';

export type IsolationMode = 'auto' | 'required' | 'none';

export interface IsolationOptions {
  mode: IsolationMode;
  uids: UidRange;
  /** Size of each instance's private /tmp, in bytes. */
  tmpBytes: number;
  /** Processes (and threads) one instance may have at once. */
  pidsLimit: number;
}

export const DEFAULT_ISOLATION: IsolationOptions = {
  mode: 'auto',
  uids: { first: 700_000_000, count: 65_536 },
  tmpBytes: 512 * 1024 * 1024,
  pidsLimit: 64,
};

/** How the kernel stopped an instance, or something the instance's invocations should know. */
export interface Verdict {
  death?: { code: ErrorCode; message: string };
  notice?: string;
}

/** What holds one instance: started with its process, checked while it runs, disposed of when it ends. */
export interface Confinement {
  /** Pipes the confinement needs besides the protocol channel, from fd 4 on. */
  readonly extraPipes: number;
  /** Whether the spawned process reports a runtime killed by signal N as exit status 128 + N, as a shell does. */
  readonly signalAsStatus: boolean;
  /** Right after the spawn, before the runtime runs. */
  start(child: ChildProcess): Promise<void>;
  /** Polled while the instance runs, and asked once more when it has exited. */
  check(): Promise<Verdict>;
  /** Holds the instance to a function's `memorySize` (and the CPU weight that goes with it) from now on. */
  limit(memorySize: number): Promise<void>;
  /** After the process has exited: nothing of the instance is left. */
  dispose(): Promise<void>;
}

/** The parts of a launch the sandbox changes: what is spawned, as whom, and where the code appears. */
export interface ConfinedLaunch {
  command: string;
  args: string[];
  confinement: Confinement;
}

export interface InstanceToConfine {
  /** Undefined for a standby: the function it will serve is not known yet. */
  functionName: string | undefined;
  memorySize: number;
  network: 'host' | 'none';
  /** The version's code on the host. */
  codeDir: string;
  /** The runtime's command line as the sandbox sees it. */
  command: string[];
  /** Host interpreters the command runs: bound read-only where the system directories do not show them. */
  interpreters: string[];
  /** The bootstrap's files. */
  files: { source: string; target: string }[];
}

/** Instances confined by bubblewrap, with cgroup limits where the host lets this server create cgroups. */
export class Sandbox {
  private readonly uids: FunctionUids;
  private readonly prefixes = new Map<string, string | undefined>();

  private constructor(
    private readonly options: IsolationOptions,
    private readonly bwrap: string,
    private readonly setpriv: string | undefined,
    private readonly system: SystemEntry[],
    private readonly seccomp: Buffer,
    private readonly cgroups: CgroupTree | undefined,
  ) {
    this.uids = new FunctionUids(options.uids);
  }

  /** Finds out what isolation this host allows; `sandbox` is undefined when instances run unsandboxed. */
  static async detect(options: IsolationOptions): Promise<{ sandbox?: Sandbox; report: IsolationReport }> {
    const root = process.getuid?.() === 0;
    const unsandboxed = (problems: string[]): { report: IsolationReport } => ({
      report: { sandbox: 'none', users: root ? 'nobody' : 'server', limits: 'polling', problems },
    });
    if (options.mode === 'none') return unsandboxed(['turned off (--isolation none)']);
    if (process.platform !== 'linux') return unsandboxed([`no Linux namespaces on ${process.platform}`]);
    const arch = seccompArch();
    if (!arch) return unsandboxed([`no seccomp filter for the ${process.arch} architecture`]);
    // SLUICE_BWRAP names a bubblewrap of the operator's choosing.
    const bwrap = process.env.SLUICE_BWRAP ?? (await findExecutable('bwrap'));
    if (!bwrap || !(await isExecutable(bwrap)))
      return unsandboxed([
        `bubblewrap is not installed (apt-get install bubblewrap)${bwrap ? `: no ${bwrap}` : ''}`,
      ]);
    const setpriv = root ? await findExecutable('setpriv') : undefined;
    if (root && !setpriv) return unsandboxed(['setpriv is not installed (util-linux)']);

    const problems: string[] = [];
    let cgroups: CgroupTree | undefined;
    try {
      cgroups = await CgroupTree.create(
        await readCgroupHost(),
        `sluice-${process.pid}-${randomBytes(3).toString('hex')}`,
      );
    } catch (error) {
      problems.push(`no cgroup limits: ${(error as Error).message}`);
    }
    const sandbox = new Sandbox(
      options,
      bwrap,
      setpriv,
      await readSystemLayout(),
      seccompProgram(arch),
      cgroups,
    );
    const failure = await sandbox.probe();
    if (failure) {
      await cgroups?.close();
      return unsandboxed([`bubblewrap could not make a sandbox: ${failure}`]);
    }
    if (!root) problems.push('not root: every function runs as the server’s user (in namespaces of its own)');
    return {
      sandbox,
      report: {
        sandbox: 'bubblewrap',
        users: root ? 'per-function' : 'server',
        limits: cgroups ? (cgroups.version === 1 ? 'cgroup-v1' : 'cgroup-v2') : 'polling',
        problems,
      },
    };
  }

  /** Starts `true` in a sandbox as an instance would be: the reason it failed, or undefined. */
  private async probe(): Promise<string | undefined> {
    const truePath = (await findExecutable('true')) ?? '/bin/true';
    const launch = await this.confine({
      functionName: '.probe',
      memorySize: 64,
      network: 'none',
      codeDir: '/',
      command: [truePath],
      interpreters: [],
      files: [],
    });
    const child = spawn(launch.command, launch.args, {
      // fd 3 is an instance's protocol channel, which `true` does without.
      stdio: [
        'ignore',
        'ignore',
        'pipe',
        'ignore',
        ...Array<'pipe'>(launch.confinement.extraPipes).fill('pipe'),
      ],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    try {
      await launch.confinement.start(child);
      const code = await exited;
      return code === 0 ? undefined : stderr.trim() || `it exited with status ${code ?? 'unknown'}`;
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      return stderr.trim() || (error as Error).message;
    } finally {
      await launch.confinement.dispose();
    }
  }

  async confine(instance: InstanceToConfine): Promise<ConfinedLaunch> {
    const readOnlyDirs = new Set<string>();
    for (const interpreter of instance.interpreters) {
      const prefix = await this.prefixOf(interpreter);
      if (prefix !== undefined) readOnlyDirs.add(prefix);
    }
    let dropTo: SandboxSpec['dropTo'];
    if (this.setpriv) {
      const { functionName } = instance;
      dropTo = {
        user: functionName === undefined ? 'later' : this.userFor(functionName),
        setpriv: this.setpriv,
      };
    }
    const spec: SandboxSpec = {
      system: this.system,
      readOnlyDirs: [...readOnlyDirs],
      files: instance.files,
      codeDir: instance.codeDir,
      network: instance.network,
      tmpBytes: this.options.tmpBytes,
      fds: { block: 4, info: 5, seccomp: 6 },
      dropTo,
      command: instance.command,
    };
    // Made while bubblewrap sets the sandbox up: the two take milliseconds each, and a cold start waits for both.
    const cgroup = this.cgroups?.instance({
      memoryBytes: instance.memorySize * 1024 * 1024,
      pids: this.options.pidsLimit,
      memorySizeMb: instance.memorySize,
    });
    cgroup?.catch(() => undefined);
    return {
      command: this.bwrap,
      args: bwrapArgs(spec),
      confinement: new SandboxConfinement(this.seccomp, cgroup, instance.memorySize, this.options.pidsLimit),
    };
  }

  /** Whether each function runs as a user of its own (as root), which a standby becomes on its `init`. */
  get perFunctionUsers(): boolean {
    return this.setpriv !== undefined;
  }

  /**
   * The user a function's instances run as, when this server gives each function its own (as root), or
   * undefined when they all run as the server's user (rootless).
   */
  userOf(functionName: string): { uid: number; gid: number } | undefined {
    return this.setpriv ? this.userFor(functionName) : undefined;
  }

  private userFor(functionName: string): { uid: number; gid: number } {
    const uid = this.uids.uidFor(functionName);
    return { uid, gid: uid };
  }

  /** An interpreter installed outside the system directories (nvm, pyenv, /opt): its whole prefix, once. */
  private async prefixOf(interpreter: string): Promise<string | undefined> {
    if (!this.prefixes.has(interpreter)) {
      const real = await realpath(interpreter);
      this.prefixes.set(interpreter, isSystemPath(real, this.system) ? undefined : dirname(dirname(real)));
    }
    return this.prefixes.get(interpreter);
  }

  /** Removes this server's cgroups; every instance must have ended. */
  async close(): Promise<void> {
    await this.cgroups?.close();
  }
}

class SandboxConfinement implements Confinement {
  readonly extraPipes = 3;
  readonly signalAsStatus = true;
  /** The host pid of the runtime's process, the sandbox init's child. */
  private runtimePid: number | undefined;
  private cgroup: InstanceCgroup | undefined;
  private pidsNoticed = false;

  constructor(
    private readonly seccomp: Buffer,
    private readonly makingCgroup: Promise<InstanceCgroup> | undefined,
    private memorySize: number,
    private readonly pidsLimit: number,
  ) {}

  /**
   * Lets the sandbox run, and moves the runtime's process into its cgroup while the interpreter boots: a move
   * costs 10–20 ms here (the kernel waits out an RCU grace period), which a cold start need not wait for. No
   * function code runs before it is done: the runtime loads the handler only on `init`, which the instance
   * sends after this resolves, and everything the runtime starts from then on is born in the group.
   */
  async start(child: ChildProcess): Promise<void> {
    const [, , , , block, info, seccomp] = child.stdio as unknown as Socket[];
    if (!block || !info || !seccomp) throw new Error('bubblewrap was started without its descriptors');
    // bubblewrap closes each after reading what it needs; a reset then is no failure.
    for (const socket of [block, info, seccomp]) socket.on('error', () => undefined);
    seccomp.end(this.seccomp);
    const sandboxPid = await readSandboxPid(info, child);
    block.end('.');
    const [runtimePid, cgroup] = await Promise.all([findRuntimePid(sandboxPid, child), this.makingCgroup]);
    this.runtimePid = runtimePid;
    this.cgroup = cgroup;
    // A runtime that has already exited needs no holding: the instance fails to start on its own.
    if (runtimePid !== undefined) await cgroup?.attach(runtimePid).catch(ignoreGone);
  }

  async check(): Promise<Verdict> {
    if (!this.cgroup) return this.checkRss();
    const oom = this.cgroup.outOfMemory();
    if (oom) {
      const peak = await this.cgroup.peakBytes();
      const peakText = peak === undefined ? '' : ` (peak ${Math.round(peak / 1048576)} MB)`;
      return {
        death: {
          code: 'MemoryLimitExceeded',
          message: `the instance reached its memorySize of ${this.memorySize} MB${peakText}: the kernel stopped it`,
        },
      };
    }
    if (!this.pidsNoticed && this.cgroup.pidsRefused()) {
      this.pidsNoticed = true;
      return {
        notice: `[sluice] the instance reached its limit of ${this.pidsLimit} processes and threads: starting another failed\n`,
      };
    }
    return {};
  }

  async limit(memorySize: number): Promise<void> {
    this.memorySize = memorySize;
    const cgroup = await this.makingCgroup;
    await cgroup?.limit({
      memoryBytes: memorySize * 1024 * 1024,
      pids: this.pidsLimit,
      memorySizeMb: memorySize,
    });
  }

  /** Without cgroups: the runtime's resident memory, polled. */
  private checkRss(): Promise<Verdict> {
    return this.runtimePid === undefined ? Promise.resolve({}) : rssVerdict(this.runtimePid, this.memorySize);
  }

  async dispose(): Promise<void> {
    const cgroup = await this.makingCgroup?.catch(() => undefined);
    await cgroup?.destroy();
  }
}

/** An unsandboxed instance: its memory polled, nothing else held. */
export class Unconfined implements Confinement {
  readonly extraPipes = 0;
  readonly signalAsStatus = false;
  private pid: number | undefined;

  constructor(private memorySize: number) {}

  start(child: ChildProcess): Promise<void> {
    this.pid = child.pid;
    return Promise.resolve();
  }

  limit(memorySize: number): Promise<void> {
    this.memorySize = memorySize;
    return Promise.resolve();
  }

  check(): Promise<Verdict> {
    return this.pid === undefined ? Promise.resolve({}) : rssVerdict(this.pid, this.memorySize);
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

async function rssVerdict(pid: number, memorySize: number): Promise<Verdict> {
  const statm = await readFile(`/proc/${pid}/statm`, 'utf8').catch(() => undefined);
  if (statm === undefined) return {};
  const rss = Number(statm.split(' ')[1]) * 4096;
  if (rss <= memorySize * 1024 * 1024) return {};
  return {
    death: {
      code: 'MemoryLimitExceeded',
      message: `the instance used ${Math.round(rss / 1048576)} MB, more than its memorySize of ${memorySize} MB`,
    },
  };
}

function ignoreGone(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
}

/** The sandbox init's child, the runtime, as soon as it is forked; undefined if the sandbox ended first. */
async function findRuntimePid(sandboxPid: number, child: ChildProcess): Promise<number | undefined> {
  const file = `/proc/${sandboxPid}/task/${sandboxPid}/children`;
  for (let waited = 0; waited < 5000 && child.exitCode === null && child.signalCode === null; waited++) {
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim().split(' ')[0]);
    if (pid) return pid;
    await sleep(1);
  }
  return undefined;
}

/** bubblewrap writes `{"child-pid": N}` to its info descriptor once the sandbox's init exists. */
function readSandboxPid(info: Socket, child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (error?: Error, pid?: number) => {
      info.removeAllListeners('data');
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(pid as number);
    };
    const onExit = () => {
      done(new Error('bubblewrap exited before the sandbox was set up'));
    };
    child.once('exit', onExit);
    info.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const match = /"child-pid"\s*:\s*(\d+)/.exec(text);
      if (match) done(undefined, Number(match[1]));
    });
  });
}

async function findExecutable(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const path = join(dir, name);
    if (await isExecutable(path)) return path;
  }
  return undefined;
}

function isExecutable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}
