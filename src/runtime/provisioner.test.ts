import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, test } from 'node:test';
import { waitFor } from '../../test/support/wait-for.js';
import type { AliasSpec } from '../core/alias.js';
import { CONFIG_DEFAULTS } from '../core/function-config.js';
import { config } from '../../test/support/config.js';
import { blob } from '../store/contract-support.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import type { InvocationResult, RunnableVersion } from './instance.js';
import { InstancePool, type PooledInstance } from './pool.js';
import { Provisioner, type ProvisionTargets } from './provisioner.js';

// The provisioner over the real pool (with instances that only take time, as in pool.test.ts) and the real
// SQLite store: what it starts, replaces, moves and stops, and how two of them divide a target.

function version(id: string): RunnableVersion {
  return {
    key: `f:${id}`,
    functionName: 'f',
    versionId: id,
    codeSha256: id,
    config: { ...CONFIG_DEFAULTS, runtime: 'nodejs20', handler: 'index.handler', instanceConcurrency: 1 },
  };
}

class FakeInstance implements PooledInstance {
  alive = true;
  pipelines = true;
  sending = false;
  readonly exited: Promise<void>;
  private exit!: () => void;
  constructor(readonly version: RunnableVersion) {
    this.exited = new Promise((resolve) => {
      this.exit = resolve;
    });
  }
  async invoke(_request: unknown, onStart?: () => void): Promise<InvocationResult> {
    onStart?.();
    await delay(1);
    return { kind: 'text', body: Buffer.from(this.version.versionId) };
  }
  kill(): void {
    this.alive = false;
    this.exit();
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A store with function `f`, versions 1 and 2 and alias `live`, and what the data plane would hold of it. */
async function world() {
  const store = SqliteStore.open(':memory:');
  const change = { actor: 't', now: '2024-01-01T00:00:00.000Z' };
  await store.createFunction('f', config(), blob('1'), change);
  await store.publishVersion('f', '', change);
  await store.updateFunction('f', { code: blob('2') }, change);
  await store.publishVersion('f', '', change);
  await store.putAlias('f', 'live', { version: 1, description: '' }, change);
  const targets = {
    latest: version('LATEST'),
    versions: new Map([
      [1, version('1')],
      [2, version('2')],
    ]),
    aliases: new Map<string, { spec: AliasSpec }>([['live', { spec: { version: 1, description: '' } }]]),
  } satisfies ProvisionTargets;
  const alias = (spec: Omit<AliasSpec, 'description'>) => {
    targets.aliases.set('live', { spec: { ...spec, description: '' } });
  };
  cleanups.push(() => store.close());
  return { store, change, targets, alias };
}

/** A node: a pool whose starts take `startMs` (and fail while `failing`), and its provisioner. */
async function node(
  w: Awaited<ReturnType<typeof world>>,
  id: string,
  options: { shared?: boolean; startMs?: number } = {},
) {
  const started: FakeInstance[] = [];
  const state = { failing: false };
  const pool = new InstancePool(
    {
      maxInstancesPerFunction: 1,
      maxQueuePerFunction: 10,
      maxInstanceMemoryMb: 1e6,
      idleMs: 20,
      drainMs: 100,
    },
    async (v) => {
      await delay(options.startMs ?? 5);
      if (state.failing) throw new Error('no such interpreter');
      const instance = new FakeInstance(v);
      started.push(instance);
      return instance;
    },
  );
  const provisioner = new Provisioner({
    store: w.store,
    pool,
    snapshot: (name) => (name === 'f' ? w.targets : undefined),
    node: id,
    shared: options.shared ?? false,
    heartbeatMs: 50,
    expireMs: 150,
    retry: { firstMs: 50, maxMs: 50 },
    log: () => undefined,
  });
  cleanups.push(async () => {
    await provisioner.close();
    await pool.destroy();
  });
  await provisioner.start();
  const running = () =>
    Object.fromEntries(
      pool
        .stats()
        .filter((s) => s.provisioned > 0)
        .map((s) => [s.versionId, s.provisioned]),
    );
  const ready = () => Object.fromEntries(provisioner.report().map((r) => [r.versionId, r.ready]));
  return { pool, provisioner, started, state, running, ready };
}

const until = (what: string, check: () => void, timeout = 5000) =>
  waitFor(
    () => {
      check();
      return true;
    },
    { timeout, what },
  );

describe('Provisioner on one node', () => {
  test('starts the target, keeps it past the idle time, and invocations use it before anything else', async () => {
    const w = await world();
    await w.store.putProvisioned('f', 'live', { target: 3, canaryRatio: 0.01 }, w.change);
    const n = await node(w, 'a');
    n.provisioner.changed();
    await until('3 ready', () => {
      assert.deepEqual(n.ready(), { '1': 3 });
    });
    await delay(100); // five times the pool's idle time
    assert.deepEqual(n.running(), { '1': 3 });
    const cold: (number | undefined)[] = [];
    const provisioned: boolean[] = [];
    await Promise.all(
      [1, 2, 3].map(() =>
        n.pool.invoke(
          version('1'),
          { requestId: 'r', qualifier: 'live', payload: Buffer.alloc(0) },
          (ms, p) => {
            cold.push(ms);
            provisioned.push(p);
          },
        ),
      ),
    );
    assert.deepEqual(cold, [undefined, undefined, undefined]);
    assert.deepEqual(provisioned, [true, true, true]);
    assert.equal(n.started.length, 3, 'nothing was started on demand');
  });

  test('on-demand instances beyond the provisioned ones, within the function limit that does not count them', async () => {
    const w = await world();
    await w.store.putProvisioned('f', '1', { target: 1, canaryRatio: 0.01 }, w.change);
    const n = await node(w, 'a');
    await until('1 ready', () => {
      assert.deepEqual(n.ready(), { '1': 1 });
    });
    const kinds: boolean[] = [];
    await Promise.all(
      [1, 2].map(() =>
        n.pool.invoke(
          version('1'),
          { requestId: 'r', qualifier: '1', payload: Buffer.alloc(0) },
          (_ms, p) => {
            kinds.push(p);
          },
        ),
      ),
    );
    assert.deepEqual(kinds.sort(), [false, true]);
    // The on-demand one is stopped when idle; the provisioned one stays.
    await until('the on-demand instance reaped', () => {
      assert.equal(n.pool.stats()[0]?.instances, 1);
    });
    assert.deepEqual(n.running(), { '1': 1 });
  });

  test('an instance that exits is replaced at once', async () => {
    const w = await world();
    await w.store.putProvisioned('f', 'live', { target: 2, canaryRatio: 0.01 }, w.change);
    const n = await node(w, 'a');
    await until('2 ready', () => {
      assert.deepEqual(n.ready(), { '1': 2 });
    });
    n.started[0]?.kill();
    await until(
      'replaced',
      () => {
        assert.equal(n.started.length, 3);
      },
      500,
    );
    await until('2 ready again', () => {
      assert.deepEqual(n.ready(), { '1': 2 });
    });
  });

  test('a move to another version starts the new instances before it stops the old ones', async () => {
    const w = await world();
    await w.store.putProvisioned('f', 'live', { target: 4, canaryRatio: 'weight' }, w.change);
    const n = await node(w, 'a', { startMs: 50 });
    await until('4 of version 1', () => {
      assert.deepEqual(n.ready(), { '1': 4 });
    });
    w.alias({ version: 1, canary: { version: 2, weight: 0.5 } });
    n.provisioner.changed();
    const seen: Record<string, number>[] = [];
    await until('2 + 2', () => {
      seen.push(n.running());
      assert.deepEqual(n.ready(), { '1': 2, '2': 2 });
      assert.deepEqual(n.running(), { '1': 2, '2': 2 });
    });
    assert.ok(
      seen.every((s) => (s['1'] ?? 0) >= 2 && (s['1'] ?? 0) + (s['2'] ?? 0) >= 4),
      JSON.stringify(seen),
    );
    assert.ok(
      seen.some((s) => s['1'] === 4 && (s['2'] ?? 0) > 0),
      'version 1 kept all 4 while 2 started',
    );
    // Released: the target goes, and so do its instances.
    await w.store.deleteProvisioned('f', 'live');
    n.provisioner.changed();
    await until('none', () => {
      assert.deepEqual(n.running(), {});
    });
  });

  test('starts that fail are counted and retried with backoff; the others stay', async () => {
    const w = await world();
    await w.store.putProvisioned('f', '1', { target: 1, canaryRatio: 0.01 }, w.change);
    const n = await node(w, 'a');
    await until('version 1 ready', () => {
      assert.deepEqual(n.ready(), { '1': 1 });
    });
    n.state.failing = true;
    await w.store.putProvisioned('f', '2', { target: 1, canaryRatio: 0.01 }, w.change);
    n.provisioner.changed();
    await until('failures counted', () => {
      const two = n.provisioner.report().find((r) => r.versionId === '2');
      assert.ok((two?.failed ?? 0) >= 2, JSON.stringify(two));
    });
    assert.deepEqual(n.running(), { '1': 1 });
    n.state.failing = false;
    await until('version 2 ready, failures forgotten', () => {
      assert.deepEqual(n.ready(), { '1': 1, '2': 1 });
      assert.equal(n.provisioner.report().find((r) => r.versionId === '2')?.failed, 0);
    });
  });
});

describe('Provisioners sharing a store', () => {
  test('divide the target through heartbeats, and take over the share of one that goes', async () => {
    const w = await world();
    await w.store.putProvisioned('f', 'live', { target: 5, canaryRatio: 0.01 }, w.change);
    const a = await node(w, 'a', { shared: true });
    const b = await node(w, 'b', { shared: true });
    await until('3 + 2', () => {
      assert.deepEqual([a.ready()['1'], b.ready()['1']].sort(), [2, 3]);
    });
    assert.deepEqual(
      (await w.store.listNodes()).map((n) => n.node),
      ['a', 'b'],
    );
    await b.provisioner.close();
    await b.pool.destroy();
    await until('a runs 5', () => {
      assert.deepEqual(a.ready(), { '1': 5 });
    });
  });

  test('one alone on an unshared store runs the whole target, whatever stale beats it holds', async () => {
    const w = await world();
    await w.store.beatNode({ node: 'ghost', at: Date.now(), provisioned: [] }, 0);
    await w.store.putProvisioned('f', 'live', { target: 4, canaryRatio: 0.01 }, w.change);
    const n = await node(w, 'a');
    await until('4', () => {
      assert.deepEqual(n.ready(), { '1': 4 });
    });
  });
});
