import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { CONFIG_DEFAULTS, type FunctionConfig } from '../core/function-config.js';
import { isSluiceError } from '../core/errors.js';
import {
  NotStarted,
  type InvocationRequest,
  type InvocationResult,
  type RunnableVersion,
} from './instance.js';
import {
  AHEAD_BELOW_MS,
  InstancePool,
  JOIN_MAX_PAYLOAD,
  MAX_AHEAD,
  type PoolLimits,
  type PooledInstance,
} from './pool.js';
import { seeded } from '../../test/support/seeded.js';
import { waitFor } from '../../test/support/wait-for.js';

// The pool's policy against instances that only take time: what it starts, reuses, recycles and stops.
// Real instance processes are exercised end to end (test/e2e); here the counts are exact.

const LIMITS: PoolLimits = {
  maxInstancesPerFunction: 10,
  maxQueuePerFunction: 100,
  maxInstanceMemoryMb: 1_000_000,
  idleMs: 60_000,
  drainMs: 1000,
};

/**
 * A waiter gives up after its function's timeout on the wall clock, which a loaded machine can stall for
 * seconds (a 50 % canary's waiters failed so at 3 s): the versions here have ten minutes, but for the test of
 * that bound, which gives its own.
 */
const PATIENT = 600;

function version(id: string, config: Partial<FunctionConfig> = {}, name = 'f'): RunnableVersion {
  return {
    key: `${name}:${id}`,
    functionName: name,
    versionId: id,
    codeSha256: id,
    config: {
      ...CONFIG_DEFAULTS,
      runtime: 'nodejs20',
      handler: 'index.handler',
      timeout: PATIENT,
      ...config,
    },
  };
}

/**
 * An instance whose invocations take `ms` and answer the version that ran them. Like a runtime, it runs as
 * many at once as its concurrency and starts those sent beyond it in order as running ones end.
 */
class FakeInstance implements PooledInstance {
  alive = true;
  pipelines = true;
  sending = false;
  /** Like a real instance's frames, its invocations of one turn go out together: `sending` until it ends. */
  sends = false;
  /** How long it says each invocation ran, as a runtime does; none, and the pool measures for itself. */
  reportsMs: number | undefined;
  /** …and its first, which in a real runtime loads and compiles what the handler uses. */
  firstReportsMs: number | undefined;
  private invocations = 0;
  readonly exited: Promise<void>;
  /** The most invocations it held at once, running and waiting. */
  peakHeld = 0;
  private held = 0;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private exit!: () => void;

  constructor(
    readonly version: RunnableVersion,
    private readonly ms: number,
  ) {
    this.exited = new Promise((resolve) => {
      this.exit = resolve;
    });
  }

  async invoke(_request: InvocationRequest, onStart?: () => void): Promise<InvocationResult> {
    if (!this.alive) throw new Error('invoked after its death');
    if (this.sends && !this.sending) {
      this.sending = true;
      setImmediate(() => {
        this.sending = false;
      });
    }
    this.held++;
    this.peakHeld = Math.max(this.peakHeld, this.held);
    try {
      if (this.running < this.version.config.instanceConcurrency) this.running++;
      else {
        // A running invocation that ends hands its place to the first waiting one.
        const turn = new Promise<boolean>((resolve) =>
          this.waiting.push(() => {
            resolve(true);
          }),
        );
        if (!(await Promise.race([turn, this.exited.then(() => false)])))
          throw new NotStarted('InstanceCrashed', 'the instance ended before it started');
      }
      onStart?.();
      const died = this.exited.then(() => {
        throw new Error('the instance died');
      });
      try {
        await Promise.race([delay(this.ms), died]);
      } finally {
        const next = this.waiting.shift();
        if (next) next();
        else this.running--;
      }
      const first = this.invocations++ === 0;
      const ranMs = first ? (this.firstReportsMs ?? this.reportsMs) : this.reportsMs;
      return { kind: 'text', body: Buffer.from(this.version.versionId), ranMs };
    } finally {
      this.held--;
    }
  }

  kill(): void {
    this.alive = false;
    this.exit();
  }
}

/**
 * Invocations here take a millisecond where real ones take tens: the pool's clock runs this much faster, so
 * that its demand averages over as many invocations as it would in use.
 */
