import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueSpec, TriggerRecord } from '../core/triggers.js';
import { waitFor } from '../../test/support/wait-for.js';
import { TriggerDirectory } from './directory.js';
import { type BrokerClient, type QueueTrigger, QueueTriggers } from './queues.js';

// When the queue triggers of a node forget a trigger on its broker: only once it is deleted, and only after
// this node's consumer of it has stopped. The broker here records what it was asked; NATS itself is
// test/e2e/queue-triggers.test.ts's.

const SPEC: QueueSpec = {
  kind: 'queue',
  qualifier: 'live',
  enabled: true,
  description: '',
  broker: 'nats',
  url: 'nats://127.0.0.1:4222',
  stream: 'S',
  subject: 's.>',
  concurrency: 1,
};

const trigger = (name: string, spec: Partial<QueueSpec> = {}, createdAt = 'then'): TriggerRecord => ({
  functionName: 'f',
  name,
  spec: { ...SPEC, ...spec },
  createdAt,
  updatedAt: createdAt,
});

async function setup(initial: TriggerRecord[], forget: (t: QueueTrigger) => Promise<void> = async () => {}) {
  let stored = initial;
  const said: string[] = [];
  const logged: string[] = [];
  /** Consumers that were asked to close, each closing once `release` is called. */
  const closing = new Map<string, () => void>();
  const broker: BrokerClient = {
    consume: ({ trigger: t }) => {
      said.push(`consume ${t.name}`);
      return {
        close: () =>
          new Promise<void>((resolve) => {
            said.push(`close ${t.name}`);
            closing.set(t.name, () => {
              said.push(`closed ${t.name}`);
              resolve();
            });
          }),
      };
    },
    forget: async (t) => {
      said.push(`forget ${t.name}`);
      await forget(t);
    },
  };
  const directory = new TriggerDirectory(
    {
      listTriggers: (name?: string) =>
        Promise.resolve(stored.filter((t) => !name || t.functionName === name)),
    },
    () => undefined,
  );
  await directory.start();
  const queues = new QueueTriggers({
    triggers: directory,
    node: 'n',
    invoke: () => Promise.reject(new Error('no message is sent here')),
    config: () => undefined,
    failed: () => Promise.resolve(),
    brokers: { nats: broker },
    log: (line) => logged.push(line),
  });
  queues.start();
  let reconciled = (): void => undefined;
  directory.onChange(() => {
    reconciled();
  });
  /** The store now holds `triggers`; the node hears that f changed, and its queue triggers follow. */
  const change = (triggers: TriggerRecord[]) =>
    new Promise<void>((resolve) => {
      stored = triggers;
      reconciled = resolve;
      directory.functionChanged('f');
    });
  const release = (name: string) => closing.get(name)?.();
  return { queues, said, logged, change, release };
}

describe('queue triggers on their broker', () => {
  it('a deleted trigger is forgotten once its consumer has stopped, not before', async () => {
    const s = await setup([trigger('a'), trigger('b')]);
    assert.deepEqual(s.said, ['consume a', 'consume b']);
    await s.change([trigger('b')]);
    assert.deepEqual(s.said.slice(2), ['close a'], 'forgotten while its messages still ran');
    s.release('a');
    await waitFor(() => s.said.includes('forget a'), { timeout: 5000, what: 'the forget' });
    assert.deepEqual(s.said.slice(2), ['close a', 'closed a', 'forget a']);
  });

  it('a disabled trigger deleted is forgotten; it has no consumer to stop', async () => {
    const s = await setup([trigger('a', { enabled: false })]);
    await s.change([]);
    await waitFor(() => s.said.includes('forget a'), { timeout: 5000, what: 'the forget' });
    assert.deepEqual(s.said, ['forget a']);
  });

  it('disabled, updated, or deleted and made again under its name: it keeps its place', async () => {
    const s = await setup([trigger('a')]);
    await s.change([trigger('a', { enabled: false })]);
    s.release('a');
    await s.change([trigger('a', { subject: 's.other.>' })]);
    await s.change([trigger('a', { subject: 's.other.>' }, 'later')]);
    s.release('a');
    // Made again, its new consumer starts while the old one still stops.
    assert.deepEqual(s.said, [
      'consume a',
      'close a',
      'closed a',
      'consume a',
      'close a',
      'consume a',
      'closed a',
    ]);
    const closing = s.queues.close();
    s.release('a');
    await closing;
    assert.ok(!s.said.some((line) => line.startsWith('forget')), s.said.join(', '));
  });

  it('stopping the node forgets nothing, but waits for a forget under way', async () => {
    let finish = (): void => undefined;
    const s = await setup(
      [trigger('a'), trigger('b')],
      () => new Promise<void>((resolve) => (finish = resolve)),
    );
    await s.change([trigger('b')]);
    s.release('a');
    await waitFor(() => s.said.includes('forget a'), { timeout: 5000, what: 'the forget' });
    let closed = false;
    const closing = s.queues.close().then(() => (closed = true));
    s.release('b');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(closed, false, 'closed before the forget ended');
    finish();
    await closing;
    assert.deepEqual(
      s.said.filter((line) => line.startsWith('forget')),
      ['forget a'],
    );
  });

  it('a forget that fails is logged with what to do, and nothing else fails', async () => {
    const s = await setup([trigger('a', { enabled: false })], () =>
      Promise.reject(new Error('no route to host')),
    );
    await s.change([]);
    await waitFor(() => s.logged.length > 0, { timeout: 5000, what: 'the log line' });
    assert.match(s.logged[0] ?? '', /queue trigger f\/a: deleted, but .*no route to host.*by hand/);
    await s.queues.close();
  });
});
