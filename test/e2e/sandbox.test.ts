import assert from 'node:assert/strict';
import { chown, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, errorCode, type ApiCall, type ApiResult } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { readCgroupHost } from '../../src/runtime/sandbox/cgroups.js';
import { hostPid, hostProcesses } from '../support/processes.js';
import { waitFor } from '../support/wait-for.js';
import {
  makeDataDir,
  OWN_INSTANCE_UIDS_FLAG,
  SLUICE_BIN,
  spawnServer,
  startSluice,
  type SluiceProcess,
} from '../support/server-process.js';

// A hostile function beside a victim that holds a secret, both on a root server as operators run it: every
// way the hostile one tries to reach the victim, the server or the host fails, and the victim keeps serving.

const SECRET = 'hunter2';
const NOBODY = 65534;
const TMP_MB = 16;

const VICTIM_NODE = `const fs = require('fs');
exports.handler = async () => {
  fs.writeFileSync('/tmp/victim-scratch', 'mine');
  return { pid: process.pid, uid: process.getuid(), secret: process.env.DB_PASSWORD === '${SECRET}' };
};
`;

const VICTIM_PYTHON = `import os


def handler(event, context):
    with open('/tmp/victim-scratch', 'w') as f:
        f.write('mine')
    return {'pid': os.getpid(), 'uid': os.getuid(), 'secret': os.environ.get('DB_PASSWORD') == '${SECRET}'}
`;

/** Everything the hostile Node.js function tries, one op per call; each answers what happened. */
const HOSTILE_NODE = `const fs = require('fs');
const net = require('net');
const { spawn, spawnSync } = require('child_process');
const attempt = (f) => { try { const r = f(); return r === undefined ? 'ok' : r; } catch (e) { return e.code || e.message; } };

exports.handler = async (event) => {
  const arg = JSON.parse(event.toString());
  switch (arg.op) {
    case 'whoami':
      return { pid: process.pid, uid: process.getuid(), gid: process.getgid() };
    case 'victim': {
      const p = arg.victimPid;
      return {
        environ: attempt(() => fs.readFileSync('/proc/' + p + '/environ', 'latin1').includes('${SECRET}')),
        mem: attempt(() => fs.openSync('/proc/' + p + '/mem', 'r+')),
        cwd: attempt(() => fs.readdirSync('/proc/' + p + '/cwd')),
        code: attempt(() => fs.readFileSync(arg.victimCode, 'utf8')),
        stop: attempt(() => process.kill(p, 'SIGSTOP')),
        kill: attempt(() => process.kill(p, 'SIGKILL')),
        server: attempt(() => process.kill(arg.serverPid, 'SIGKILL')),
        victimTmp: attempt(() => fs.readFileSync('/tmp/victim-scratch', 'utf8')),
      };
    }
    case 'look-around': {
      const pids = fs.readdirSync('/proc').filter((e) => /^\\\\d+$/.test(e)).map(Number);
      const secrets = pids.filter((p) => attempt(() => fs.readFileSync('/proc/' + p + '/environ', 'latin1').includes('${SECRET}')) === true);
      return {
        pids,
        secrets,
        root: fs.readdirSync('/').sort(),
        dataDir: attempt(() => fs.readdirSync(arg.dataDir)),
        token: attempt(() => fs.readFileSync(arg.dataDir + '/admin-token', 'utf8')),
        database: attempt(() => fs.readFileSync(arg.dataDir + '/sluice.db')),
        home: attempt(() => fs.readdirSync('/root')),
        hostTmp: attempt(() => fs.readdirSync('/tmp')),
        unshare: spawnSync('unshare', ['--user', '--map-root-user', 'true']).status,
        writeUsr: attempt(() => fs.writeFileSync('/usr/planted', 'x')),
      };
    }
    case 'fork': {
      let started = 0;
      let refused;
      for (let i = 0; i < 200; i++) {
        try {
          const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
          await new Promise((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
          child.unref();
          started++;
        } catch (e) {
          refused = e.code;
          break;
        }
      }
      return { started, refused };
    }
    case 'hang':
      return new Promise(() => {});
    case 'child-memory': {
      const r = spawnSync(process.execPath, ['-e', 'const a = []; for (;;) a.push(Buffer.alloc(64 << 20, 1));']);
      return { status: r.status, signal: r.signal };
    }
    case 'fill': {
      const chunk = Buffer.alloc(1 << 20, 1);
      const written = {};
      for (const dir of ['/tmp', '/dev/shm']) {
        let mb = 0;
        written[dir] = attempt(() => { for (; mb < ${TMP_MB * 2}; mb++) fs.appendFileSync(dir + '/' + arg.marker, chunk); });
        written[dir + ' MB'] = mb;
      }
      return written;
    }
    case 'connect': {
      const tryConnect = (port) => new Promise((resolve) => {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.setTimeout(2000, () => { socket.destroy(); resolve('ETIMEDOUT'); });
        socket.once('connect', () => { socket.destroy(); resolve('connected'); });
        socket.once('error', (e) => resolve(e.code));
      });
      return { server: await tryConnect(arg.serverPort), postgres: await tryConnect(5432), listener: await tryConnect(arg.listenerPort) };
    }
    default:
      throw new Error('unknown op ' + arg.op);
  }
};
`;