const TIME_SCALE = 10;

/**
 * The pool's clock. `wall`: real time, scaled, for what waits on time itself (the idle sweep). `work`: time
 * moved only by finished invocations, each by its share of the function's instances, so that a test of the
 * demand policy sees the same times however busy the machine is (on the wall clock, a loaded machine made a
 * version's calls look a minute old and its last instance went). `still`: time stands, and every invocation
 * ran 0 ms as the pool counts, short enough to be sent ahead (`AHEAD_BELOW_MS`).
 */
type PoolClock = 'wall' | 'work' | 'still';

/**
 * `pipelines` false: instances that take no invocation ahead (a custom runtime's). `reportsMs`: how long the
 * instances say each invocation ran; `firstReportsMs`, their first. `sends`: their invocations of one turn go
 * out together, as a real instance's frames do.
 */
function harness(
  limits: Partial<PoolLimits> = {},
  invokeMs = 1,
  startMs = 5,
  time: PoolClock = 'wall',
  {
    pipelines = true,
    reportsMs,
    firstReportsMs,
    sends = false,
  }: { pipelines?: boolean; reportsMs?: number; firstReportsMs?: number; sends?: boolean } = {},
) {
  const started: FakeInstance[] = [];
  const clock = { skewMs: 0, workMs: 0 };
  const { maxInstancesPerFunction } = { ...LIMITS, ...limits };
  const pool = new InstancePool(
    { ...LIMITS, ...limits },
    async (v) => {
      await delay(startMs);
      const instance = new FakeInstance(v, invokeMs);
      instance.pipelines = pipelines;
      instance.sends = sends;
      instance.reportsMs = reportsMs;
      instance.firstReportsMs = firstReportsMs;
      if (time === 'work') {
        const invoke = instance.invoke.bind(instance);
        instance.invoke = async (request, onStart) => {
          const result = await invoke(request, onStart);
          clock.workMs += (invokeMs * TIME_SCALE) / maxInstancesPerFunction;
          return result;
        };
      }
      started.push(instance);
      return instance;
    },
    () =>
      (time === 'work' ? clock.workMs : time === 'still' ? 0 : performance.now() * TIME_SCALE) + clock.skewMs,
  );
  const call = (v: RunnableVersion, payload: Buffer | string = Buffer.alloc(0)) =>
    pool.invoke(v, { requestId: 'r', qualifier: 'q', payload }).then((r) => r.body.toString());
  const live = (id?: string) =>
    started.filter((i) => i.alive && (id === undefined || i.version.versionId === id));
  return { pool, started, call, live, clock };
}

/** `callers` closed-loop callers, each making `each` calls, version 2 with probability `canary`. */
async function drive(
  call: (v: RunnableVersion) => Promise<string>,
  callers: number,
  each: number,
  canary: number,
  seed = 1,
): Promise<void> {
  const random = seeded(seed);
  const [v1, v2] = [version('1'), version('2')];
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < each; i++) {
        const v = random() < canary ? v2 : v1;
        assert.equal(await call(v), v.versionId);
      }
    }),
  );
}

test('a 10 % canary at 50 callers over 10 instances settles: no cold starts after warm-up', async () => {
  const h = harness({}, 1, 5, 'work');
  await drive(h.call, 50, 100, 0.1);
  const warm = h.started.length;
  await drive(h.call, 50, 100, 0.1, 2);
  const after = h.started.length - warm;
  assert.ok(after <= 2, `${after} instances started after warm-up, for 5000 invocations`);
  assert.equal(h.live().length, 10);
  assert.ok(h.live('2').length >= 1, 'the canary keeps an instance');
  await h.pool.destroy();
});

for (const canary of [0.01, 0.25, 0.5]) {
  test(`a ${canary * 100} % canary settles too`, async () => {
    const h = harness({}, 1, 5, 'work');
    await drive(h.call, 50, 100, canary, 3);
    const warm = h.started.length;
    await drive(h.call, 50, 100, canary, 4);
    const after = h.started.length - warm;
    assert.ok(after <= 3, `${after} instances started after warm-up`);
    await h.pool.destroy();
  });
}

