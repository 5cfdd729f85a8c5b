import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the kernel holds one instance to. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** Relative CPU share, proportional to the function's memorySize as Function Compute allots it. */
  memorySizeMb: number;
}

const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;
type V1Controller = (typeof V1_CONTROLLERS)[number];

/** Where the cgroup filesystems are, read from /proc/self/mountinfo and /proc/self/cgroup. */
export interface CgroupHost {
  /** Mount points of the v1 hierarchies of memory, pids and cpu, when all three are mounted. */
  v1?: Record<V1Controller, { mount: string; own: string }>;
  /** The v2 hierarchy, when it holds the memory, pids and cpu controllers. */
  v2?: { mount: string; own: string };
}

/** Reads which cgroup hierarchies hold the controllers Sluice needs, and this process's place in them. */
export function parseCgroupHost(mountinfo: string, selfCgroup: string, v2Controllers: string): CgroupHost {
  const mounts = parseMounts(mountinfo);
  const own = new Map<string, string>();
  for (const line of selfCgroup.split('\n').filter(Boolean)) {
    const [, controllers, path] = line.split(':', 3) as [string, string, string];
    for (const c of controllers === '' ? [''] : controllers.split(',')) own.set(c, path);
  }
  const host: CgroupHost = {};
  const v1: Partial<Record<V1Controller, { mount: string; own: string }>> = {};
  for (const controller of V1_CONTROLLERS) {
    const mount = mounts.find((m) => m.fsType === 'cgroup' && m.options.includes(controller));
    const path = own.get(controller);
    if (mount && path !== undefined) v1[controller] = { mount: mount.path, own: path };
  }
  if (v1.memory && v1.pids && v1.cpu) host.v1 = { memory: v1.memory, pids: v1.pids, cpu: v1.cpu };
  const unified = unifiedMount(mountinfo);
  const available = v2Controllers.split(/\s+/);
  if (unified !== undefined && own.has('') && V1_CONTROLLERS.every((c) => available.includes(c)))
    host.v2 = { mount: unified, own: own.get('') as string };
  return host;
}

function parseMounts(mountinfo: string): { path: string; fsType: string; options: string[] }[] {
  return mountinfo
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [before, after = ''] = line.split(' - ') as [string, string | undefined];
      const [fsType = '', , superOptions = ''] = after.split(' ');
      return { path: unescapeMount(before.split(' ')[4] ?? ''), fsType, options: superOptions.split(',') };
    });
}

/** Where the v2 hierarchy is mounted, if anywhere. */
export function unifiedMount(mountinfo: string): string | undefined {
  return parseMounts(mountinfo).find((m) => m.fsType === 'cgroup2')?.path;
}

/** mountinfo escapes spaces, tabs, newlines and backslashes in paths as octal. */
function unescapeMount(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Reads the cgroup layout of this host. */
export async function readCgroupHost(): Promise<CgroupHost> {
  const [mountinfo, selfCgroup] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/self/cgroup', 'utf8'),
  ]);
  const unified = unifiedMount(mountinfo);
  const controllers =
    unified === undefined ? '' : await readFile(join(unified, 'cgroup.controllers'), 'utf8').catch(() => '');
  return parseCgroupHost(mountinfo, selfCgroup, controllers);
}

/**
 * A subtree of cgroups that this server creates beside (v1) or below (v2) its own, with one cgroup per
 * instance in it. v1 is used where its controllers are mounted (hybrid hosts keep them there); else v2.
 */
export class CgroupTree {
  /** The directories of the next instance's group, made ahead of it. */
  private spare: Promise<Record<string, string>> | undefined;
  private made = 0;

  private constructor(
    readonly version: 1 | 2,
    /** The subtree's directory per controller; on v2 one directory under the one key `unified`. */
    private readonly bases: Record<string, string>,
  ) {}

  /** Creates this server's subtree; throws with the reason when the host does not let it. */
  static async create(host: CgroupHost, name: string): Promise<CgroupTree> {
    if (host.v1) {
      const bases: Record<string, string> = {};
      for (const controller of V1_CONTROLLERS) {
        const { mount, own } = host.v1[controller];
        await removeStale(join(mount, own));
        bases[controller] = join(mount, own, name);
        await mkdir(bases[controller], { recursive: true });
      }
      return new CgroupTree(1, bases);
    }
    if (host.v2) {
      const parent = join(host.v2.mount, host.v2.own);
      await removeStale(parent);
      await enableV2Controllers(parent, host.v2.own === '/');
      const base = join(parent, name);
      await mkdir(base, { recursive: true });
      await writeFile(join(base, 'cgroup.subtree_control'), '+memory +pids +cpu');
      return new CgroupTree(2, { unified: base });
    }
    throw new Error('no cgroup hierarchy holds the memory, pids and cpu controllers');
  }