/** The Python hostile function reads and signals the victim the way the Node.js one does. */
const HOSTILE_PYTHON = `import ctypes
import errno
import os
import signal


def attempt(f):
    try:
        r = f()
        return 'ok' if r is None else r
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def handler(event, context):
    import json
    arg = json.loads(event)
    p = arg['victimPid']
    libc = ctypes.CDLL(None, use_errno=True)
    return {
        'environ': attempt(lambda: b'${SECRET}' in read('/proc/%d/environ' % p)),
        'mem': attempt(lambda: os.open('/proc/%d/mem' % p, os.O_RDWR) and None),
        'code': attempt(lambda: read(arg['victimCode']).decode()),
        'stop': attempt(lambda: os.kill(p, signal.SIGSTOP)),
        'kill': attempt(lambda: os.kill(p, signal.SIGKILL)),
        'pids': sorted(int(e) for e in os.listdir('/proc') if e.isdigit()),
        'ptrace': libc.ptrace(0, 0, 0, 0) == -1 and errno.errorcode[ctypes.get_errno()],
        'keyctl': libc.syscall(250, 0, 0, 0, 0, 0) == -1 and errno.errorcode[ctypes.get_errno()],
        'unshareUser': libc.unshare(0x10000000) == -1 and errno.errorcode[ctypes.get_errno()],
    }
`;

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;
let listener: Server;

async function createFunction(
  name: string,
  runtime: string,
  source: string,
  config: Record<string, unknown>,
) {
  const file = runtime === 'python3' ? 'index.py' : 'index.js';
  const zip = await zipOf({ [file]: source });
  const res = await api('POST', '/v1/functions', {
    name,
    runtime,
    handler: 'index.handler',
    code: { zipFile: zip.toString('base64') },
    ...config,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as { codeSha256: string };
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir, [
    '--instance-tmp-size',
    String(TMP_MB),
    '--isolation',
    'required',
    ...OWN_INSTANCE_UIDS_FLAG,
  ]);
  api = apiClient(server.url, server.token);
  const env = { environmentVariables: { DB_PASSWORD: SECRET } };
  await createFunction('victim', 'nodejs20', VICTIM_NODE, env);
  await createFunction('pyvictim', 'python3', VICTIM_PYTHON, env);
  await createFunction('hostile', 'nodejs20', HOSTILE_NODE, { memorySize: 512, timeout: 10 });
  await createFunction('pyhostile', 'python3', HOSTILE_PYTHON, { timeout: 10 });
  await createFunction('offline', 'nodejs20', HOSTILE_NODE, { network: 'none', timeout: 10 });
  await createFunction('forker', 'nodejs20', HOSTILE_NODE, { timeout: 2 });
  listener = createServer((socket) => socket.end());
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  listener.close();
  await server.stop();
  await removeDir();
});

