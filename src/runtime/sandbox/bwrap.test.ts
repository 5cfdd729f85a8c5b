import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bwrapArgs, isSystemPath, type SandboxSpec, type SystemEntry } from './bwrap.js';

const MERGED_USR: SystemEntry[] = [
  { kind: 'dir', path: '/usr' },
  { kind: 'symlink', path: '/bin', target: 'usr/bin' },
  { kind: 'symlink', path: '/lib', target: 'usr/lib' },
  { kind: 'symlink', path: '/lib64', target: 'usr/lib64' },
];

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    system: MERGED_USR,
    readOnlyDirs: [],
    files: [{ source: '/srv/sluice/dist/bootstrap.js', target: '/sluice/runtime/bootstraps/node.js' }],
    codeDir: '/root/.sluice/code/abc',
    network: 'host',
    tmpBytes: 1024,
    fds: { block: 4, info: 5, seccomp: 6 },
    dropTo: { user: { uid: 700001234, gid: 700001234 }, setpriv: '/usr/bin/setpriv' },
    command: ['/usr/bin/node', '/sluice/runtime/bootstraps/node.js'],
    ...overrides,
  };
}

/** The pairs that follow each occurrence of an option. */
function values(args: string[], option: string, arity = 1): string[][] {
  return args.flatMap((a, i) => (a === option ? [args.slice(i + 1, i + 1 + arity)] : []));
}

describe('bwrapArgs', () => {
  it('gives the instance its own PID, IPC and UTS namespaces, a new session, and ties it to the server', () => {
    const args = bwrapArgs(spec());
    for (const flag of [
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--die-with-parent',
      '--new-session',
    ])
      assert.ok(args.includes(flag), flag);
  });

  it('shares the host network only with network host', () => {
    assert.ok(!bwrapArgs(spec()).includes('--unshare-net'));
    assert.ok(bwrapArgs(spec({ network: 'none' })).includes('--unshare-net'));
  });

  it('shows the system read-only, the code read-only at /code, and nothing of the data directory', () => {
    const args = bwrapArgs(spec());
    assert.deepEqual(
      values(args, '--ro-bind', 2).find(([, to]) => to === '/code'),
      ['/root/.sluice/code/abc', '/code'],
    );
    assert.deepEqual(
      values(args, '--ro-bind', 2).find(([, to]) => to === '/usr'),
      ['/usr', '/usr'],
    );
    assert.deepEqual(values(args, '--symlink', 2), [
      ['usr/bin', '/bin'],
      ['usr/lib', '/lib'],
      ['usr/lib64', '/lib64'],
    ]);
    assert.ok(!args.includes('--bind'), 'nothing is bound writable');
    assert.ok(!args.some((a) => a.startsWith('/root') && a !== '/root/.sluice/code/abc'));
    assert.deepEqual(values(args, '--chdir'), [['/code']]);
  });

  it('gives a private /tmp and /dev/shm of the configured size, writable by the instance, a new /proc and /dev', () => {
    const args = bwrapArgs(spec({ tmpBytes: 16 * 1024 * 1024 }));
    const tmpfs = args.flatMap((a, i) => (a === '--tmpfs' ? [args.slice(i - 4, i + 2)] : []));
    assert.deepEqual(tmpfs, [
      ['--perms', '1777', '--size', String(16 * 1024 * 1024), '--tmpfs', '/tmp'],
      ['--perms', '1777', '--size', String(16 * 1024 * 1024), '--tmpfs', '/dev/shm'],
    ]);
    assert.deepEqual(values(args, '--proc'), [['/proc']]);
    assert.deepEqual(values(args, '--dev'), [['/dev']]);
    assert.ok(args.indexOf('--dev') < args.indexOf('/dev/shm'), '/dev/shm is mounted over the new /dev');
  });

  it('makes the parents of bound files enterable, since the server’s umask is 0077', () => {
    const args = bwrapArgs(spec({ readOnlyDirs: ['/root/.pyenv/versions/3.11.7'] }));
    const made = values(args, '--dir').map(([dir]) => dir);
    for (const dir of [
      '/etc',
      '/sluice',
      '/sluice/runtime',
      '/sluice/runtime/bootstraps',
      '/root',
      '/root/.pyenv',
    ])
      assert.ok(made.includes(dir), dir);
    assert.ok(!made.includes('/usr'), 'system directories are bound, not made');
    assert.ok(made.indexOf('/sluice') < made.indexOf('/sluice/runtime'));
    for (const [i, a] of args.entries())
      if (a === '--dir') assert.deepEqual(args.slice(i - 2, i), ['--perms', '0755']);
  });

  it('as root: runs the command through setpriv as the function’s user, every capability dropped', () => {
    const args = bwrapArgs(spec());
    const command = args.slice(args.indexOf('--') + 1);
    assert.deepEqual(command, [
      '/usr/bin/setpriv',
      '--reuid=700001234',
      '--regid=700001234',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      '--no-new-privs',
      '--',
      '/usr/bin/node',
      '/sluice/runtime/bootstraps/node.js',
    ]);
    assert.ok(!args.includes('--unshare-user'));
  });

  it('as root, a standby: stays root with only the capabilities to become a function’s user later', () => {
    const args = bwrapArgs(spec({ dropTo: { user: 'later', setpriv: '/usr/bin/setpriv' } }));
    assert.deepEqual(args.slice(args.indexOf('--') + 1), [
      '/usr/bin/setpriv',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all,+setuid,+setgid',
      '--no-new-privs',
      '--',
      '/usr/bin/node',
      '/sluice/runtime/bootstraps/node.js',
    ]);
  });

  it('rootless: a user namespace of its own, no further ones, no capabilities', () => {
    const args = bwrapArgs(spec({ dropTo: undefined }));
    for (const flag of ['--unshare-user', '--disable-userns']) assert.ok(args.includes(flag), flag);
    assert.deepEqual(values(args, '--cap-drop'), [['ALL']]);
    assert.deepEqual(args.slice(args.indexOf('--') + 1), [
      '/usr/bin/node',
      '/sluice/runtime/bootstraps/node.js',
    ]);
  });

  it('waits for the server’s go-ahead, reports its pid, and loads the seccomp filter, on the given descriptors', () => {
    const args = bwrapArgs(spec({ fds: { block: 7, info: 8, seccomp: 9 } }));
    assert.deepEqual(values(args, '--block-fd'), [['7']]);
    assert.deepEqual(values(args, '--info-fd'), [['8']]);
    assert.deepEqual(values(args, '--seccomp'), [['9']]);
  });
});

describe('isSystemPath', () => {
  it('is true inside a bound system directory only', () => {
    assert.equal(isSystemPath('/usr/bin/node', MERGED_USR), true);
    assert.equal(isSystemPath('/usr', MERGED_USR), true);
    assert.equal(isSystemPath('/usrlocal/bin/node', MERGED_USR), false);
    assert.equal(isSystemPath('/root/.nvm/versions/node/v20/bin/node', MERGED_USR), false);
    assert.equal(isSystemPath('/bin/node', MERGED_USR), false, 'a symlink is not a bound directory');
  });
});