  /**
   * A new cgroup for one instance, with its limits set. Its directories were made beforehand, when the one
   * before took its own: making them costs a cold start milliseconds that it need not wait for.
   */
  async instance(limits: CgroupLimits): Promise<InstanceCgroup> {
    const made = this.spare;
    this.spare = this.makeDirs();
    this.spare.catch(() => undefined);
    const dirs = await (made ?? this.makeDirs()).catch(() => this.makeDirs());
    const group = new InstanceCgroup(this.version, dirs);
    try {
      await group.limit(limits);
    } catch (error) {
      await group.destroy();
      throw error;
    }
    return group;
  }

  private async makeDirs(): Promise<Record<string, string>> {
    const id = `i${++this.made}`;
    const dirs = Object.fromEntries(Object.entries(this.bases).map(([key, base]) => [key, join(base, id)]));
    for (const dir of Object.values(dirs)) await mkdir(dir);
    return dirs;
  }

  /**
   * Removes the subtree; call after every instance's group is destroyed. A group whose removal failed then
   * (a process still counted in it on a loaded host) is destroyed again here: nothing of this server stays.
   */
  async close(): Promise<void> {
    await this.spare?.catch(() => undefined);
    const names = new Set<string>();
    for (const base of Object.values(this.bases))
      for (const child of await readdir(base, { withFileTypes: true }).catch(() => []))
        if (child.isDirectory()) names.add(child.name);
    for (const name of names) {
      const dirs = Object.fromEntries(
        Object.entries(this.bases).map(([key, base]) => [key, join(base, name)]),
      );
      await new InstanceCgroup(this.version, dirs).destroy();
    }
    for (const base of Object.values(this.bases)) await removeGroupDir(base);
  }
}

/**
 * The subtrees of servers that died without removing theirs (`sluice-<pid>-…` whose pid is gone): their
 * instances died with them, so the groups are empty and only the directories are left.
 */
