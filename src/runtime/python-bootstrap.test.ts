import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BootstrapProcess,
  logIndex,
  logText as text,
  stackTraceOf,
  type BootstrapStart,
  type InitFailure,
  itReportsInitErrors,
  itRunsScfHandlers,
} from '../../test/support/bootstrap-process.js';

// Compiled to dist/src/runtime/, three levels below the repository root.
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const bootstrap = path.join(repoRoot, 'runtime/python/bootstrap.py');
// SLUICE_TEST_PYTHON runs the suite against another interpreter, such as the oldest supported (3.9).
const python = process.env['SLUICE_TEST_PYTHON'] ?? '/usr/bin/python3';
const MiB = 1024 * 1024;

const SEED_SAMPLE = `# -*- coding: utf-8 -*-

def handler(event, context):
  qualifier = context.service.qualifier
  versionId = context.service.version_id
  print('Qualifier from context:' + qualifier)
  print('VersionId from context:' + versionId)
  return 'hello world'
`;

type Files = Pick<BootstrapStart, 'files' | 'handler' | 'concurrency' | 'convention'>;

const PYTHON = {
  command: python,
  args: ['-s', '-u', bootstrap],
  env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', FC_FUNCTION_NAME: 'B', FC_RUNTIME: 'python3' },
};

/** A Python bootstrap process, started (or started and ready) over `files`. */
const Instance = {
  start: (options: Files) => BootstrapProcess.start({ ...PYTHON, ...options }),
  ready: (options: Files) => BootstrapProcess.ready({ ...PYTHON, ...options }),
};

afterEach(() => BootstrapProcess.stopAll());