async function invoke(fn: string, payload: unknown): Promise<ApiResult> {
  return api('POST', `/v1/functions/${fn}/invocations`, JSON.stringify(payload), {
    'content-type': 'application/octet-stream',
  });
}

async function call<T>(fn: string, payload: unknown): Promise<T> {
  const res = await invoke(fn, payload);
  assert.equal(res.status, 200, `${fn}: ${res.bytes.toString()}`);
  return res.body as T;
}

interface Victim {
  pid: number;
  uid: number;
  secret: boolean;
  hostPid: number;
  code: string;
}

async function victim(name: string, file: string): Promise<Victim> {
  const seen = await call<{ pid: number; uid: number; secret: boolean }>(name, {});
  assert.equal(seen.secret, true, 'the victim holds its secret');
  const fn = (await api('GET', `/v1/functions/${name}`)).body as { codeSha256: string };
  return {
    ...seen,
    hostPid: await hostPid(seen.uid, seen.pid),
    code: join(server.dataDir, 'code', fn.codeSha256, file),
  };
}

describe('a hostile function beside a victim', () => {
  test('runs as a user of its own, neither root nor the victim’s nor the server’s', async () => {
    const hostile = await call<{ uid: number; gid: number }>('hostile', { op: 'whoami' });
    const v = await victim('victim', 'index.js');
    for (const uid of [hostile.uid, hostile.gid]) {
      assert.notEqual(uid, 0);
      assert.notEqual(uid, v.uid);
      assert.notEqual(uid, process.getuid?.());
    }
  });

  for (const [hostile, victimName, file] of [
    ['hostile', 'victim', 'index.js'],
    ['pyhostile', 'pyvictim', 'index.py'],
    ['hostile', 'pyvictim', 'index.py'],
    ['pyhostile', 'victim', 'index.js'],
  ] as const) {
    test(`${hostile} can neither read, write, see nor signal ${victimName}, its code or the server`, async () => {
      const v = await victim(victimName, file);
      const seen = await call<Record<string, unknown>>(hostile, {
        op: 'victim',
        victimPid: v.hostPid,
        victimCode: v.code,
        serverPid: server.child.pid,
      });
      // The victim's host pid does not exist in the hostile sandbox's PID namespace; its code is not mounted.
      assert.equal(seen.environ, 'ENOENT');
      assert.equal(seen.mem, 'ENOENT');
      assert.equal(seen.code, 'ENOENT');
      assert.equal(seen.stop, 'ESRCH');
      assert.equal(seen.kill, 'ESRCH');
      if (hostile === 'hostile') {
        assert.equal(seen.cwd, 'ENOENT');
        assert.equal(seen.server, 'ESRCH');
        assert.equal(seen.victimTmp, 'ENOENT', 'the victim’s /tmp is its own');
      } else {
        assert.deepEqual(seen.ptrace, 'EPERM', 'ptrace is refused');
        assert.deepEqual(seen.keyctl, 'EPERM', 'kernel keyrings are refused');
        assert.deepEqual(seen.unshareUser, 'EPERM', 'a user namespace is refused');
      }
      const after = await victim(victimName, file);
      assert.equal(after.hostPid, v.hostPid, 'the victim’s instance lives on');
      assert.equal(after.secret, true);
    });
  }

  test('sees only its own processes, nothing of the data directory, the token, the database or home directories', async () => {
    const seen = await call<Record<string, unknown>>('hostile', {
      op: 'look-around',
      dataDir: server.dataDir,
    });
    assert.deepEqual(seen.secrets, []);
    assert.ok(
      (seen.pids as number[]).every((p) => p <= 10),
      `pids ${String(seen.pids)}`,
    );
    for (const key of ['dataDir', 'token', 'database', 'home']) assert.equal(seen[key], 'ENOENT', key);
    assert.deepEqual(seen.hostTmp, [], 'its /tmp is empty and its own');
    assert.ok(
      ['EROFS', 'EACCES'].includes(seen.writeUsr as string),
      `writing /usr: ${String(seen.writeUsr)}`,
    );
    assert.notEqual(seen.unshare, 0, 'no user namespace inside the sandbox');
    assert.deepEqual(
      (seen.root as string[]).filter(
        (e) =>
          !['bin', 'code', 'dev', 'etc', 'lib', 'lib64', 'proc', 'sbin', 'sluice', 'tmp', 'usr'].includes(e),
      ),
      [],
      'the root holds the system, the code, the bootstrap and private /tmp, /dev and /proc only',
    );
  });

  test('200 processes stop at the pids limit, for that invocation only, and none outlives the instance', async () => {
    const { uid } = await call<{ uid: number }>('forker', { op: 'whoami' });
    const forked = await call<{ started: number; refused?: string }>('forker', { op: 'fork' });
    assert.ok(forked.started < 64, `${forked.started} processes started`);
    assert.equal(forked.refused, 'EAGAIN');
    assert.equal((await victim('victim', 'index.js')).secret, true);
    await waitFor(
      async () => {
        const res = await api('GET', '/v1/functions/forker/logs?text=limit%20of%2064%20processes');
        return (res.body as { logs: unknown[] }).logs.length > 0;
      },
      { timeout: 30_000, what: 'the function’s log to say that it reached its process limit', interval: 50 },
    );
    // A timeout ends the instance: every one of its processes goes with it.
    const timedOut = await invoke('forker', { op: 'hang' });
    assert.equal(errorCode(timedOut), 'FunctionTimeout', timedOut.bytes.toString());
    await waitFor(
      async () => {
        const left = (await hostProcesses()).filter((p) => p.uid === uid);
        assert.equal(
          left.length,
          0,
          `${left.length} processes of the hostile function outlived its instance`,
        );
        return true;
      },
      { timeout: 30_000, what: 'every process of the instance to end', interval: 20 },
    );
  });

  test('native memory past memorySize in a child process: the group is killed, MemoryLimitExceeded', async () => {
    const res = await invoke('hostile', { op: 'child-memory' });
    assert.equal(res.status, 502, res.bytes.toString());
    assert.equal(errorCode(res), 'MemoryLimitExceeded');
    assert.match(res.bytes.toString(), /memorySize of 512 MB \(peak \d+ MB\)/);
    assert.equal((await victim('victim', 'index.js')).secret, true);
    assert.ok(
      (await call<{ uid: number }>('hostile', { op: 'whoami' })).uid > 0,
      'a new instance serves next',
    );
  });

  test('filling /tmp and /dev/shm stops at their bound inside that instance, and leaves nothing on the host', async () => {
    const marker = `fill-${process.pid}-${Date.now()}`;
    const filled = await call<Record<string, unknown>>('hostile', { op: 'fill', marker });
    for (const dir of ['/tmp', '/dev/shm']) {
      assert.equal(filled[dir], 'ENOSPC', dir);
      assert.ok((filled[`${dir} MB`] as number) <= TMP_MB, `${String(filled[`${dir} MB`])} MB in ${dir}`);
      const onHost = await stat(join(dir === '/tmp' ? tmpdir() : dir, marker)).catch(() => undefined);
      assert.equal(onHost, undefined, `nothing in the host's ${dir}`);
    }
    assert.equal((await victim('victim', 'index.js')).secret, true);
  });

  test('with network none it reaches nothing: not the server, not PostgreSQL, not a local listener', async () => {
    const port = Number(new URL(server.url).port);
    const listenerPort = (listener.address() as { port: number }).port;
    const offline = await call<Record<string, string>>('offline', {
      op: 'connect',
      serverPort: port,
      listenerPort,
    });
    assert.deepEqual(offline, { server: 'ECONNREFUSED', postgres: 'ECONNREFUSED', listener: 'ECONNREFUSED' });
    // The default, network host, reaches the loopback as the README says.
    const online = await call<Record<string, string>>('hostile', {
      op: 'connect',
      serverPort: port,
      listenerPort,
    });
    assert.equal(online.server, 'connected');
    assert.equal(online.listener, 'connected');
  });

  // What the busy loops then do to the victim's latency is measured by the bench, not timed here: the test
  // checks that the kernel holds each instance to its function's share.
  test('each instance sits in a cgroup of its own: memory at memorySize, pids bounded, CPU weight by memorySize', async () => {
    const hostile = await call<{ pid: number; uid: number }>('hostile', { op: 'whoami' });
    const v = await victim('victim', 'index.js');
    const groups = async (pid: number) => {
      const lines = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).split('\n').filter(Boolean);
      const v1 = (controller: string) => lines.find((l) => l.split(':')[1]?.split(',').includes(controller));
      const v2 = lines.find((l) => l.startsWith('0::'));
      const read = async (controller: string, v1File: string, v2File: string) => {
        const line = v1(controller);
        const path = line
          ? join('/sys/fs/cgroup', controller, line.split(':')[2] as string, v1File)
          : join('/sys/fs/cgroup', (v2 as string).slice(3), v2File);
        return (await readFile(path, 'utf8')).trim();
      };
      return {
        path: v1('memory') ?? v2,
        memory: Number(await read('memory', 'memory.limit_in_bytes', 'memory.max')),
        pids: Number(await read('pids', 'pids.max', 'pids.max')),
        cpu: Number(await read('cpu', 'cpu.shares', 'cpu.weight')),
      };
    };
    const h = await groups(await hostPid(hostile.uid, hostile.pid));
    const w = await groups(v.hostPid);
    assert.notEqual(h.path, w.path, 'two instances, two cgroups');
    assert.equal(h.memory, 512 * 1024 * 1024);
    assert.equal(w.memory, 128 * 1024 * 1024);
    assert.equal(h.pids, 64);
    assert.equal(w.pids, 64);
    assert.equal(h.cpu / w.cpu, 4, 'CPU weight in proportion to memorySize');
  });
});