test("an instance's first invocation, slow as it loads what the handler uses, moves no instance to its version", async () => {
  // Counted, a canary's first invocation, 20 ms against its steady 0.05 ms, made its mean run 17 ms while it
  // was the only one ended, and it took half the function's instances, to give them back as the next ended.
  const h = harness({}, 1, 5, 'work', { reportsMs: 0.05, firstReportsMs: 20 });
  await drive(h.call, 50, 20, 0);
  const warm = h.started.length;
  await drive(h.call, 50, 20, 0.1, 2);
  const moved = h.started.slice(warm).map((i) => i.version.versionId);
  assert.deepEqual(moved, ['2'], 'the canary took one instance, once');
  await h.pool.destroy();
});

test('as demand shifts from one version to the other, instances follow it, each started once', async () => {
  const h = harness({}, 1, 5, 'work');
  await drive(h.call, 50, 20, 0);
  assert.equal(h.live('1').length, 10);
  // A full move to version 2: every instance changes version, once, but for one that version 1 keeps…
  await drive(h.call, 50, 200, 1, 5);
  assert.deepEqual([h.live('1').length, h.live('2').length], [1, 9]);
  // …until a minute of the function's work without a call to it: a minute that passes while version 2 runs.
  const driving = drive(h.call, 50, 20, 1, 6);
  await delay(5);
  h.clock.skewMs += 60_000;
  await driving;
  await drive(h.call, 50, 20, 1, 7);
  assert.deepEqual([h.live('1').length, h.live('2').length], [0, 10]);
  assert.equal(h.started.length, 20);
  await h.pool.destroy();
});

test('a pause of the whole function, however long, costs its canary nothing: no instance moves after it', async () => {
  const h = harness({}, 1, 5, 'work');
  await drive(h.call, 50, 100, 0.1);
  for (let pause = 1; pause <= 3; pause++) {
    const before = h.started.length;
    h.clock.skewMs += 60_000;
    await drive(h.call, 50, 40, 0.1, pause + 1);
    assert.equal(h.started.length - before, 0, `instances started after pause ${pause}`);
    assert.equal(h.live('2').length, 1, 'the canary keeps its instance');
  }
  await h.pool.destroy();
});

test("a version's first invocation gets an instance when another version holds them all, idle", async () => {
  const h = harness({ maxInstancesPerFunction: 2 });
  await Promise.all([h.call(version('1')), h.call(version('1'))]);
  assert.equal(h.live('1').length, 2);
  assert.equal(await h.call(version('2')), '2');
  assert.deepEqual([h.live('1').length, h.live('2').length], [1, 1]);
  await h.pool.destroy();
});

test("a version's first invocation gets an instance while another version's are never idle, as one frees", async () => {
  const h = harness({}, 1, 5, 'work');
  let done = 0;
  const busy = Promise.all(
    Array.from({ length: 50 }, async () => {
      for (let i = 0; i < 100; i++) await h.call(version('1'));
      done++;
    }),
  );
  await waitFor(() => h.live('1').length === 10, { timeout: 30_000, what: "version 1's ten instances" });
  assert.equal(await h.call(version('2')), '2');
  assert.equal(done, 0, "version 2 was served before version 1's callers ended");
  await busy;
  await h.pool.destroy();
});

test('with every instance held by a version of its own, a new version takes the least wanted one', async () => {
  // Demand counts run time: on a clock that only invocations move, every one takes exactly 1 ms whatever the
  // machine's load, and version 1's three calls are more demand than version 2's one, as meant.
  const clock = { ms: 0 };
  const started: FakeInstance[] = [];
  const pool = new InstancePool(
    { ...LIMITS, maxInstancesPerFunction: 2 },
    (v) => {
      const instance = new FakeInstance(v, 0);
      const invoke = instance.invoke.bind(instance);
      instance.invoke = async (request, onStart) => {
        const result = await invoke(request, onStart);
        clock.ms += 1;
        return result;
      };
      started.push(instance);
      return Promise.resolve(instance);
    },
    () => clock.ms,
  );
  const call = (id: string) =>
    pool.invoke(version(id), { requestId: 'r', qualifier: 'q', payload: Buffer.alloc(0) });
  const live = (id: string) => started.filter((i) => i.alive && i.version.versionId === id).length;
  await Promise.all([call('1'), call('1'), call('2')]);
  await call('1');
  assert.deepEqual([live('1'), live('2')], [1, 1]);
  // Each of 1 and 2 was just invoked and holds one instance: 3 takes the instance of 2, asked for less.
  assert.equal((await call('3')).body.toString(), '3');
  assert.deepEqual([live('1'), live('2'), live('3')], [1, 0, 1]);
  await pool.destroy();
});