describe('the Python bootstrap', () => {
  itRunsScfHandlers(
    {
      'index.py': `import json

FIELDS = ('request_id', 'function_name', 'function_version', 'namespace', 'qualifier',
          'time_limit_in_ms', 'memory_limit_in_mb')


def main_handler(event, context):
    return {
        'event': event,
        'scf': {name: context[name] for name in FIELDS},
        'fcRequestId': context.request_id,
        'namespace': json.loads(context['environment'])['SCF_NAMESPACE'],
    }
`,
    },
    Instance.ready,
  );

  it('runs the sample handler unchanged, with its logs tagged by invocation', async () => {
    const instance = await Instance.ready({ files: { 'index.py': SEED_SAMPLE } });
    const { frame, logs } = await instance.invoke(1);
    assert.deepEqual(frame.header, { type: 'result', id: 1, kind: 'text' });
    assert.equal(frame.body.toString('utf8'), 'hello world');
    assert.equal(text(logs), 'Qualifier from context:alias1\nVersionId from context:1\n');
    assert.ok(logs.every((f) => f.header['stream'] === 'stdout'));
    const again = await instance.invoke(2);
    assert.equal(text(again.logs), 'Qualifier from context:alias1\nVersionId from context:1\n');
    assert.equal(instance.stdout + instance.stderr, '', 'nothing leaks to the pipes');
  });

  it('gives the handler a context shaped like Function Compute', async () => {
    const code = `
import json
def handler(event, context):
    f, s = context.function, context.service
    return {'requestId': context.request_id, 'function': [f.name, f.handler, f.memory, f.memory_size, f.timeout],
            'service': [s.name, s.qualifier, s.version_id], 'region': context.region, 'account': context.account_id}
`;
    const instance = await Instance.ready({ files: { 'index.py': code } });
    const { frame } = await instance.invoke(5);
    assert.deepEqual(JSON.parse(frame.body.toString('utf8')), {
      requestId: 'req-5',
      function: ['B', 'index.handler', 128, 128, 3],
      service: ['B', 'alias1', '1'],
      region: 'local',
      account: 'sluice',
    });
  });

  it('answers text, bytes and JSON results by their type', async () => {
    const code = `
def handler(event, context):
    kind = event.decode()
    return {'text': 'héllo ✓', 'bytes': b'\\x00\\x01\\xff', 'bytearray': bytearray(b'ab'),
            'dict': {'a': 1, 'é': [True, None, 1.5]}, 'none': None, 'int': 42, 'set': {1}}[kind]
`;
    const instance = await Instance.ready({ files: { 'index.py': code } });
    const call = async (id: number, kind: string) => (await instance.invoke(id, Buffer.from(kind))).frame;

    const textual = await call(1, 'text');
    assert.equal(textual.header['kind'], 'text');
    assert.equal(textual.body.toString('utf8'), 'héllo ✓');
    const binary = await call(2, 'bytes');
    assert.equal(binary.header['kind'], 'bytes');
    assert.deepEqual(binary.body, Buffer.from([0, 1, 255]));
    assert.deepEqual((await call(3, 'bytearray')).body, Buffer.from('ab'));
    const json = await call(4, 'dict');
    assert.equal(json.header['kind'], 'json');
    assert.deepEqual(JSON.parse(json.body.toString('utf8')), { a: 1, é: [true, null, 1.5] });
    const none = await call(5, 'none');
    assert.equal(none.header['kind'], 'json');
    assert.equal(none.body.toString(), 'null');
    assert.equal((await call(6, 'int')).body.toString(), '42');

    const unserializable = await call(7, 'set');
    assert.equal(unserializable.header.type, 'error');
    assert.equal(unserializable.header['errorType'], 'TypeError');
    assert.match(
      String(unserializable.header['errorMessage']),
      /returned a set that cannot be serialized as JSON/,
    );
  });

  it('reports an exception as an error frame with its type and stack, and keeps serving', async () => {
    const code = `
def inner(event):
    raise ValueError('boom: ' + event.decode())

def handler(event, context):
    print('about to fail')
    if event == b'ok':
        return 'fine'
    inner(event)
`;
    const instance = await Instance.ready({ files: { 'index.py': code } });
    const { frame, logs } = await instance.invoke(1, Buffer.from('x'));
    assert.equal(frame.header.type, 'error');
    assert.equal(frame.header['id'], 1);
    assert.equal(frame.header['errorType'], 'ValueError');
    assert.equal(frame.header['errorMessage'], 'boom: x');
    const stack = stackTraceOf(frame);
    assert.ok(
      stack.some((line) => line.includes('index.py') && line.includes('in inner')),
      stack.join('\n'),
    );
    assert.equal(stack.at(-1), 'ValueError: boom: x');
    assert.ok(!stack.some((line) => line.includes('bootstrap.py')), 'the bootstrap hides its own frames');
    assert.equal(text(logs), 'about to fail\n');
    assert.equal((await instance.invoke(2, Buffer.from('ok'))).frame.body.toString(), 'fine');
  });

  it('answers a handler calling exit with an error frame, then exits with its status', async () => {
    const code = 'import sys\ndef handler(event, context):\n    print("bye")\n    sys.exit(3)\n';
    const instance = await Instance.ready({ files: { 'index.py': code } });
    const { frame, logs } = await instance.invoke(1);
    assert.equal(frame.header.type, 'error');
    assert.equal(frame.header['errorType'], 'SystemExit');
    assert.match(String(frame.header['errorMessage']), /exit\(3\)/);
    assert.equal(text(logs), 'bye\n');
    assert.equal(await instance.exitCode(), 3);
  });

  describe('initError', () => {
    const cases: InitFailure[] = [
      {
        name: 'a missing module',
        files: { 'other.py': '' },
        errorType: 'ModuleNotFoundError',
        message: /index/,
      },
      {
        name: 'a missing function',
        files: { 'index.py': 'def other(event, context):\n    pass\n' },
        errorType: 'AttributeError',
        message: /handler/,
      },
      {
        name: 'a syntax error',
        files: { 'index.py': 'def handler(event, context)\n    return 1\n' },
        errorType: 'SyntaxError',
        message: /./,
      },
      {
        name: 'an exception at import',
        files: { 'index.py': 'print("loading")\nraise RuntimeError("no config")\n' },
        errorType: 'RuntimeError',
        message: /^no config$/,
      },
      {
        name: 'a handler that is not callable',
        files: { 'index.py': 'handler = 42\n' },
        errorType: 'TypeError',
        message: /not a function/,
      },
    ];
    itReportsInitErrors(cases, (options) => Instance.start(options));

    it('points a syntax error at the file and line', async () => {
      const instance = await Instance.start({
        files: { 'index.py': 'x = 1\ndef handler(event, context)\n' },
      });
      const frame = await instance.waitFor((f) => f.header.type === 'initError');
      const stack = stackTraceOf(frame).join('\n');
      assert.match(stack, /index\.py", line 2/);
      assert.doesNotMatch(stack, /bootstrap\.py|frozen importlib/);
    });

    it('sends what the module printed at import, untagged, before the initError', async () => {
      const instance = await Instance.start({
        files: { 'index.py': 'print("loading")\nraise RuntimeError("x")\n' },
      });
      await instance.waitFor((f) => f.header.type === 'initError');
      assert.deepEqual(
        instance.received.map((f) => [f.header.type, f.header['id'], f.body.toString()]),
        [
          ['log', null, 'loading\n'],
          ['initError', undefined, ''],
        ],
      );
    });
  });

  it('loads a handler from a file in a subdirectory', async () => {
    const files = { 'a/b.py': 'from helper import NAME\ndef main(event, context):\n    return NAME\n' };
    const instance = await Instance.ready({
      files: { ...files, 'helper.py': 'NAME = "from a/b"\n' },
      handler: 'a/b.main',
    });
    assert.equal((await instance.invoke(1)).frame.body.toString(), 'from a/b');
  });

  it("reports the remaining time, decreasing from the function's timeout at the invocation's start", async () => {
    const code = `
import time
def handler(event, context):
    first = context.get_remaining_time_in_millis()
    time.sleep(0.1)
    return [first, context.get_remaining_time_in_millis()]
`;
    const instance = await Instance.ready({ files: { 'index.py': code } });
    const sent = Date.now();
    const { frame } = await instance.invoke(1);
    const answered = Date.now();
    const [first, second] = JSON.parse(frame.body.toString()) as [number, number];
    // Bounded by what this side saw of the clock, however long the machine took to pass the frames.
    assert.ok(first <= 3000 && first >= 3000 - (answered - sent), `first ${first}`);
    assert.ok(second <= first - 90, `second ${second} after first ${first} and a sleep of 100 ms`);
  });

  for (const concurrency of [1, 2]) {
    it(`runs invocations sent beyond its concurrency (${concurrency}) in order, each once one running ends`, async () => {
      const code = `
import time
def handler(event, context):
    started = time.time() * 1000
    remaining = context.get_remaining_time_in_millis()
    if event == b'slow':
        time.sleep(0.5)
    return {'started': started, 'remaining': remaining, 'ended': time.time() * 1000}
`;
      const instance = await Instance.ready({ files: { 'index.py': code }, concurrency });
      const events = [...Array<string>(concurrency).fill('slow'), 'fast'];
      const runs = (
        await Promise.all(events.map((event, i) => instance.invoke(i + 1, Buffer.from(event))))
      ).map(
        (reply) =>
          JSON.parse(reply.frame.body.toString()) as { started: number; remaining: number; ended: number },
      );
      const fast = runs[concurrency] as (typeof runs)[0];
      const slows = runs.slice(0, concurrency);
      assert.ok(
        fast.started >= Math.min(...slows.map((r) => r.ended)) - 1,
        'the last waits for a slow one to end',
      );
      assert.ok(fast.remaining > 2900, `remaining ${fast.remaining} at the start of a queued invocation`);
    });
  }

  it('runs invocations concurrently, tagging each log line with its own invocation', async () => {
    // Each ends only once all four have started, not after a pause that a loaded machine could outlast before
    // the fourth frame is read; run one at a time, the barrier would break at its bound and fail them.
    const code = `
import threading
together = threading.Barrier(4, timeout=30)
def handler(event, context):
    print('start ' + context.request_id)
    together.wait()
    print('end', context.request_id, end='')
    return context.request_id
`;
    const instance = await Instance.ready({ files: { 'index.py': code }, concurrency: 4 });
    const replies = await Promise.all([1, 2, 3, 4].map((id) => instance.invoke(id)));
    const ids = ['req-1', 'req-2', 'req-3', 'req-4'];
    const lastStart = Math.max(...ids.map((id) => logIndex(instance, `start ${id}`)));
    const firstEnd = Math.min(...ids.map((id) => logIndex(instance, `end ${id}`)));
    assert.ok(lastStart < firstEnd, 'all four had started before any ended');
    replies.forEach(({ frame, logs }, index) => {
      const id = index + 1;
      assert.equal(frame.body.toString(), `req-${id}`);
      assert.equal(
        text(logs),
        `start req-${id}\nend req-${id}`,
        'the partial last line is flushed with its id',
      );
    });
  });

  it('runs invocations one after the other with a concurrency of 1', async () => {
    const code = `
import time
def handler(event, context):
    print('start ' + context.request_id)
    time.sleep(0.05)
    print('end ' + context.request_id)
`;
    const instance = await Instance.ready({ files: { 'index.py': code } });
    await Promise.all([1, 2, 3].map((id) => instance.invoke(id)));
    const order = ['start req-1', 'end req-1', 'start req-2', 'end req-2', 'start req-3', 'end req-3'];
    const indexes = order.map((line) => logIndex(instance, line));
    assert.deepEqual(
      indexes,
      [...indexes].sort((a, b) => a - b),
      'each ended before the next started',
    );
  });

  it('truncates what one invocation logs at 1 MiB, and resets the budget for the next', async () => {
    const code = `
import sys
def handler(event, context):
    line = 'x' * 1023
    for i in range(2048):
        print(line, file=sys.stderr if i % 2 else sys.stdout)
    return 'done'
`;
    const instance = await Instance.ready({ files: { 'index.py': code } });
    for (const id of [1, 2]) {
      const { frame, logs } = await instance.invoke(id);
      assert.equal(frame.body.toString(), 'done');
      const output = text(logs);
      assert.ok(output.endsWith('\n[sluice] log output truncated at 1 MiB\n'));
      const kept = output.slice(0, -'[sluice] log output truncated at 1 MiB\n'.length);
      assert.equal(Buffer.byteLength(kept), MiB);
      assert.equal(output.match(/\[sluice\]/g)?.length, 1);
      assert.ok(logs.some((f) => f.header['stream'] === 'stderr'));
    }
  });

  it('round-trips a 5 MB payload byte for byte', async () => {
    const code = 'def handler(event, context):\n    assert isinstance(event, bytes)\n    return event\n';
    const instance = await Instance.ready({ files: { 'index.py': code } });
    const payload = randomBytes(5_000_000);
    const { frame } = await instance.invoke(1, payload);
    assert.equal(frame.header['kind'], 'bytes');
    assert.ok(frame.body.equals(payload));
  });

  it('exits with status 0 when the server closes fd 3', async () => {
    const instance = await Instance.ready({ files: { 'index.py': SEED_SAMPLE } });
    instance.closeSocket();
    assert.equal(await instance.exitCode(), 0);
  });

  it('exits promptly when fd 3 closes while handlers are still running', async () => {
    const code = 'import time\ndef handler(event, context):\n    print("running")\n    time.sleep(30)\n';
    const instance = await Instance.ready({ files: { 'index.py': code }, concurrency: 2 });
    instance.send({
      type: 'invoke',
      id: 1,
      requestId: 'r',
      qualifier: 'LATEST',
      versionId: '1',
    });
    await instance.waitFor((f) => f.header.type === 'log' && f.body.toString() === 'running\n');
    instance.closeSocket();
    // Well before the handler's 30 s: the bootstrap does not wait for it.
    assert.equal(await instance.exitCode(15_000), 0);
  });

  describe('as a standby, started before its function is known', () => {
    const REPORT = `import os, sys


def handler(event, context):
    return {
        'env': dict(os.environ),
        'cwd': os.getcwd(),
        'uid': os.getresuid(),
        'gid': os.getresgid(),
        'caps': [l for l in open('/proc/self/status') if l.startswith(('CapPrm', 'CapEff'))],
        'environ': len(open('/proc/self/environ', 'rb').read()) > 0,
        'modules': sorted(sys.modules),
    }
`;

    it('says it waits, then takes the environment, directory and (as root) user that init gives', async () => {
      const standby = await BootstrapProcess.spawn({ ...PYTHON, files: { 'index.py': REPORT } }, tmpdir());
      await standby.waiting;
      assert.deepEqual(standby.received, [], 'nothing else before init');
      // The function's user must be able to read its code, as the sandbox's view of it lets it.
      await chmod(standby.codeDir, 0o755);
      const root = process.getuid?.() === 0;
      const user = { uid: 700_000_123, gid: 700_000_124 };
      standby.init({ env: { ONLY: 'this', PATH: '/usr/bin:/bin' }, ...(root && { user }) });
      assert.equal((await standby.waitFor((f) => f.header.type !== 'log')).header.type, 'ready');
      const { frame } = await standby.invoke(1);
      const seen = JSON.parse(frame.body.toString()) as Record<string, unknown>;
      assert.deepEqual(seen.env, { ONLY: 'this', PATH: '/usr/bin:/bin' }, 'its own environment is gone');
      assert.equal(seen.cwd, await realpath(standby.codeDir));
      if (root) {
        assert.deepEqual(seen.uid, [user.uid, user.uid, user.uid]);
        assert.deepEqual(seen.gid, [user.gid, user.gid, user.gid]);
        assert.deepEqual(seen.caps, ['CapPrm:\t0000000000000000\n', 'CapEff:\t0000000000000000\n']);
        assert.equal(seen.environ, true, 'dumpable again, as after setpriv: its /proc/self is its own');
      }
    });

    it('imports neither socket, threads nor tracebacks to serve one invocation at a time', async () => {
      // -S: without the site packages, which import what they like.
      const bare = { ...PYTHON, args: ['-S', ...PYTHON.args] };
      const instance = await BootstrapProcess.ready({ ...bare, files: { 'index.py': REPORT } });
      const { frame } = await instance.invoke(1);
      const { modules } = JSON.parse(frame.body.toString()) as { modules: string[] };
      for (const lazy of ['socket', 'concurrent.futures', 'threading', 'traceback', 'importlib.util'])
        assert.ok(!modules.includes(lazy), `${lazy} is not imported`);
    });
  });
});