test('the data directory stays closed to others, and code is kept beside the data', async () => {
  assert.equal((await stat(server.dataDir)).mode & 0o777, 0o700);
  assert.ok((await readdir(join(server.dataDir, 'code'))).length > 0);
});

test('this node reports its isolation in /readyz and GET /v1/server', async () => {
  const ready = await api('GET', '/readyz');
  const { node, isolation } = ready.body as { node: string; isolation: Record<string, unknown> };
  assert.equal(isolation.sandbox, 'bubblewrap');
  assert.equal(isolation.users, process.getuid?.() === 0 ? 'per-function' : 'server');
  assert.match(isolation.limits as string, /^cgroup-v[12]$/);
  assert.deepEqual((await api('GET', '/v1/server')).body, { node, isolation, dataPlane: null });
  assert.equal((await apiClient(server.url, undefined)('GET', '/v1/server')).status, 401);
});

describe('a host without bubblewrap', () => {
  const missing = { ...process.env, SLUICE_BWRAP: '/nonexistent/bwrap' };

  test('--isolation required refuses to start, saying why', async () => {
    const dir = await makeDataDir();
    try {
      await assert.rejects(
        spawnServer(['--data-dir', dir.dataDir, '--isolation', 'required'], missing),
        (error: Error) => {
          assert.match(error.message, /exited with 1/);
          assert.match(error.message, /--isolation required.*bubblewrap is not installed/);
          return true;
        },
      );
    } finally {
      await dir.remove();
    }
  });

  test('by default the server still runs, and says loudly that functions are not isolated', async () => {
    const dir = await makeDataDir();
    const started = await spawnServer(['--data-dir', dir.dataDir], missing);
    try {
      assert.match(started.output(), /isolation: NONE, functions run as plain processes/);
      const ready = await fetch(`${started.url}/readyz`);
      const body = (await ready.json()) as { isolation: { sandbox: string; problems: string[] } };
      assert.equal(body.isolation.sandbox, 'none');
      assert.match(body.isolation.problems.join(' '), /bubblewrap is not installed/);
    } finally {
      started.child.kill('SIGTERM');
      await new Promise((resolve) => started.child.once('exit', resolve));
      await dir.remove();
    }
  });
});