test('a freed instance goes to the next invocation of its own version', async () => {
  const h = harness({ maxInstancesPerFunction: 1 }, 20);
  const calls = [h.call(version('1')), h.call(version('1')), h.call(version('1'))];
  assert.deepEqual(await Promise.all(calls), ['1', '1', '1']);
  assert.equal(h.started.length, 1);
  await h.pool.destroy();
});

test('instanceConcurrency lets one instance take that many invocations at once', async () => {
  const h = harness({}, 20);
  const v = version('1', { instanceConcurrency: 5 });
  await Promise.all(Array.from({ length: 10 }, () => h.call(v)));
  assert.equal(h.started.length, 2);
  await h.pool.destroy();
});

test('beyond instances and queue, 429 TooManyRequests; the demand it adds is gone', async () => {
  const h = harness({ maxInstancesPerFunction: 1, maxQueuePerFunction: 2 }, 50);
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => h.call(version('1'))));
  const refused = results.filter((r) => r.status === 'rejected');
  assert.equal(refused.length, 2);
  for (const r of refused) {
    const reason = r.reason as unknown;
    assert.ok(isSluiceError(reason) && reason.code === 'TooManyRequests');
  }
  await h.pool.destroy();
});

test("a waiter gives up after the function's timeout with 429", async () => {
  const h = harness({ maxInstancesPerFunction: 1 }, 1500);
  const v = version('1', { timeout: 1 });
  const [first, second] = await Promise.allSettled([h.call(v), h.call(v)]);
  assert.equal(first.status, 'fulfilled');
  assert.equal(second.status, 'rejected');
  assert.match(String(second.reason), /within the function's timeout of 1 s/);
  await h.pool.destroy();
});

test('an instance that dies is replaced for those waiting', async () => {
  const h = harness({ maxInstancesPerFunction: 1 }, 30);
  const v = version('1');
  const first = h.call(v);
  const second = h.call(v);
  await delay(15);
  (h.started[0] as FakeInstance).kill();
  await assert.rejects(first);
  assert.equal(await second, '1');
  assert.equal(h.started.length, 2);
  await h.pool.destroy();
});

test('an instance idle for idleMs is stopped by the sweep', async () => {
  const h = harness({ idleMs: 40 });
  await h.call(version('1'));
  assert.equal(h.live().length, 1);
  await waitFor(() => h.live().length === 0, {
    timeout: 30_000,
    what: 'the sweep to stop the idle instance',
  });
  await h.pool.destroy();
});

test('close lets invocations in flight finish, refuses what waits, then stops every instance', async () => {
  const h = harness({ maxInstancesPerFunction: 1 }, 50);
  const running = h.call(version('1'));
  const waiting = assert.rejects(
    h.call(version('1')),
    (e: unknown) => isSluiceError(e) && e.code === 'ServiceUnavailable',
  );
  await delay(20);
  const closed = h.pool.close();
  assert.equal(await running, '1');
  await waiting;
  await closed;
  assert.equal(h.live().length, 0);
  await assert.rejects(
    h.call(version('1')),
    (e: unknown) => isSluiceError(e) && e.code === 'ServiceUnavailable',
  );
});

test('functions do not share instances or limits', async () => {
  const h = harness({ maxInstancesPerFunction: 1 }, 20);
  const a = version('1', {}, 'a');
  const b = version('1', {}, 'b');
  assert.deepEqual(await Promise.all([h.call(a), h.call(b)]), ['1', '1']);
  assert.equal(h.started.length, 2);
  assert.deepEqual(
    h.pool.stats().map((s) => [s.functionName, s.instances]),
    [
      ['a', 1],
      ['b', 1],
    ],
  );
  await h.pool.destroy();
});

test('an invocation whose caller goes away while it waits leaves the queue and never runs', async () => {
  const invoked: string[] = [];
  const pool = new InstancePool({ ...LIMITS, maxInstancesPerFunction: 1 }, (v) => {
    const instance = new FakeInstance(v, 20);
    const invoke = instance.invoke.bind(instance);
    instance.invoke = (request, onStart) => {
      invoked.push(request.requestId);
      return invoke(request, onStart);
    };
    return Promise.resolve(instance);
  });
  const v = version('1');
  const request = (requestId: string) => ({ requestId, qualifier: 'q', payload: Buffer.alloc(0) });
  let leave = (): void => undefined;
  let watching = 0;
  const whenGone = (onGone: () => void) => {
    watching++;
    leave = onGone;
    return () => {
      watching--;
    };
  };

  const first = pool.invoke(v, request('first'));
  const gone = pool.invoke(v, request('gone'), undefined, whenGone);
  const third = pool.invoke(v, request('third'), undefined, () => () => undefined);
  await delay(1);
  assert.equal(watching, 1, 'the waiting invocation watches its caller');
  leave();
  await assert.rejects(gone, (e) => isSluiceError(e) && e.code === 'RequestCancelled');
  assert.equal(watching, 0, 'and stops watching once it has left');
  await Promise.all([first, third]);
  assert.deepEqual(invoked, ['first', 'third'], 'the instance went to the next waiter');

  leave();
  const served = await pool.invoke(v, request('late'), undefined, whenGone);
  assert.equal(served.body.toString(), '1', 'an invocation that got an instance is not watched');
  assert.equal(watching, 0);
  await pool.destroy();
});

test("the node's memory bounds instances across functions: the longest idle stop to make room, else 429", async () => {
  const h = harness({ maxInstanceMemoryMb: 256 }, 30);
  const [f, g, k] = ['f', 'g', 'k'].map((name) => version('1', { memorySize: 128 }, name)) as [
    RunnableVersion,
    RunnableVersion,
    RunnableVersion,
  ];
  await h.call(f);
  await h.call(g);
  assert.equal(h.live().length, 2);

  await h.call(k);
  assert.deepEqual(
    h.live().map((i) => i.version.functionName),
    ['g', 'k'],
    'f, idle the longest, stopped for k',
  );

  const busy = [h.call(g), h.call(k)];
  await delay(5);
  await assert.rejects(
    h.call(f),
    (e) => isSluiceError(e) && e.code === 'TooManyRequests' && /--instance-memory/.test(e.message),
    'with every instance busy, a function with none is refused',
  );
  const queued = h.call(k);
  assert.equal(await queued, '1', 'one with an instance waits for it');
  await Promise.all(busy);
  assert.equal(h.live().length, 2, 'never more than the memory holds');
  await h.pool.destroy();
});

/** `count` callers, each making `each` calls of `v` in turn, every one answered by `v`. */
function callers(
  call: (v: RunnableVersion) => Promise<string>,
  v: RunnableVersion,
  count: number,
  each: number,
) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      for (let i = 0; i < each; i++) assert.equal(await call(v), v.versionId);
    }),
  );
}

