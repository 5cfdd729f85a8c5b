import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { createFunctions, zipOf } from '../support/code.js';
import { hostPid, hostProcesses } from '../support/processes.js';
import { waitFor } from '../support/wait-for.js';
import {
  makeDataDir,
  OWN_INSTANCE_UIDS_FLAG,
  startSluice,
  type SluiceProcess,
} from '../support/server-process.js';

// Standbys on a root server, sandboxed as operators run it: a standby becomes one function's instance, sees
// that function's code, variables and user only, and is never given to another once that instance ends.

const REPORT = `import os


def handler(event, context):
    op = event.decode()
    if op == 'exit':
        os._exit(3)
    code = []
    for root, dirs, files in os.walk('/code'):
        code += [os.path.relpath(os.path.join(root, f), '/code') for f in files]
    status = dict(l.split(':', 1) for l in open('/proc/self/status').read().splitlines() if ':' in l)
    return {
        'pid': os.getpid(),
        'uid': os.getuid(),
        'env': dict(os.environ),
        'code': sorted(code),
        'mine': open('/code/mine.txt').read(),
        'caps': [status['CapPrm'].strip(), status['CapEff'].strip()],
        'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
        'environ': len(open('/proc/self/environ', 'rb').read()) > 0,
        'tmp': os.listdir('/tmp'),
    }
`;

interface Report {
  pid: number;
  uid: number;
  env: Record<string, string>;
  code: string[];
  mine: string;
  caps: string[];
  pids: number[];
  environ: boolean;
  tmp: string[];
}

const WAIT = { timeout: 60_000, interval: 20 };
let dir: Awaited<ReturnType<typeof makeDataDir>>;
let server: SluiceProcess;
let api: ApiCall;

before(async () => {
  dir = await makeDataDir();
  server = await startSluice(dir.dataDir, [
    '--isolation',
    'required',
    '--standby-instances',
    '1',
    ...OWN_INSTANCE_UIDS_FLAG,
  ]);
  api = apiClient(server.url, server.token);
  const fn = (name: string) =>
    [
      name,
      zipOf({ 'index.py': REPORT, 'mine.txt': name, [`only-${name}/x.txt`]: name }),
      { runtime: 'python3', timeout: 10, environmentVariables: { SECRET: `secret of ${name}` } },
    ] as const;
  const functions = await Promise.all(
    ['a', 'b', 'c'].map(async (name) => {
      const [n, zip, cfg] = fn(name);
      return [n, await zip, cfg] as const;
    }),
  );
  await createFunctions(api, functions);
});

after(async () => {
  await server.stop();
  await dir.remove();
});

async function call(name: string, op = 'report'): Promise<Report> {
  const res = await api('POST', `/v1/functions/${name}/invocations`, Buffer.from(op));
  assert.equal(res.status, 200, `${name}: ${res.bytes.toString()}`);
  return res.body as Report;
}

/** The host pids of the standbys of Python that wait for a function (root's, running the bootstrap). */
async function waitingStandbys(): Promise<number[]> {
  const found: number[] = [];
  for (const p of await hostProcesses()) {
    if (p.uid !== 0) continue;
    const cmdline = await readFile(`/proc/${p.pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes('/sluice/runtime/python/bootstrap.py') && !cmdline.includes('bwrap'))
      found.push(p.pid);
  }
  // Only this server's: its sandboxes are its children's children.
  const mine: number[] = [];
  for (const pid of found) if (await descendsFrom(pid, server.child.pid as number)) mine.push(pid);
  return mine;
}

async function descendsFrom(pid: number, ancestor: number): Promise<boolean> {
  for (let p = pid; p > 1;) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) return false;
    p = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (p === ancestor) return true;
  }
  return false;
}

/** The one standby of Python waiting, once there is one, as the metrics and the host's processes say. */
async function oneWaiting(): Promise<number> {
  return waitFor(
    async () => {
      const metrics = await (
        await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } })
      ).text();
      if (!metrics.includes('sluice_standby_instances{runtime="python3",network="host",state="ready"} 1'))
        return undefined;
      const pids = await waitingStandbys();
      return pids.length === 1 ? pids[0] : undefined;
    },
    { ...WAIT, what: 'one standby of Python waiting' },
  );
}

const codeViews = async () =>
  (await readdir(join(server.dataDir, 'code'))).filter((e) => e.startsWith('.view-'));

/** The view that shows a function's instance the file or directory `entry`. */
async function viewHolding(entry: string): Promise<string | undefined> {
  for (const view of await codeViews())
    if (existsSync(join(server.dataDir, 'code', view, entry))) return view;
  return undefined;
}

describe('standbys', () => {
  test('a standby made an instance of A sees A’s code, variables and user only, never B’s', async () => {
    // B's start is the profile's first: a process of its own, after which a standby is made.
    const b = await call('b');
    const standby = await oneWaiting();
    const a = await call('a');
    assert.equal(await hostPid(a.uid, a.pid), standby, 'A’s instance is the standby that waited');
    assert.deepEqual(a.code, ['index.py', 'mine.txt', 'only-a/x.txt']);
    assert.equal(a.mine, 'a');
    assert.equal(a.env.SECRET, 'secret of a');
    assert.ok(!JSON.stringify(a).includes('secret of b'), 'nothing of B’s variables');
    assert.equal(a.env.FC_FUNCTION_NAME, 'a');
    assert.equal(a.env.PWD, '/code');
    for (const uid of [0, b.uid, process.getuid?.()]) assert.notEqual(a.uid, uid);
    assert.deepEqual(a.caps, ['0000000000000000', '0000000000000000'], 'no capability left');
    assert.equal(a.environ, true, 'its /proc/self is its own, as an instance started by setpriv');
    assert.deepEqual(a.pids, b.pids, 'each sees its own runtime and the sandbox’s init only');
    assert.deepEqual(a.tmp, [], 'a /tmp of its own, empty');
    // The same function's next cold start (a new $LATEST) runs as the same user, from the next standby.
    await oneWaiting();
    await api('PATCH', '/v1/functions/a', { environmentVariables: { SECRET: 'changed' } });
    const again = await call('a');
    assert.equal(again.uid, a.uid);
    assert.equal(again.env.SECRET, 'changed');
  });

  test('a standby is never given to another function once its instance ends', async () => {
    const standby = await oneWaiting();
    const c = await call('c');
    assert.equal(await hostPid(c.uid, c.pid), standby);
    const viewOfC = await viewHolding('only-c');
    assert.ok(viewOfC, 'C’s code is shown to its instance through a view of its own');
    // C's instance ends (its process exits): the pool starts another, and C's next start takes that one.
    const res = await api('POST', '/v1/functions/c/invocations', Buffer.from('exit'));
    assert.equal(errorCode(res), 'InstanceCrashed', res.bytes.toString());
    const next = await oneWaiting();
    assert.notEqual(next, standby);
    await waitFor(async () => !(await hostProcesses()).some((p) => p.pid === standby), {
      ...WAIT,
      what: 'the process of C’s instance gone',
    });
    await waitFor(async () => !(await codeViews()).includes(viewOfC), { ...WAIT, what: 'C’s view removed' });
    const b = await call('b');
    assert.equal(b.env.SECRET, 'secret of b', 'B’s warm instance, untouched');
    const c2 = await call('c');
    assert.equal(await hostPid(c2.uid, c2.pid), next, 'C’s next instance is the next standby, not the first');
    assert.equal(c2.uid, c.uid);
    assert.deepEqual(c2.code, ['index.py', 'mine.txt', 'only-c/x.txt']);
  });
});