test('a server removes the cgroups that a killed server left behind, and its own when it stops', async () => {
  const host = await readCgroupHost();
  const parent = host.v1
    ? join(host.v1.pids.mount, host.v1.pids.own)
    : join(host.v2?.mount ?? '', host.v2?.own ?? '');
  // Above the kernel's largest pid (4194304 at most): no process has it. Made of this test's own pid, since
  // other test runs on the host share the cgroup tree, and one's stale subtree must not be another's.
  const stale = join(parent, `sluice-${999_000_000 + process.pid}-abcdef`);
  await mkdir(join(stale, 'i1'), { recursive: true });
  const dir = await makeDataDir();
  const other = await startSluice(dir.dataDir);
  try {
    assert.equal(await stat(stale).catch(() => undefined), undefined, 'the stale subtree is gone');
    const own = (await readdir(parent)).filter((e) => e.startsWith(`sluice-${String(other.child.pid)}-`));
    assert.equal(own.length, 1, 'the new server made its own');
    await other.stop();
    assert.deepEqual(
      (await readdir(parent)).filter((e) => e.startsWith(`sluice-${String(other.child.pid)}-`)),
      [],
      'and removed it when it stopped',
    );
  } finally {
    await other.stop();
    await dir.remove();
  }
});

// An operator who runs Sluice as an ordinary user: no per-function users and no cgroups to be had, but the
// sandbox still keeps the server's files, and the token above all, out of its functions' reach.
test('run as an ordinary user: rootless sandboxes, and a function cannot read the server’s data', async (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to become an ordinary user');
    return;
  }
  const dir = await makeDataDir();
  await chown(dir.dataDir, NOBODY, NOBODY);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir.dataDir };
  const started = await spawnServer(['--data-dir', dir.dataDir], env, SLUICE_BIN, [
    '/usr/bin/setpriv',
    `--reuid=${NOBODY}`,
    `--regid=${NOBODY}`,
    '--clear-groups',
  ]);
  try {
    assert.match(started.output(), /isolation: a bubblewrap sandbox per instance, the server's user/);
    const token = (await readFile(join(dir.dataDir, 'admin-token'), 'utf8')).trim();
    const rootless = apiClient(started.url, token);
    const ready = (await rootless('GET', '/readyz')).body as { isolation: Record<string, unknown> };
    assert.equal(ready.isolation.sandbox, 'bubblewrap');
    assert.equal(ready.isolation.users, 'server');
    const zip = await zipOf({ 'index.js': HOSTILE_NODE });
    const created = await rootless('POST', '/v1/functions', {
      name: 'hostile',
      runtime: 'nodejs20',
      handler: 'index.handler',
      code: { zipFile: zip.toString('base64') },
    });
    assert.equal(created.status, 201, created.bytes.toString());
    const res = await rootless(
      'POST',
      '/v1/functions/hostile/invocations',
      JSON.stringify({ op: 'look-around', dataDir: dir.dataDir }),
      { 'content-type': 'application/octet-stream' },
    );
    assert.equal(res.status, 200, res.bytes.toString());
    const seen = res.body as Record<string, unknown>;
    for (const key of ['dataDir', 'token', 'database']) assert.equal(seen[key], 'ENOENT', key);
    assert.notEqual(seen.unshare, 0, 'no user namespace inside the sandbox');
  } finally {
    started.child.kill('SIGTERM');
    await new Promise((resolve) => started.child.once('exit', resolve));
    await dir.remove();
  }
});
