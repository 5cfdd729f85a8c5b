import { lstat, readlink } from 'node:fs/promises';

/** Where a sandboxed instance finds its version's code. */
export const CODE_MOUNT = '/code';
/** Where a sandboxed instance finds the runtime's bootstrap. */
export const BOOTSTRAP_MOUNT = '/sluice';

/** The host's system directories as the sandbox shows them: read-only binds, and the symlinks of a merged /usr. */
export type SystemEntry = { kind: 'dir'; path: string } | { kind: 'symlink'; path: string; target: string };

/** Files of /etc that interpreters and their libraries read: the loader's cache, name resolution, TLS roots, time, PHP's and Mono's configuration. */
export const ETC_ENTRIES = [
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/nsswitch.conf',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/alternatives',
  // PHP's php.ini and the extensions it loads (conf.d), which Debian keeps here.
  '/etc/php',
  // Mono's machine.config and its map of native libraries (config); its assemblies are in /usr/lib/mono.
  '/etc/mono',
] as const;

const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/** Reads how this host lays out its system directories. */
export async function readSystemLayout(): Promise<SystemEntry[]> {
  const entries: SystemEntry[] = [];
  for (const path of SYSTEM_DIRS) {
    const stat = await lstat(path).catch(() => undefined);
    if (stat?.isSymbolicLink()) entries.push({ kind: 'symlink', path, target: await readlink(path) });
    else if (stat?.isDirectory()) entries.push({ kind: 'dir', path });
  }
  return entries;
}

/** Whether a host path is inside the system directories the sandbox already shows. */
export function isSystemPath(path: string, system: readonly SystemEntry[]): boolean {
  return system.some((e) => e.kind === 'dir' && (path === e.path || path.startsWith(`${e.path}/`)));
}

export interface SandboxSpec {
  system: readonly SystemEntry[];
  /** Directories bound read-only at their own paths: interpreters installed outside the system directories. */
  readOnlyDirs: readonly string[];
  /** Files bound read-only into the sandbox: the bootstrap and what it loads. */
  files: readonly { source: string; target: string }[];
  /** The version's extracted code on the host; the sandbox sees it read-only at CODE_MOUNT. */
  codeDir: string;
  network: 'host' | 'none';
  /** The size of the private /tmp (and of /dev/shm). */
  tmpBytes: number;
  /** Descriptors bubblewrap reads: its go-ahead, where it reports the sandbox's pid, the seccomp filter. */
  fds: { block: number; info: number; seccomp: number };
  /**
   * When the server is root: bubblewrap sets the sandbox up with root's rights, then setpriv becomes the
   * function's own user, with no capabilities left, before the runtime starts. A standby, which belongs to no
   * function yet, keeps root's user with only the capabilities to change users (`later`): its bootstrap
   * becomes the function's user, and so loses them, before it loads any code of the function's. Otherwise
   * bubblewrap runs as the server's user in a user namespace of its own (rootless), and this is undefined.
   */
  dropTo: { user: { uid: number; gid: number } | 'later'; setpriv: string } | undefined;
  command: readonly string[];
}

/** The directories above `targets` that the sandbox's empty root lacks, parents before children. */
function parentsToMake(targets: readonly string[], system: readonly SystemEntry[]): string[] {
  const parents = new Set<string>();
  for (const target of targets) {
    const parts = target.split('/').filter(Boolean);
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = `/${parts.slice(0, depth).join('/')}`;
      if (!system.some((e) => e.path === dir) && !isSystemPath(dir, system)) parents.add(dir);
    }
  }
  return [...parents].sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
}

/** The bubblewrap command line of one instance. */
export function bwrapArgs(spec: SandboxSpec): string[] {
  const args = [
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(spec.network === 'none' ? ['--unshare-net'] : []),
    ...(spec.dropTo ? [] : ['--unshare-user', '--disable-userns', '--cap-drop', 'ALL']),
    '--die-with-parent',
    '--new-session',
    '--hostname',
    'sluice',
  ];
  for (const entry of spec.system) {
    if (entry.kind === 'dir') args.push('--ro-bind', entry.path, entry.path);
    else args.push('--symlink', entry.target, entry.path);
  }
  // bubblewrap makes missing parents with the server's umask (0077): made here, the instance may enter them.
  const targets = [...ETC_ENTRIES, ...spec.readOnlyDirs, ...spec.files.map((f) => f.target)];
  for (const dir of parentsToMake(targets, spec.system)) args.push('--perms', '0755', '--dir', dir);
  for (const path of ETC_ENTRIES) args.push('--ro-bind-try', path, path);
  for (const dir of spec.readOnlyDirs) args.push('--ro-bind', dir, dir);
  for (const file of spec.files) args.push('--ro-bind', file.source, file.target);
  const tmp = String(spec.tmpBytes);
  args.push(
    '--ro-bind',
    spec.codeDir,
    CODE_MOUNT,
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--perms',
    '1777',
    '--size',
    tmp,
    '--tmpfs',
    '/tmp',
    '--perms',
    '1777',
    '--size',
    tmp,
    '--tmpfs',
    '/dev/shm',
    '--chdir',
    CODE_MOUNT,
    '--block-fd',
    String(spec.fds.block),
    '--info-fd',
    String(spec.fds.info),
    '--seccomp',
    String(spec.fds.seccomp),
    '--',
  );
  if (spec.dropTo) {
    const { user, setpriv } = spec.dropTo;
    args.push(
      setpriv,
      ...(user === 'later' ? [] : [`--reuid=${user.uid}`, `--regid=${user.gid}`]),
      '--clear-groups',
      '--inh-caps=-all',
      // Only as long as the process is root: becoming another user clears them, and no_new_privs keeps them gone.
      user === 'later' ? '--bounding-set=-all,+setuid,+setgid' : '--bounding-set=-all',
      '--no-new-privs',
      '--',
    );
  }
  args.push(...spec.command);
  return args;
}
