import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitFor } from '../../test/support/wait-for.js';
import { isSluiceError } from '../core/errors.js';
import { config } from '../../test/support/config.js';
import { Instance, NotStarted, type LaunchPlan, type LogLine, type RunnableVersion } from './instance.js';
import { CONFIG_DEFAULTS } from '../core/function-config.js';
import { bootstrapCommand, findInterpreters } from './launchers.js';
import { Unconfined } from './sandbox/sandbox.js';

// One instance: a real Node.js bootstrap process, unsandboxed (Unconfined polls its RSS), driven by Instance
// as the pool drives it. Timers here are the limits under test; none of them bounds how fast the machine is.

const LIMITS = { startTimeoutMs: 30_000, maxResponseBytes: 1024, memoryPollMs: 50 };
const dirs: string[] = [];
const instances: Instance[] = [];

after(async () => {
  for (const instance of instances) instance.kill('InstanceCrashed', 'the test is over');
  await Promise.all(instances.map((i) => i.exited));
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function version(overrides: Parameters<typeof config>[0] = {}): RunnableVersion {
  return {
    key: 'k',
    functionName: 'f',
    versionId: '3',
    config: config({ timeout: 30, ...overrides }),
    codeSha256: 'a'.repeat(64),
  };
}

/** A code directory holding index.js, and the plan that starts the Node.js bootstrap on it. */
async function plan(source: string, memorySize = 128): Promise<LaunchPlan> {
  const codeDir = await mkdtemp(join(tmpdir(), 'sluice-instance-test-'));
  dirs.push(codeDir);
  await writeFile(join(codeDir, 'index.js'), source);
  const { command, args } = bootstrapCommand(
    { ...CONFIG_DEFAULTS, runtime: 'nodejs20', memorySize },
    findInterpreters(),
    'host',
  );
  return { command, args, env: { PATH: '/usr/bin:/bin' }, cwd: codeDir, codeDir };
}

async function start(
  source: string,
  options: { overrides?: Parameters<typeof config>[0]; limits?: Partial<typeof LIMITS> } = {},
): Promise<{ instance: Instance; logs: LogLine[] }> {
  const v = version(options.overrides);
  const logs: LogLine[] = [];
  const instance = await Instance.start(
    v,
    await plan(source, v.config.memorySize),
    { ...LIMITS, ...options.limits },
    (line) => logs.push(line),
    new Unconfined(v.config.memorySize),
  );
  instances.push(instance);
  return { instance, logs };
}

const request = (requestId: string, payload = '') => ({
  requestId,
  qualifier: 'live',
  payload: Buffer.from(payload),
});

/** The code of the error an invocation or a start rejected with, and its message. */
async function failure(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isSluiceError(error), String(error));
    return { code: error.code, message: error.message };
  }
  assert.fail('it did not fail');
}

const HANDLER = `exports.handler = async (event, context) => {
  const what = event.toString();
  console.log('running ' + context.requestId);
  if (what === 'hang') return new Promise(() => {});
  if (what === 'pid') { console.log('pid ' + process.pid); return new Promise(() => {}); }
  if (what === 'exit') process.exit(7);
  if (what === 'large') return 'x'.repeat(2048);
  if (what === 'memory') { globalThis.held = Buffer.alloc(400 * 1024 * 1024, 1); return new Promise(() => {}); }
  if (what === 'late') setTimeout(() => console.log('after the answer'), 20);
  return context.service.versionId + ' ' + context.service.qualifier;
};`;

