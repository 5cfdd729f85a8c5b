import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AsyncConfig, DEFAULT_ASYNC_CONFIG, parseAsyncConfig } from './async-config.js';
import { type AsyncAttempt, type AttemptOutcome, destinationRecord, settle } from './async-invocation.js';
import { isSluiceError } from './errors.js';

const T0 = 1_700_000_000_000;
const ok = (versionId = '1'): AsyncAttempt => ({ versionId, node: 'n', startedAt: 'a', endedAt: 'b' });
const failed = (versionId = '1'): AsyncAttempt => ({
  ...ok(versionId),
  errorCode: 'UnhandledInvocationError',
  errorMessage: 'boom',
});
const ran = (attempt: AsyncAttempt, result?: string): AttemptOutcome => ({
  ran: true,
  attempt,
  ...(result !== undefined && { result }),
});
const event = (attempts: AsyncAttempt[] = [], source = 'async') => ({ attempts, createdAt: T0, source });
const config = (over: Partial<AsyncConfig> = {}): AsyncConfig => ({ ...DEFAULT_ASYNC_CONFIG, ...over });
/** No jitter: the random source at its middle. */
const mid = () => 0.5;

describe('settle', () => {
  const cases: [string, ReturnType<typeof event>, AttemptOutcome, AsyncConfig, Record<string, unknown>][] = [
    [
      'a success ends the event',
      event(),
      ran(ok('2'), 'r'),
      config(),
      { status: 'succeeded', result: 'r', finishedAt: T0 },
    ],
    [
      'a first failure is retried 1 s later',
      event(),
      ran(failed()),
      config(),
      { status: 'queued', nextAt: T0 + 1000 },
    ],
    [
      'the second retry waits 2 s',
      event([failed()]),
      ran(failed()),
      config(),
      { status: 'queued', nextAt: T0 + 2000 },
    ],
    [
      'retries spent: failed',
      event([failed(), failed()]),
      ran(failed()),
      config(),
      { status: 'failed', finishedAt: T0 },
    ],
    ['no retries: failed at once', event(), ran(failed()), config({ maxRetries: 0 }), { status: 'failed' }],
    [
      'a retry beyond the age: expired',
      event([failed()]),
      ran(failed()),
      config({ maxEventAgeSeconds: 1 }),
      { status: 'expired' },
    ],
    [
      'not run: back in the queue, no attempt',
      event([failed()]),
      { ran: false, retryInMs: 500 },
      config(),
      { status: 'queued', nextAt: T0 + 500 },
    ],
  ];
  for (const [what, before, outcome, cfg, expected] of cases) {
    it(what, () => {
      const settled = settle(before, outcome, cfg, T0, mid);
      for (const [key, value] of Object.entries(expected))
        assert.deepEqual(settled[key as keyof typeof settled], value, `${what}: ${key}`);
      assert.equal(settled.attempts.length, before.attempts.length + (outcome.ran ? 1 : 0));
    });
  }

  it('names the destination of the way it ended, and none for an event that came from a destination', () => {
    const cfg = config({ maxRetries: 0, onSuccess: { url: 'http://h/ok' }, onFailure: { function: 'dlq' } });
    assert.deepEqual(settle(event(), ran(ok()), cfg, T0, mid).destination, { url: 'http://h/ok' });
    assert.deepEqual(settle(event(), ran(failed()), cfg, T0, mid).destination, { function: 'dlq' });
    assert.equal(settle(event([], 'destination:x'), ran(failed()), cfg, T0, mid).destination, undefined);
    assert.equal(
      settle(event(), ran(failed()), config({ onFailure: { function: 'dlq' } }), T0, mid).destination,
      undefined,
      'not while retrying',
    );
  });

  it("the record names each attempt's version, and the last as the event's", () => {
    const settled = settle(event([failed('1')]), ran(ok('2'), 'r'), config(), T0, mid);
    const record = destinationRecord(
      {
        id: 'e',
        functionName: 'f',
        qualifier: 'live',
        payload: Buffer.alloc(0),
        source: 'async',
        createdAt: T0,
        status: 'running',
        attempts: [failed('1')],
        nextAt: T0,
      },
      settled,
    );
    assert.equal(record.version, '2');
    assert.deepEqual(
      (record.attempts as AsyncAttempt[]).map((a) => a.versionId),
      ['1', '2'],
    );
    assert.equal(record.result, 'r');
  });
});

describe('parseAsyncConfig', () => {
  it('fills defaults and keeps destinations', () => {
    assert.deepEqual(parseAsyncConfig({}), DEFAULT_ASYNC_CONFIG);
    assert.deepEqual(
      parseAsyncConfig({ maxRetries: 0, onSuccess: null, onFailure: { function: 'd', qualifier: '2' } }),
      {
        ...DEFAULT_ASYNC_CONFIG,
        maxRetries: 0,
        onFailure: { function: 'd', qualifier: '2' },
      },
    );
  });

  it('collects every problem with its path', () => {
    assert.throws(
      () =>
        parseAsyncConfig({
          onSuccess: { url: 'http://u:p@h/' },
          onFailure: { function: 'd', qualifier: 'latest' },
        }),
      (error) => {
        assert.ok(isSluiceError(error));
        assert.deepEqual(
          (error.details as readonly { path: string }[]).map((d) => d.path),
          ['onSuccess.url', 'onFailure.qualifier'],
        );
        return true;
      },
    );
  });
});