async function removeStale(parent: string): Promise<void> {
  for (const entry of await readdir(parent).catch(() => [])) {
    const pid = Number(/^sluice-(\d+)-[0-9a-f]+$/.exec(entry)?.[1]);
    if (!pid || isAlive(pid)) continue;
    const base = join(parent, entry);
    const children = await readdir(base, { withFileTypes: true }).catch(() => []);
    for (const child of children)
      if (child.isDirectory()) await rmdir(join(base, child.name)).catch(() => undefined);
    await rmdir(base).catch(() => undefined);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * On v2 a cgroup with processes in it cannot hand controllers to children (the "no internal processes"
 * rule), except the root: outside the root, this server first moves itself into a leaf of its own.
 */
async function enableV2Controllers(parent: string, isRoot: boolean): Promise<void> {
  const control = join(parent, 'cgroup.subtree_control');
  try {
    await writeFile(control, '+memory +pids +cpu');
  } catch (error) {
    if (isRoot || (error as NodeJS.ErrnoException).code !== 'EBUSY') throw error;
    const leaf = join(parent, 'sluice-server');
    await mkdir(leaf, { recursive: true });
    const processes = (await readFile(join(parent, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean);
    for (const pid of processes) await writeFile(join(leaf, 'cgroup.procs'), pid).catch(() => undefined);
    await writeFile(control, '+memory +pids +cpu');
  }
}

/** Shared by every group's polls, which are synchronous: a cgroup's event files are far shorter. */
const POLL_BUFFER = Buffer.alloc(4096);

/** One instance's cgroup: every process the instance starts lives in it, and dies with it. */
export class InstanceCgroup {
  /** What the group is held to so far; undefined before the first `limit`. */
  private limits: CgroupLimits | undefined;
  /** The files read every `memoryPollMs` while the instance works, kept open: see `poll`. */
  private readonly polled = new Map<string, number>();
  private destroyed = false;

  constructor(
    private readonly version: 1 | 2,
    private readonly dirs: Record<string, string>,
  ) {}

  private dir(controller: V1Controller): string {
    return (this.version === 1 ? this.dirs[controller] : this.dirs.unified) as string;
  }

  /**
   * Sets the group's limits; again later (a standby's, once its function is known), only what changed: a
   * write to a v1 cgroup's file costs a cold start a millisecond or more on a loaded host.
   */
  async limit(limits: CgroupLimits): Promise<void> {
    const before = this.limits;
    this.limits = limits;
    const memory = String(limits.memoryBytes);
    if (this.version === 1) {
      const dir = this.dir('memory');
      if (before?.memoryBytes !== limits.memoryBytes) {
        // Where swap is accounted, the same bound for memory and swap together: no instance swaps past it. The
        // kernel keeps memsw at or above memory: raised first when the bound grows, lowered last when it shrinks.
        const memsw = () => writeFile(join(dir, 'memory.memsw.limit_in_bytes'), memory).catch(ignoreMissing);
        const grows = before !== undefined && limits.memoryBytes > before.memoryBytes;
        if (grows) await memsw();
        await writeFile(join(dir, 'memory.limit_in_bytes'), memory);
        if (!grows) await memsw();
      }
      if (!before) await writeFile(join(dir, 'memory.oom_control'), '1');
      if (before?.pids !== limits.pids)
        await writeFile(join(this.dir('pids'), 'pids.max'), String(limits.pids));
      if (before?.memorySizeMb !== limits.memorySizeMb)
        await writeFile(join(this.dir('cpu'), 'cpu.shares'), String(Math.max(2, limits.memorySizeMb)));
    } else {
      const dir = this.dir('memory');
      if (before?.memoryBytes !== limits.memoryBytes) await writeFile(join(dir, 'memory.max'), memory);
      if (!before) {
        await writeFile(join(dir, 'memory.swap.max'), '0').catch(ignoreMissing);
        // The kernel's OOM killer takes the whole group, never one process of it.
        await writeFile(join(dir, 'memory.oom.group'), '1').catch(ignoreMissing);
      }
      if (before?.pids !== limits.pids) await writeFile(join(dir, 'pids.max'), String(limits.pids));
      const weight = Math.min(10_000, Math.max(1, Math.round(limits.memorySizeMb / 16)));
      if (before?.memorySizeMb !== limits.memorySizeMb)
        await writeFile(join(dir, 'cpu.weight'), String(weight));
    }
  }

  /** Moves a process (and so everything it starts afterwards) into the group. */
  async attach(pid: number): Promise<void> {
    for (const dir of new Set(Object.values(this.dirs)))
      await writeFile(join(dir, 'cgroup.procs'), String(pid));
  }

  /**
   * Whether the group ran out of memory. On v1 the kernel pauses the group rather than kill one process of
   * it (oom_kill_disable), so that the server ends the whole instance, as v2's memory.oom.group does.
   */
  outOfMemory(): boolean {
    const file = this.version === 1 ? 'memory.oom_control' : 'memory.events';
    const text = this.poll(join(this.dir('memory'), file));
    const count = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return count('under_oom') > 0 || count('oom_kill') > 0;
  }

  /** The most memory the group has held, in bytes, where the kernel keeps it. */
  async peakBytes(): Promise<number | undefined> {
    const file = this.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.peak';
    const text = await readFile(join(this.dir('memory'), file), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : Number(text.trim());
  }

  /** Whether the pids limit has refused a fork. */
  pidsRefused(): boolean {
    let text = '';
    try {
      text = this.poll(join(this.dir('pids'), 'pids.events'));
    } catch {
      // No pids.events on this kernel: no refusal to tell.
    }
    return Number(/^max (\d+)$/m.exec(text)?.[1] ?? 0) > 0;
  }

  /**
   * A small file of the group's, read whole from an open descriptor: one read of a few hundred bytes, where
   * an asynchronous readFile took five round trips through the thread pool. Polled for every busy instance,
   * that was a few per cent of the server's time under load.
   */
  private poll(path: string): string {
    if (this.destroyed) throw new Error('the cgroup is destroyed');
    let fd = this.polled.get(path);
    if (fd === undefined) {
      fd = openSync(path, 'r');
      this.polled.set(path, fd);
    }
    return POLL_BUFFER.toString('latin1', 0, readSync(fd, POLL_BUFFER, 0, POLL_BUFFER.length, 0));
  }

  private async processes(): Promise<number[]> {
    const text = await readFile(join(this.dir('pids'), 'cgroup.procs'), 'utf8').catch(() => '');
    return text.split('\n').filter(Boolean).map(Number);
  }

  /** Kills every process left in the group, waits until it is empty, and removes it. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const fd of this.polled.values()) closeSync(fd);
    this.polled.clear();
    if (this.version === 2)
      await writeFile(join(this.dir('pids'), 'cgroup.kill'), '1').catch(() => undefined);
    for (let attempt = 0; attempt < 200; attempt++) {
      const pids = await this.processes();
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await sleep(5);
    }
    for (const dir of new Set(Object.values(this.dirs))) await removeGroupDir(dir);
  }
}

/** Removes an empty cgroup, waiting up to two seconds for the kernel to stop counting exited processes in it. */
async function removeGroupDir(dir: string): Promise<void> {
  const deadline = Date.now() + 2000;
  for (;;) {
    try {
      await rmdir(dir);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || Date.now() > deadline) return;
      // A process that has exited can stay counted for a moment after its parent reaped it.
      await sleep(10);
    }
  }
}

function ignoreMissing(error: unknown): void {
  const code = (error as NodeJS.ErrnoException).code;
  if (code !== 'ENOENT' && code !== 'EACCES') throw error;
}
