import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from './errors.js';
import { checkTriggerSpec, type QueueSpec, queueVerdict } from './triggers.js';

const backoff = (retry: number) => 1000 * 2 ** retry;

test('a failed queue message is retried with backoff while the retries last, then given up', () => {
  const cases: [string, { ran: boolean }, number, number, ReturnType<typeof queueVerdict>][] = [
    ['first failure of 2 retries', { ran: true }, 1, 2, { retryInMs: 1000 }],
    ['second failure', { ran: true }, 2, 2, { retryInMs: 2000 }],
    ['third failure: the retries are spent', { ran: true }, 3, 2, { term: true }],
    ['no retries', { ran: true }, 1, 0, { term: true }],
    ['never ran (node full): always again', { ran: false }, 9, 2, { retryInMs: 1000 }],
  ];
  for (const [what, failure, deliveries, maxRetries, expected] of cases)
    assert.deepEqual(queueVerdict(failure, deliveries, maxRetries, backoff), expected, what);
});

test("a queue trigger's subject filter is checked", () => {
  const spec = (subject: string): QueueSpec => ({
    kind: 'queue',
    qualifier: '$DEFAULT',
    enabled: true,
    description: '',
    broker: 'nats',
    url: 'nats://127.0.0.1:4222',
    stream: 'S',
    subject,
    concurrency: 1,
  });
  for (const good of ['orders', 'orders.>', 'orders.*.eu', '*', '>'])
    assert.doesNotThrow(() => checkTriggerSpec(spec(good)), good);
  for (const bad of ['orders.>.eu', 'orders..eu', 'orders.', 'a b', 'or*ders', 'orders.x>'])
    assert.throws(
      () => checkTriggerSpec(spec(bad)),
      (error: unknown) => isSluiceError(error) && error.code === 'InvalidArgument',
      bad,
    );
});
