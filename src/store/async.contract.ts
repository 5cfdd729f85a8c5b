import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { AsyncAttempt, NewAsyncEvent } from '../core/async-invocation.js';
import { config } from '../../test/support/config.js';
import { blob, clock, contractTest, type OpenedStore, rejectsWith } from './contract-support.js';

const change = clock();

const T0 = Date.UTC(2024, 0, 1);
const LEASE = 30_000;

function event(id: string, overrides: Partial<NewAsyncEvent> = {}): NewAsyncEvent {
  return {
    id,
    functionName: 'f',
    qualifier: 'live',
    payload: Buffer.from(`payload ${id}`),
    source: 'async',
    createdAt: T0,
    ...overrides,
  };
}

const attempt = (versionId: string, errorCode?: string): AsyncAttempt => ({
  versionId,
  node: 'a',
  startedAt: new Date(T0).toISOString(),
  endedAt: new Date(T0 + 5).toISOString(),
  ...(errorCode !== undefined && { errorCode, errorMessage: `${errorCode} happened` }),
});

/** The asynchronous invocation queue: the same behaviour from every store. */
export function asyncContract(label: string, open: () => Promise<OpenedStore>): void {
  const test = contractTest(open, async (store) => {
    await store.createFunction('f', config(), blob('f'), change());
  });

  void describe(`${label}: asynchronous invocations`, () => {
    test('an event is queued, claimed once under a lease, and read back with its payload and routing key', async (store) => {
      await store.enqueueAsync(event('e1', { routingKey: { User: 'Bob' } }));
      const queued = await store.getAsync('f', 'e1');
      assert.equal(queued?.status, 'queued');
      assert.deepEqual(queued.attempts, []);
      assert.deepEqual(queued.payload, Buffer.from('payload e1'));
      assert.deepEqual(queued.routingKey, { User: 'Bob' });
      const claimed = await store.claimAsync('a', T0, LEASE, 10);
      assert.deepEqual(
        claimed.map((e) => [e.id, e.status]),
        [['e1', 'running']],
      );
      assert.deepEqual(await store.claimAsync('b', T0 + 1000, LEASE, 10), [], 'held under the lease');
      assert.equal((await store.getAsync('f', 'e1'))?.status, 'running');
    });

    test('an event is due only from its next time; claims take the oldest first, up to the limit', async (store) => {
      for (let i = 0; i < 5; i++) await store.enqueueAsync(event(`e${i}`, { createdAt: T0 + i }));
      assert.deepEqual(await store.claimAsync('a', T0 - 1, LEASE, 10), []);
      const first = await store.claimAsync('a', T0 + 10, LEASE, 3);
      assert.deepEqual(
        first.map((e) => e.id),
        ['e0', 'e1', 'e2'],
      );
      const rest = await store.claimAsync('a', T0 + 10, LEASE, 3);
      assert.deepEqual(
        rest.map((e) => e.id),
        ['e3', 'e4'],
      );
    });

    test('the next due time: the earliest queued event, or the end of a lease another node holds', async (store) => {
      assert.equal(await store.nextAsyncDue('a'), undefined, 'nothing queued: nothing to wake for');
      await store.enqueueAsync(event('e1', { createdAt: T0 + 500 }));
      await store.enqueueAsync(event('e2', { createdAt: T0 + 200 }));
      assert.equal(await store.nextAsyncDue('a'), T0 + 200);
      await store.claimAsync('a', T0 + 300, LEASE, 1);
      assert.equal(await store.nextAsyncDue('a'), T0 + 500, "a's own lease is not its wake-up");
      assert.equal(await store.nextAsyncDue('b'), T0 + 500);
      await store.claimAsync('a', T0 + 600, LEASE, 1);
      assert.equal(await store.nextAsyncDue('a'), undefined);
      assert.equal(await store.nextAsyncDue('b'), T0 + 300 + LEASE, "b may take e2 once a's lease ends");
      await store.settleAsync('e2', 'a', {
        settlement: { status: 'succeeded', nextAt: T0, attempts: [attempt('1')], finishedAt: T0 },
      });
      assert.equal(await store.nextAsyncDue('b'), T0 + 600 + LEASE, 'an ended event is no wake-up');
    });

    test('a settled success ends the event with its attempt, version and result', async (store) => {
      await store.enqueueAsync(event('e1'));
      await store.claimAsync('a', T0, LEASE, 1);
      const settled = await store.settleAsync('e1', 'a', {
        settlement: {
          status: 'succeeded',
          nextAt: T0 + 10,
          attempts: [attempt('2')],
          result: 'ok',
          finishedAt: T0 + 10,
        },
      });
      assert.equal(settled, true);
      const ended = await store.getAsync('f', 'e1');
      assert.equal(ended?.status, 'succeeded');
      assert.equal(ended.result, 'ok');
      assert.equal(ended.finishedAt, T0 + 10);
      assert.deepEqual(ended.attempts, [attempt('2')]);
      assert.deepEqual(
        await store.claimAsync('a', T0 + 1e9, LEASE, 10),
        [],
        'an ended event is never claimed',
      );
    });

    test('a failed attempt queues the event again for its retry time', async (store) => {
      await store.enqueueAsync(event('e1'));
      await store.claimAsync('a', T0, LEASE, 1);
      const error = { code: 'UnhandledInvocationError', message: 'boom' };
      await store.settleAsync('e1', 'a', {
        settlement: { status: 'queued', nextAt: T0 + 2000, attempts: [attempt('1', error.code)], error },
      });
      assert.deepEqual(await store.claimAsync('a', T0 + 1999, LEASE, 1), []);
      const again = await store.claimAsync('b', T0 + 2000, LEASE, 1);
      assert.equal(again[0]?.id, 'e1');
      assert.equal(again[0].attempts.length, 1);
      assert.deepEqual(again[0].error, error);
    });

    test("a node whose lease ran out cannot settle: another took the event, and that one's result counts", async (store) => {
      await store.enqueueAsync(event('e1'));
      await store.claimAsync('a', T0, LEASE, 1);
      const taken = await store.claimAsync('b', T0 + LEASE + 1, LEASE, 1);
      assert.equal(taken[0]?.id, 'e1', 'a running event whose lease expired is claimed again');
      const late = await store.settleAsync('e1', 'a', {
        settlement: { status: 'succeeded', nextAt: T0, attempts: [attempt('1')], finishedAt: T0 },
      });
      assert.equal(late, false);
      assert.equal((await store.getAsync('f', 'e1'))?.status, 'running');
      assert.equal(
        await store.settleAsync('e1', 'b', {
          settlement: { status: 'succeeded', nextAt: T0, attempts: [attempt('2')], finishedAt: T0 },
        }),
        true,
      );
      assert.deepEqual((await store.getAsync('f', 'e1'))?.attempts, [attempt('2')]);
    });

    test('a renewed lease keeps the event; releasing a node returns its events to the queue at once', async (store) => {
      await store.enqueueAsync(event('e1'));
      await store.enqueueAsync(event('e2'));
      await store.claimAsync('a', T0, LEASE, 2);
      await store.renewAsyncLeases('a', ['e1'], T0 + 3 * LEASE);
      const taken = await store.claimAsync('b', T0 + LEASE + 1, LEASE, 10);
      assert.deepEqual(
        taken.map((e) => e.id),
        ['e2'],
      );
      await store.renewAsyncLeases('a', ['e2'], T0 + 10 * LEASE);
      assert.equal(
        (await store.claimAsync('c', T0 + 2 * LEASE + 2, LEASE, 10)).length,
        1,
        "a renewal by a node that lost the event changes nothing: b's lease ran out",
      );
      assert.equal(await store.releaseAsync('a'), 1);
      const back = await store.getAsync('f', 'e1');
      assert.equal(back?.status, 'queued');
      assert.equal((await store.claimAsync('d', T0, LEASE, 10))[0]?.id, 'e1');
    });

    test("a function destination's event is queued with the settlement, once; a missing function is recorded", async (store) => {
      await store.createFunction('g', config(), blob('g'), change());
      await store.enqueueAsync(event('e1'));
      await store.enqueueAsync(event('e2'));
      await store.claimAsync('a', T0, LEASE, 2);
      const settlement = {
        status: 'failed' as const,
        nextAt: T0,
        attempts: [attempt('1', 'X')],
        finishedAt: T0,
      };
      const next = event('d1', { functionName: 'g', qualifier: '$DEFAULT', source: 'destination:e1' });
      assert.equal(
        await store.settleAsync('e1', 'a', {
          settlement,
          destination: { target: 'function:g:$DEFAULT', event: next },
        }),
        true,
      );
      assert.deepEqual((await store.getAsync('f', 'e1'))?.destination, {
        target: 'function:g:$DEFAULT',
        status: 'delivered',
        requestId: 'd1',
      });
      assert.equal((await store.getAsync('g', 'd1'))?.source, 'destination:e1');
      const lost = event('d2', { functionName: 'gone', qualifier: '$DEFAULT' });
      await store.settleAsync('e2', 'a', {
        settlement,
        destination: { target: 'function:gone:$DEFAULT', event: lost },
      });
      assert.deepEqual((await store.getAsync('f', 'e2'))?.destination, {
        target: 'function:gone:$DEFAULT',
        status: 'failed',
        error: 'function gone does not exist',
      });
      assert.equal(
        await store.settleAsync('e1', 'a', {
          settlement,
          destination: { target: 'function:g:$DEFAULT', event: next },
        }),
        false,
        'an ended event is settled once',
      );
    });

    test('a URL destination is pending until its delivery is recorded', async (store) => {
      await store.enqueueAsync(event('e1'));
      await store.claimAsync('a', T0, LEASE, 1);
      await store.settleAsync('e1', 'a', {
        settlement: { status: 'succeeded', nextAt: T0, attempts: [attempt('1')], finishedAt: T0 },
        destination: { target: 'http://127.0.0.1:1/hook' },
      });
      assert.deepEqual((await store.getAsync('f', 'e1'))?.destination, {
        target: 'http://127.0.0.1:1/hook',
        status: 'pending',
      });
      await store.updateAsyncDestination('e1', { target: 'http://127.0.0.1:1/hook', status: 'delivered' });
      assert.equal((await store.getAsync('f', 'e1'))?.destination?.status, 'delivered');
    });

    test('list pages newest first, filters by status, and refuses a made-up token', async (store) => {
      for (let i = 0; i < 5; i++) await store.enqueueAsync(event(`e${i}`, { createdAt: T0 + i }));
      await store.claimAsync('a', T0 + 1, LEASE, 2);
      const first = await store.listAsync('f', { limit: 2 });
      assert.deepEqual(
        first.items.map((e) => e.id),
        ['e4', 'e3'],
      );
      const second = await store.listAsync('f', { limit: 2, nextToken: first.nextToken as string });
      assert.deepEqual(
        second.items.map((e) => e.id),
        ['e2', 'e1'],
      );
      const last = await store.listAsync('f', { limit: 2, nextToken: second.nextToken as string });
      assert.deepEqual(
        last.items.map((e) => e.id),
        ['e0'],
      );
      assert.equal(last.nextToken, undefined);
      const running = await store.listAsync('f', { limit: 10, status: 'running' });
      assert.deepEqual(
        running.items.map((e) => e.id),
        ['e1', 'e0'],
      );
      await rejectsWith(store.listAsync('f', { limit: 2, nextToken: 'bogus' }), 'InvalidArgument');
      await rejectsWith(store.listAsync('nope', { limit: 2 }), 'FunctionNotFound');
      assert.equal(await store.getAsync('other', 'e1'), undefined, "another function's id is not found");
    });

    test('an event for a missing function is refused; deleting a function drops its events', async (store) => {
      await rejectsWith(store.enqueueAsync(event('e1', { functionName: 'nope' })), 'FunctionNotFound');
      await store.enqueueAsync(event('e1'));
      await store.deleteFunction('f');
      await store.createFunction('f', config(), blob('f2'), change());
      assert.equal(await store.getAsync('f', 'e1'), undefined);
      assert.deepEqual(await store.claimAsync('a', T0 + 1e6, LEASE, 10), []);
    });

    test('pruning forgets ended events only', async (store) => {
      await store.enqueueAsync(event('e1'));
      await store.enqueueAsync(event('e2'));
      await store.claimAsync('a', T0, LEASE, 1);
      await store.settleAsync('e1', 'a', {
        settlement: { status: 'succeeded', nextAt: T0, attempts: [attempt('1')], finishedAt: T0 + 5 },
      });
      await store.pruneAsync(T0 + 6);
      assert.equal(await store.getAsync('f', 'e1'), undefined);
      assert.equal((await store.getAsync('f', 'e2'))?.status, 'queued');
    });

    test('concurrent claims of 200 events hand each to one claimer', async (store) => {
      for (let i = 0; i < 200; i++) await store.enqueueAsync(event(`e${String(i).padStart(3, '0')}`));
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.claimAsync(`n${i}`, T0, LEASE, 40)),
      );
      const ids = claims.flat().map((e) => e.id);
      assert.equal(ids.length, 200);
      assert.equal(new Set(ids).size, 200);
    });

    test('async settings are kept on the function, apart from its versions', async (store) => {
      assert.equal((await store.getFunction('f'))?.async, undefined);
      const settings = { maxRetries: 0, maxEventAgeSeconds: 60, onFailure: { url: 'http://127.0.0.1:1/x' } };
      await store.updateFunction('f', { async: settings }, change());
      assert.deepEqual((await store.getFunction('f'))?.async, settings);
      await store.updateFunction('f', { code: blob('f-v2') }, change());
      assert.deepEqual((await store.getFunction('f'))?.async, settings, 'kept across other updates');
      const states = await store.getFunctionStates(['f']);
      assert.deepEqual(states.get('f')?.fn.async, settings);
    });
  });
}