/**
 * Two calls of `v`, one after the other: the first starts an instance, and how long the second ran tells the
 * pool how long `v`'s invocations take (an instance's first, which loads what the handler uses, does not).
 */
async function warmUp(call: (v: RunnableVersion) => Promise<string>, v: RunnableVersion): Promise<void> {
  for (let i = 0; i < 2; i++) assert.equal(await call(v), v.versionId);
}

test(`short invocations (under ${AHEAD_BELOW_MS} ms) wait on busy instances at the cap, one ahead of each, never more`, async () => {
  const h = harness({ maxInstancesPerFunction: 2 }, 2, 5, 'still');
  await callers(h.call, version('1'), 10, 20);
  assert.equal(h.started.length, 2, 'no instance beyond the cap');
  assert.deepEqual(
    h.started.map((i) => i.peakHeld),
    [2, 2],
    'each held its running invocation and one ahead of it',
  );
  await h.pool.destroy();
});

test('a short invocation finding the warm instance busy runs next on it, not after a start; one starts meanwhile, for the calls after it', async () => {
  const h = harness({}, 50, 300, 'still');
  const v = version('1');
  await warmUp(h.call, v);
  const running = h.call(v);
  const ahead = h.call(v);
  // The warm instance holds two now: this one takes the instance starting, and starts no other.
  const third = h.call(v);
  assert.deepEqual(await Promise.all([running, ahead]), ['1', '1']);
  assert.equal(h.started.length, 1, 'both ran on the warm instance before the other had started');
  assert.equal((h.started[0] as FakeInstance).peakHeld, 2);
  assert.equal(await third, '1');
  assert.equal(h.started.length, 2, 'one instance started, and the third ran on it');
  assert.equal((h.started[1] as FakeInstance).peakHeld, 1);
  await h.pool.destroy();
});

