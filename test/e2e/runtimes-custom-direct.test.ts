import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient } from '../support/api-client.js';
import { createFunctions, zipOf } from '../support/code.js';
import { standbyReady, tailInvoker, type TailInvoke } from '../support/runtime-checks.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// Sluice speaks HTTP to a custom runtime's server straight, on connections its relay opens inside the
// instance's sandbox and hands over: what that must not cost in isolation, and what it saves.

/**
 * A server that tells its instance, the descriptors it was started with, and what it reaches on a port of
 * the loopback it sees.
 */
const PROBE = `#!/usr/bin/env python3
import json, os, socket, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False

INHERITED = [fd for fd in range(3, 1024) if is_open(fd)]
INSTANCE = str(uuid.uuid4())
PORT = int(os.environ['FC_SERVER_PORT'])

def reach(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
            s.sendall(b'POST /invoke HTTP/1.1\\r\\nhost: x\\r\\ncontent-length: 17\\r\\nconnection: close\\r\\n\\r\\n{"op": "whoami"}\\n')
            data = b''
            while chunk := s.recv(4096):
                data += chunk
            return json.loads(data.split(b'\\r\\n\\r\\n', 1)[1])['instance']
    except OSError as error:
        return type(error).__name__

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    disable_nagle_algorithm = True
    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get('content-length') or 0)) or b'{}')
        op = req.get('op')
        if op == 'reach':
            out = {'reached': reach(req['port'])}
        else:
            out = {'instance': INSTANCE, 'port': PORT, 'inherited': INHERITED}
        data = json.dumps(out).encode()
        self.send_response(200)
        self.send_header('content-type', 'application/json')
        self.send_header('content-length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass

ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
`;

interface Whoami {
  instance: string;
  port: number;
  inherited: number[];
}

let server: SluiceProcess;
let invoke: TailInvoke;
let removeDir: () => Promise<void>;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir, ['--queue-per-function', '0']);
  const api = apiClient(server.url, server.token);
  invoke = tailInvoker(api);
  const probe = await zipOf({ bootstrap: PROBE }, ['bootstrap']);
  await createFunctions(api, [
    ['victimnone', probe, { runtime: 'custom', network: 'none' }],
    ['victimhost', probe, { runtime: 'custom' }],
    ['attackernone', probe, { runtime: 'custom', network: 'none' }],
    ['attackerhost', probe, { runtime: 'custom' }],
    ['concurrent', probe, { runtime: 'custom', instanceConcurrency: 4 }],
  ]);
});

after(async () => {
  await server.stop();
  await removeDir();
});

async function call<T>(fn: string, payload: unknown): Promise<T> {
  const res = await invoke(fn, payload);
  assert.equal(res.status, 200, res.bytes.toString());
  return res.body as T;
}

test("the function's server is started holding no descriptor of Sluice's: not its channel, not the relay's", async () => {
  // Sluice gives an instance's process fds 3 to 7: its channel, bubblewrap's three, and the relay's IPC channel.
  for (const fn of ['victimnone', 'victimhost']) {
    const { inherited } = await call<Whoami>(fn, {});
    assert.deepEqual(
      inherited.filter((fd) => fd <= 7),
      [],
      fn,
    );
  }
});

test("with network none, an instance's port is on its own loopback: no other instance reaches it", async () => {
  const victim = await call<Whoami>('victimnone', {});
  const attacker = await call<Whoami>('attackernone', {});
  assert.equal(attacker.port, victim.port, "both listen on Function Compute's 9000");
  // On the same port, an instance with a loopback of its own reaches itself only.
  assert.deepEqual(await call('attackernone', { op: 'reach', port: victim.port }), {
    reached: attacker.instance,
  });
  // From the host's network, the port is not the victim's either.
  const fromHost = await call<{ reached: string }>('attackerhost', { op: 'reach', port: victim.port });
  assert.notEqual(fromHost.reached, victim.instance);
  // Nor can an instance of its own network reach a server on the host's loopback.
  const host = await call<Whoami>('victimhost', {});
  assert.deepEqual(await call('attackernone', { op: 'reach', port: host.port }), {
    reached: 'ConnectionRefusedError',
  });
});

test('an instance taking several invocations at once gets a connection for each, and again once they are free', async () => {
  const answers = await Promise.all(Array.from({ length: 8 }, () => call<Whoami>('concurrent', {})));
  assert.ok(answers.every((a) => typeof a.instance === 'string'));
  const again = await Promise.all(Array.from({ length: 8 }, () => call<Whoami>('concurrent', {})));
  assert.ok(again.every((a) => typeof a.instance === 'string'));
});

/** Clock ticks of CPU (user and system) that every relay under this test's server has used. */
async function relaysCpuTicks(): Promise<number> {
  const parents = new Map<number, number>();
  const relays: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const [stat, cmdline] = await Promise.all([
      readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''),
      readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => ''),
    ]);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parents.set(Number(entry), Number(fields[1]));
    if (cmdline.includes('bootstraps/custom.js')) relays.push(Number(entry));
  }
  const ours = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p))
      if (p === server.child.pid) return true;
    return false;
  };
  let ticks = 0;
  for (const pid of relays.filter(ours)) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks;
}

test('a warm invocation costs the relay nothing: it is not on the way', async () => {
  await call('victimhost', {});
  // Measured once the standbys that replaced those taken have started, which costs them CPU of their own.
  let before = await relaysCpuTicks();
  for (;;) {
    await sleep(300);
    const now = await relaysCpuTicks();
    if (now === before) break;
    before = now;
  }
  const calls = 300;
  for (let i = 0; i < calls; i++) await call('victimhost', {});
  const ticks = (await relaysCpuTicks()) - before;
  // Relaying each call cost 0.7–1.0 ms of CPU: 21–30 ticks (of 10 ms) for these calls.
  assert.ok(ticks <= 3, `the relays used ${ticks * 10} ms of CPU over ${calls} calls`);
});

test('unsandboxed (--isolation none), Sluice reaches the server the same way, from a standby and not', async () => {
  const dir = await makeDataDir();
  const plain = await startSluice(dir.dataDir, ['--isolation', 'none']);
  try {
    const api = apiClient(plain.url, plain.token);
    const probe = await zipOf({ bootstrap: PROBE }, ['bootstrap']);
    await createFunctions(api, [
      ['first', probe, { runtime: 'custom' }],
      ['second', probe, { runtime: 'custom' }],
    ]);
    const invokePlain = tailInvoker(api);
    // The first cold start starts a process of its own; the next takes the standby made after it.
    for (const fn of ['first', 'second']) {
      if (fn === 'second') await standbyReady(plain, 'custom');
      const res = await invokePlain(fn, {});
      assert.equal(res.status, 200, res.bytes.toString());
      assert.equal(typeof (res.body as Whoami).instance, 'string');
    }
  } finally {
    await plain.stop();
    await dir.remove();
  }
});
