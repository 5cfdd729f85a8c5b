import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
import { SEED_NODE_HANDLER } from '../contract/seed-handlers.js';
import { CONFIG_DEFAULTS } from '../core/function-config.js';
import { bootstrapCommand, findInterpreters } from './launchers.js';

// The Node.js bootstrap over its protocol channel, as python-bootstrap.test.ts tests the Python one: started
// the way the server starts it on the host, with no server around it.

const MiB = 1024 * 1024;
const { command, args } = bootstrapCommand(
  { ...CONFIG_DEFAULTS, runtime: 'nodejs20', memorySize: 128 },
  findInterpreters(),
  'host',
);
const NODE = {
  command,
  args,
  env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', FC_FUNCTION_NAME: 'B', FC_RUNTIME: 'nodejs20' },
};

type Files = Pick<BootstrapStart, 'files' | 'handler' | 'concurrency' | 'convention'>;
const start = (options: Files) => BootstrapProcess.start({ ...NODE, ...options });
const ready = (options: Files) => BootstrapProcess.ready({ ...NODE, ...options });

afterEach(() => BootstrapProcess.stopAll());

describe('the Node.js bootstrap', () => {
  it('runs the seeds’ sample handler unchanged, with its logs tagged by invocation', async () => {
    const instance = await ready({ files: { 'index.js': SEED_NODE_HANDLER } });
    for (const id of [1, 2]) {
      const { frame, logs } = await instance.invoke(id);
      assert.deepEqual(frame.header, { type: 'result', id, kind: 'text' });
      assert.equal(frame.body.toString(), 'alias1');
      assert.equal(text(logs), 'Qualifier from context: alias1\nVersionId from context:  1\n');
    }
    assert.equal(instance.stdout + instance.stderr, '', 'nothing leaks to the pipes');
  });

  it("gives the handler a context shaped like Function Compute, its remaining time the function's timeout from its start", async () => {
    const code = `exports.handler = async (event, context) => {
      const first = context.getRemainingTimeInMillis();
      await new Promise((r) => setTimeout(r, 100));
      return { ...context, remaining: [first, context.getRemainingTimeInMillis()] };
    };`;
    const instance = await ready({ files: { 'index.js': code } });
    const sent = Date.now();
    const { frame } = await instance.invoke(5);
    const answered = Date.now();
    const { remaining, ...context } = JSON.parse(frame.body.toString()) as Record<string, unknown> & {
      remaining: [number, number];
    };
    assert.deepEqual(context, {
      requestId: 'req-5',
      credentials: {},
      function: { name: 'B', handler: 'index.handler', memory: 128, memorySize: 128, timeout: 3 },
      service: { name: 'B', qualifier: 'alias1', versionId: '1' },
      region: 'local',
      accountId: 'sluice',
    });
    const [first, second] = remaining;
    // Bounded by what this side saw of the clock, however long the machine took to pass the frames.
    assert.ok(first <= 3000 && first >= 3000 - (answered - sent), `first ${first}`);
    assert.ok(second <= first - 90, `second ${second} after first ${first} and a timer of 100 ms`);
  });

  it('runs invocations sent beyond its concurrency in order, each once one running ends, its time from then', async () => {
    const code = `exports.handler = async (event, context) => {
      const started = Date.now();
      const remaining = context.getRemainingTimeInMillis();
      if (String(event) === 'slow') await new Promise((r) => setTimeout(r, 500));
      return { started, remaining, ended: Date.now() };
    };`;
    const instance = await ready({ files: { 'index.js': code }, concurrency: 2 });
    const sent = ['slow', 'slow', 'fast', 'fast'].map((event, i) =>
      instance.invoke(i + 1, Buffer.from(event)),
    );
    const runs = (await Promise.all(sent)).map(
      (reply) =>
        JSON.parse(reply.frame.body.toString()) as { started: number; remaining: number; ended: number },
    );
    const [slow1, slow2, fast1, fast2] = runs as [
      (typeof runs)[0],
      (typeof runs)[0],
      (typeof runs)[0],
      (typeof runs)[0],
    ];
    assert.ok(slow2.started < slow1.ended, 'two run at once');
    assert.ok(fast1.started >= Math.min(slow1.ended, slow2.ended), 'the third waits for one of them to end');
    assert.ok(fast2.started >= fast1.started, 'and the fourth after it');
    // Queued for 500 ms, it still has the whole timeout of 3 s when it starts.
    assert.ok(fast1.remaining > 2900, `remaining ${fast1.remaining} at the start of a queued invocation`);
  });

  it('answers no queued invocation when an uncaught exception ends it: the server runs those elsewhere', async () => {
    const code = `exports.handler = async (event) => {
      if (String(event) === 'throw') setTimeout(() => { throw new Error('boom'); }, 100);
      await new Promise((r) => setTimeout(r, 1000));
      return 'ran';
    };`;
    const instance = await ready({ files: { 'index.js': code } });
    void instance.invoke(1, Buffer.from('throw')).catch(() => undefined);
    void instance.invoke(2, Buffer.from('queued')).catch(() => undefined);
    assert.equal(await instance.exitCode(), 1);
    const answered = instance.received
      .filter((f) => f.header.type === 'result' || f.header.type === 'error' || f.header.type === 'exiting')
      .map((f) => [f.header.type, f.header['id']]);
    assert.deepEqual(answered, [
      ['exiting', undefined],
      ['error', 1],
    ]);
  });

  it('answers by the type of the result, whether returned, resolved or called back', async () => {
    const code = `exports.handler = (event, context, callback) => {
      const results = {
        text: 'héllo ✓', bytes: Buffer.from([0, 1, 255]), json: { a: 1, é: [true, null, 1.5] },
        undefined: undefined, bigint: 1n, fn: () => 1,
      };
      const [style, kind] = event.toString().split(' ');
      const result = results[kind];
      if (style === 'callback') setTimeout(() => callback(null, result), 1);
      else if (style === 'promise') return Promise.resolve(result);
      else { callback(null, result); return 'ignored'; }
    };`;
    const instance = await ready({ files: { 'index.js': code } });
    let id = 0;
    for (const style of ['callback', 'promise', 'sync']) {
      const call = async (kind: string) =>
        (await instance.invoke(++id, Buffer.from(`${style} ${kind}`))).frame;
      const textual = await call('text');
      assert.equal(textual.header['kind'], 'text', style);
      assert.equal(textual.body.toString(), 'héllo ✓');
      const binary = await call('bytes');
      assert.equal(binary.header['kind'], 'bytes', style);
      assert.deepEqual(binary.body, Buffer.from([0, 1, 255]));
      const json = await call('json');
      assert.equal(json.header['kind'], 'json', style);
      assert.deepEqual(JSON.parse(json.body.toString()), { a: 1, é: [true, null, 1.5] });
      assert.equal((await call('undefined')).body.toString(), 'null', style);
      for (const kind of ['bigint', 'fn']) {
        const refused = await call(kind);
        assert.equal(refused.header.type, 'error', `${style} ${kind}`);
        assert.equal(refused.header['errorType'], 'TypeError');
      }
    }
  });

  it('reports a thrown, rejected or called-back error with its type and stack, and keeps serving', async () => {
    const code = `function inner(how) { const e = new RangeError('boom: ' + how); e.name = 'RangeError'; return e; }
    exports.handler = (event, context, callback) => {
      const how = event.toString();
      console.log('about to fail');
      if (how === 'ok') return callback(null, 'fine');
      if (how === 'throw') throw inner(how);
      if (how === 'reject') return Promise.reject(inner(how));
      callback(inner(how));
    };`;
    const instance = await ready({ files: { 'index.js': code } });
    let id = 0;
    for (const how of ['throw', 'reject', 'callback']) {
      const { frame, logs } = await instance.invoke(++id, Buffer.from(how));
      assert.equal(frame.header.type, 'error', how);
      assert.equal(frame.header['errorType'], 'RangeError');
      assert.equal(frame.header['errorMessage'], `boom: ${how}`);
      assert.ok(
        stackTraceOf(frame).some((line) => line.includes('index.js') && line.includes('inner')),
        how,
      );
      assert.equal(text(logs), 'about to fail\n');
    }
    assert.equal((await instance.invoke(++id, Buffer.from('ok'))).frame.body.toString(), 'fine');
  });

  describe('initError', () => {
    const cases: InitFailure[] = [
      {
        name: 'a missing file',
        files: { 'other.js': '' },
        errorType: 'HandlerNotFound',
        message: /cannot find index\.js/,
      },
      {
        name: 'a missing export',
        files: { 'index.js': 'exports.other = () => 1;' },
        errorType: 'HandlerNotFound',
        message: /does not export a function named handler/,
      },
      {
        name: 'a syntax error',
        files: { 'index.js': 'exports.handler = (' },
        errorType: 'SyntaxError',
        message: /./,
      },
      {
        name: 'an exception at load',
        files: { 'index.js': 'console.log("loading"); throw new TypeError("no config");' },
        errorType: 'TypeError',
        message: /^no config$/,
      },
    ];
    itReportsInitErrors(cases, start);
  });

  itRunsScfHandlers(
    {
      'index.js': `exports.main_handler = async (event, context) => ({
  event,
  scf: {
    request_id: context.request_id,
    function_name: context.function_name,
    function_version: context.function_version,
    namespace: context.namespace,
    qualifier: context.qualifier,
    time_limit_in_ms: context.time_limit_in_ms,
    memory_limit_in_mb: context.memory_limit_in_mb,
  },
  fcRequestId: context.requestId,
  namespace: JSON.parse(context.environment).SCF_NAMESPACE,
});
`,
    },
    ready,
  );

  it('loads an ES module handler from a subdirectory', async () => {
    const instance = await ready({
      files: { 'lib/main.mjs': 'export const run = async () => "from an ES module";' },
      handler: 'lib/main.run',
    });
    assert.equal((await instance.invoke(1)).frame.body.toString(), 'from an ES module');
  });

  it('runs invocations at once, tagging each log line with its own invocation, a timer’s included', async () => {
    // Each ends only once all four have started, not after a pause that a loaded machine could outlast before
    // the fourth frame is read; run one at a time, they would wait until the bound fails them.
    const code = `let arrived = 0;
    let allArrived;
    const together = new Promise((resolve, reject) => {
      allArrived = resolve;
      setTimeout(() => reject(new Error('the four never ran at once')), 30000).unref();
    });
    exports.handler = async (event, context) => {
      console.log('start ' + context.requestId);
      if (++arrived === 4) allArrived();
      await together;
      await new Promise((r) => setTimeout(r, 1));
      process.stdout.write('end ' + context.requestId);
      return context.requestId;
    };`;
    const instance = await ready({ files: { 'index.js': code }, concurrency: 4 });
    const replies = await Promise.all([1, 2, 3, 4].map((id) => instance.invoke(id)));
    const ids = ['req-1', 'req-2', 'req-3', 'req-4'];
    const lastStart = Math.max(...ids.map((id) => logIndex(instance, `start ${id}`)));
    const firstEnd = Math.min(...ids.map((id) => logIndex(instance, `end ${id}`)));
    assert.ok(lastStart < firstEnd, 'all four had started before any ended');
    replies.forEach(({ frame, logs }, index) => {
      assert.equal(frame.body.toString(), `req-${index + 1}`);
      assert.equal(text(logs), `start req-${index + 1}\nend req-${index + 1}`);
    });
  });

  it('truncates what one invocation logs at 1 MiB, and resets the budget for the next', async () => {
    const code = `exports.handler = async () => {
      const line = 'x'.repeat(1023) + '\\n';
      for (let i = 0; i < 2048; i++) (i % 2 ? process.stderr : process.stdout).write(line);
      return 'done';
    };`;
    const instance = await ready({ files: { 'index.js': code } });
    for (const id of [1, 2]) {
      const { frame, logs } = await instance.invoke(id);
      assert.equal(frame.body.toString(), 'done');
      const output = text(logs);
      assert.ok(output.endsWith('[sluice] log output truncated at 1 MiB\n'));
      assert.ok(Buffer.byteLength(output) <= MiB + 64, `${Buffer.byteLength(output)} bytes`);
      assert.equal(output.match(/\[sluice\]/g)?.length, 1);
      assert.ok(logs.some((f) => f.header['stream'] === 'stderr'));
    }
  });

  it('round-trips a 5 MB payload byte for byte', async () => {
    const instance = await ready({ files: { 'index.js': 'exports.handler = async (event) => event;' } });
    const payload = randomBytes(5_000_000);
    const { frame } = await instance.invoke(1, payload);
    assert.equal(frame.header['kind'], 'bytes');
    assert.ok(frame.body.equals(payload));
  });

  it('an uncaught exception fails every invocation in flight, says it is exiting, and exits with 1', async () => {
    const code = `exports.handler = (event) => new Promise(() => {
      if (event.toString() === 'crash') setTimeout(() => { throw new URIError('from a timer'); }, 1);
    });`;
    const instance = await ready({ files: { 'index.js': code }, concurrency: 2 });
    const waiting = instance.invoke(1);
    const crashing = instance.invoke(2, Buffer.from('crash'));
    for (const { frame } of await Promise.all([waiting, crashing])) {
      assert.equal(frame.header.type, 'error');
      assert.equal(frame.header['errorType'], 'URIError');
      assert.equal(frame.header['errorMessage'], 'from a timer');
    }
    const exiting = instance.received.findIndex((f) => f.header.type === 'exiting');
    const firstError = instance.received.findIndex((f) => f.header.type === 'error');
    assert.ok(exiting >= 0 && exiting < firstError, 'exiting comes before the answers');
    assert.equal(await instance.exitCode(), 1);
    assert.match(instance.stderr, /URIError: from a timer/);
  });

  it('exits with status 0 when the server closes fd 3, even with an invocation running', async () => {
    const code = `exports.handler = () => { console.log('running'); return new Promise(() => {}); };`;
    const instance = await ready({ files: { 'index.js': code } });
    instance.send({
      type: 'invoke',
      id: 1,
      requestId: 'r',
      qualifier: 'LATEST',
      versionId: '1',
      deadline: 0,
    });
    await instance.waitFor((f) => f.header.type === 'log' && f.body.toString() === 'running\n');
    instance.closeSocket();
    assert.equal(await instance.exitCode(), 0);
  });
});