test('what the runtime says an invocation ran decides whether the next is sent ahead, not what the pool saw', async () => {
  // 20 ms on the wall clock, 200 ms as the pool counts: the delays of a loaded server, say.
  const quick = harness({ maxInstancesPerFunction: 2 }, 20, 5, 'wall', { reportsMs: 0.5 });
  await callers(quick.call, version('1'), 10, 5);
  assert.deepEqual(
    quick.started.map((i) => i.peakHeld),
    [2, 2],
  );
  // And the other way: the pool's clock stands still, the runtime says 50 ms.
  const slow = harness({ maxInstancesPerFunction: 2 }, 2, 5, 'still', { reportsMs: 50 });
  await callers(slow.call, version('1'), 10, 5);
  assert.deepEqual(
    slow.started.map((i) => i.peakHeld),
    [1, 1],
  );
  await Promise.all([quick.pool.destroy(), slow.pool.destroy()]);
});

for (const [what, h] of [
  // 5 ms calls on the wall clock, scaled: 50 ms as the pool counts. Not 1 ms: a timer of 1 ms may fire within
  // a tenth of it (its loop's clock was late), and the call then ran under AHEAD_BELOW_MS as the pool counts.
  [
    'longer invocations, which wait in the pool for the first instance free',
    () => harness({ maxInstancesPerFunction: 2 }, 5),
  ],
  [
    "an instance that cannot take invocations ahead (a custom runtime's server)",
    () => harness({ maxInstancesPerFunction: 2 }, 2, 5, 'still', { pipelines: false }),
  ],
] as const) {
  test(`never sent ahead: ${what}`, async () => {
    const { pool, call, started } = h();
    await callers(call, version('1'), 10, 20);
    assert.deepEqual(
      started.map((i) => i.peakHeld),
      [1, 1],
    );
    await pool.destroy();
  });
}

test('an invocation sent ahead to an instance that ends before starting it runs on another', async () => {
  const h = harness({ maxInstancesPerFunction: 1 }, 200, 5, 'still');
  const v = version('1');
  await warmUp(h.call, v);
  const running = h.call(v);
  const ahead = h.call(v);
  await delay(20);
  const first = h.started[0] as FakeInstance;
  assert.equal(first.peakHeld, 2, 'the second was sent ahead of the first');
  first.kill();
  await assert.rejects(running, /the instance died/);
  assert.equal(await ahead, '1', 'the one that never started ran on a new instance');
  assert.equal(h.started.length, 2);
  await h.pool.destroy();
});

test('an invocation sent ahead counts as waiting: in the queue bound, and in the metrics', async () => {
  const h = harness({ maxInstancesPerFunction: 1, maxQueuePerFunction: 1 }, 200, 5, 'still');
  const v = version('1');
  await warmUp(h.call, v);
  const running = h.call(v);
  const ahead = h.call(v);
  await delay(20);
  assert.equal(h.pool.stats()[0]?.waiting, 1);
  await assert.rejects(
    h.call(v),
    (e) => isSluiceError(e) && e.code === 'TooManyRequests' && /1 invocations are waiting/.test(e.message),
  );
  assert.deepEqual(await Promise.all([running, ahead]), ['1', '1']);

  const none = harness({ maxInstancesPerFunction: 1, maxQueuePerFunction: 0 }, 200, 5, 'still');
  await warmUp(none.call, v);
  const alone = none.call(v);
  await delay(20);
  await assert.rejects(none.call(v), (e) => isSluiceError(e) && e.code === 'TooManyRequests');
  assert.equal((none.started[0] as FakeInstance).peakHeld, 1, 'with no queue, nothing waits ahead either');
  await alone;
  await Promise.all([h.pool.destroy(), none.pool.destroy()]);
});