describe('Instance', () => {
  test('starts, runs invocations and tags their output with the invocation', async () => {
    const { instance, logs } = await start(HANDLER);
    assert.equal(instance.alive, true);
    const { ranMs, ...result } = await instance.invoke(request('r1'));
    assert.deepEqual(result, { kind: 'text', body: Buffer.from('3 live') });
    assert.ok(typeof ranMs === 'number' && ranMs >= 0, 'how long it ran, as the runtime measured');
    assert.deepEqual(logs, [{ requestId: 'r1', qualifier: 'live', stream: 'stdout', text: 'running r1\n' }]);
    assert.equal(instance.inFlight, 0);
  });

  test('output after the invocation ended belongs to no invocation', async () => {
    const { instance, logs } = await start(HANDLER);
    await instance.invoke(request('r1', 'late'));
    const late = await waitFor(() => logs.find((l) => l.text === 'after the answer\n'), {
      timeout: 30_000,
      what: 'the line the handler’s timer writes',
    });
    assert.deepEqual([late.requestId, late.qualifier], [undefined, undefined]);
  });

  test('running several at once, each line is tagged with the invocation whose calls wrote it', async () => {
    const code = `exports.handler = async (event) => {
      const name = event.toString();
      console.log(name + ' starts');
      await new Promise((r) => setTimeout(r, name === 'a' ? 300 : 100));
      console.log(name + ' ends');
      return name;
    };`;
    const { instance, logs } = await start(code, { overrides: { instanceConcurrency: 2 } });
    await Promise.all([instance.invoke(request('ra', 'a')), instance.invoke(request('rb', 'b'))]);
    assert.deepEqual(
      logs.map((l) => `${l.requestId ?? '-'}: ${l.text.trim()}`),
      ['ra: a starts', 'rb: b starts', 'rb: b ends', 'ra: a ends'],
    );
  });

  test("one at a time, a stray timer's line written while the next invocation runs goes with the next", async () => {
    // a's timer writes once b runs, and b ends once it has: no race with how fast b follows a.
    const code = `exports.handler = async (event) => {
      const name = event.toString();
      if (name === 'a') {
        const timer = setInterval(() => {
          if (!globalThis.bRuns) return;
          console.log('a again');
          globalThis.aWrote = true;
          clearInterval(timer);
        }, 5);
      } else {
        globalThis.bRuns = true;
        while (!globalThis.aWrote) await new Promise((r) => setTimeout(r, 5));
      }
      return name;
    };`;
    const { instance, logs } = await start(code);
    await instance.invoke(request('ra', 'a'));
    await instance.invoke(request('rb', 'b'));
    assert.deepEqual(
      logs.map((l) => `${l.requestId ?? '-'}: ${l.text.trim()}`),
      ['rb: a again'],
    );
  });

  test('a start that fails is a FunctionInitializationError saying why', async () => {
    const missing = await failure(start('exports.other = 1;'));
    assert.equal(missing.code, 'FunctionInitializationError');
    assert.match(missing.message, /^HandlerNotFound: .*does not export a function named handler/);

    const v = version();
    const noRuntime = await failure(
      Instance.start(
        v,
        { ...(await plan(HANDLER)), command: '/nonexistent/node' },
        LIMITS,
        () => undefined,
        new Unconfined(128),
      ),
    );
    assert.equal(noRuntime.code, 'FunctionInitializationError');
    assert.match(noRuntime.message, /could not be started|exited/);

    const exits = await failure(
      Instance.start(
        v,
        { ...(await plan(HANDLER)), args: ['-e', 'console.error("no bootstrap here"); process.exit(4)'] },
        LIMITS,
        () => undefined,
        new Unconfined(128),
      ),
    );
    assert.match(exits.message, /^the runtime exited \(4\) before it was ready: no bootstrap here$/);
  });

  test('a runtime that never answers init is stopped at the start timeout', async () => {
    const silent = { ...(await plan(HANDLER)), args: ['-e', 'setInterval(() => {}, 1000)'] };
    const started = Instance.start(
      version(),
      silent,
      { ...LIMITS, startTimeoutMs: 300 },
      () => undefined,
      new Unconfined(128),
    );
    const { code, message } = await failure(started);
    assert.equal(code, 'FunctionInitializationError');
    assert.match(message, /did not start within 300 ms/);
  });

  test('an invocation beyond the function’s timeout ends the instance with FunctionTimeout', async () => {
    const { instance } = await start(HANDLER, { overrides: { timeout: 1 } });
    const { code, message } = await failure(instance.invoke(request('r1', 'hang')));
    assert.equal(code, 'FunctionTimeout');
    assert.match(message, /timeout of 1 s/);
    await instance.exited;
    assert.equal(instance.alive, false);
    const after = await failure(instance.invoke(request('r2')));
    assert.equal(after.code, 'InstanceCrashed', 'a dead instance takes no invocation');
  });

  test('a process that exits during an invocation fails it with InstanceCrashed and its status', async () => {
    const { instance } = await start(HANDLER);
    const { code, message } = await failure(instance.invoke(request('r1', 'exit')));
    assert.equal(code, 'InstanceCrashed');
    assert.match(message, /exited with status 7/);
  });

  test('a process killed by someone else says so; kill() fails what is in flight with its own code', async () => {
    const a = await start(HANDLER);
    const pending = a.instance.invoke(request('r1', 'pid'));
    const pid = await waitFor(() => /^pid (\d+)$/m.exec(a.logs.map((l) => l.text).join(''))?.[1], {
      timeout: 30_000,
      what: 'the handler to say its pid',
    });
    process.kill(Number(pid), 'SIGKILL');
    const killed = await failure(pending);
    assert.equal(killed.code, 'InstanceCrashed');
    assert.match(killed.message, /killed by SIGKILL, sent by something other than Sluice/);

    const b = await start(HANDLER, { overrides: { instanceConcurrency: 2 } });
    const inFlight = [b.instance.invoke(request('r1', 'hang')), b.instance.invoke(request('r2', 'hang'))];
    b.instance.kill('ServiceUnavailable', 'the server is shutting down');
    for (const p of inFlight)
      assert.deepEqual(await failure(p), {
        code: 'ServiceUnavailable',
        message: 'the server is shutting down',
      });
  });

  test('an invocation sent beyond its concurrency starts as the running one ends, its timeout from then', async () => {
    const code = `exports.handler = async (event) => {
      await new Promise((r) => setTimeout(r, 700));
      return event.toString();
    };`;
    const { instance } = await start(code, { overrides: { timeout: 1 } });
    const starts: string[] = [];
    const sent = ['a', 'b'].map((id) =>
      instance.invoke(request(id, id), () => {
        starts.push(id);
      }),
    );
    assert.deepEqual(starts, ['a'], 'the second waits behind the first');
    // 1.4 s after both were sent, each within its own second.
    assert.deepEqual(
      (await Promise.all(sent)).map((r) => r.body.toString()),
      ['a', 'b'],
    );
    assert.deepEqual(starts, ['a', 'b']);
  });

  test('an instance that ends before a queued invocation starts fails it as NotStarted, with the reason', async () => {
    const b = await start(HANDLER, { overrides: { timeout: 1 } });
    const running = b.instance.invoke(request('r1', 'hang'));
    const queued = b.instance.invoke(request('r2'));
    assert.equal((await failure(running)).code, 'FunctionTimeout');
    const error = await queued.catch((e: unknown) => e);
    assert.ok(error instanceof NotStarted, String(error));
    assert.equal(error.code, 'FunctionTimeout');
    assert.match(error.message, /ended before the invocation started/);
  });

  test('a result larger than the limit is refused, and the instance serves on', async () => {
    const { instance } = await start(HANDLER);
    const { code, message } = await failure(instance.invoke(request('r1', 'large')));
    assert.equal(code, 'ResponseTooLarge');
    assert.match(message, /2048 bytes; the limit is 1024/);
    assert.equal((await instance.invoke(request('r2'))).body.toString(), '3 live');
  });

  test('memory beyond memorySize ends the instance with MemoryLimitExceeded', async () => {
    const { instance } = await start(HANDLER, { overrides: { memorySize: 128 } });
    const { code, message } = await failure(instance.invoke(request('r1', 'memory')));
    assert.equal(code, 'MemoryLimitExceeded');
    assert.match(message, /more than its memorySize of 128 MB/);
  });
});