/** Three warm instances of `v`, each past its first invocation, so that the pool knows how long calls run. */
async function threeWarm(call: (v: RunnableVersion) => Promise<string>, v: RunnableVersion): Promise<void> {
  for (let i = 0; i < 2; i++)
    assert.deepEqual(await Promise.all([call(v), call(v), call(v)]), ['1', '1', '1']);
}

/** Calls made in one turn of the event loop, as a server reads many requests at once under load. */
function burst(call: (v: RunnableVersion) => Promise<string>, v: RunnableVersion, count: number) {
  return Promise.all(Array.from({ length: count }, () => call(v)));
}

test(`short invocations arriving in one turn join the instance sent one in it, up to ${MAX_AHEAD} ahead`, async () => {
  const h = harness({}, 1, 5, 'still', { reportsMs: 0.05, sends: true });
  const v = version('1');
  await threeWarm(h.call, v);
  assert.equal(h.started.length, 3);
  assert.deepEqual(
    h.started.map((i) => i.peakHeld),
    [1, 1, 1],
  );
  await burst(h.call, v, 5);
  assert.deepEqual(
    h.started.map((i) => i.peakHeld),
    [5, 1, 1],
    'the four after the first went with it, waking no other instance',
  );
  await burst(h.call, v, MAX_AHEAD + 4);
  assert.deepEqual(
    h.started.map((i) => i.peakHeld),
    [MAX_AHEAD + 1, 3, 1],
    'the first took as many as it may, the next instance the rest',
  );
  assert.equal(h.started.length, 3, 'and none started for them');
  await h.pool.destroy();
});

test(`invocations with payloads over ${JOIN_MAX_PAYLOAD / 1024} KB never join: their bytes would wait in one instance`, async () => {
  const h = harness({}, 1, 5, 'still', { reportsMs: 0.05, sends: true });
  const v = version('1');
  await threeWarm(h.call, v);
  const large = Buffer.alloc(JOIN_MAX_PAYLOAD + 1);
  await Promise.all([h.call(v), h.call(v, large), h.call(v, large), h.call(v, 'x'.repeat(JOIN_MAX_PAYLOAD))]);
  assert.deepEqual(
    h.started.map((i) => i.peakHeld),
    [2, 1, 1],
    'the large ones took instances free, and the small one joined the first',
  );
  await h.pool.destroy();
});

test(`invocations joining an instance in one turn wait ${AHEAD_BELOW_MS} ms in all on average, at most`, async () => {
  // 0.6 ms each: behind the running one, three wait 0.6, 1.2 and 1.8 ms; a fourth would wait 2.4.
  const h = harness({}, 1, 5, 'still', { reportsMs: 0.6, sends: true });
  const v = version('1');
  await threeWarm(h.call, v);
  await burst(h.call, v, 6);
  assert.deepEqual(
    h.started.map((i) => i.peakHeld),
    [4, 2, 1],
  );
  await h.pool.destroy();
});

test('invocations of different turns go to instances free, and long ones never join', async () => {
  const spread = harness({}, 30, 5, 'still', { reportsMs: 0.05, sends: true });
  const v = version('1');
  await threeWarm(spread.call, v);
  const calls: Promise<string>[] = [];
  for (let i = 0; i < 3; i++) {
    calls.push(spread.call(v));
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.deepEqual(await Promise.all(calls), ['1', '1', '1']);
  assert.deepEqual(
    spread.started.map((i) => i.peakHeld),
    [1, 1, 1],
    'each of its own turn, each on an instance free',
  );
  const long = harness({}, 1, 5, 'still', { reportsMs: AHEAD_BELOW_MS, sends: true });
  await threeWarm(long.call, v);
  await burst(long.call, v, 3);
  assert.deepEqual(
    long.started.map((i) => i.peakHeld),
    [1, 1, 1],
  );
  const custom = harness({}, 1, 5, 'still', { reportsMs: 0.05, sends: true, pipelines: false });
  await threeWarm(custom.call, v);
  await burst(custom.call, v, 3);
  assert.deepEqual(
    custom.started.map((i) => i.peakHeld),
    [1, 1, 1],
    "a custom runtime's server would run them at once",
  );
  await Promise.all([spread.pool.destroy(), long.pool.destroy(), custom.pool.destroy()]);
});
