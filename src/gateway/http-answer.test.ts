import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isSluiceError } from '../core/errors.js';
import { httpAnswer } from './http-event.js';

const json = (value: unknown) => ({ kind: 'json' as const, body: Buffer.from(JSON.stringify(value)) });

test("httpAnswer drops the platform's headers and the connection's, and says which", () => {
  const answer = httpAnswer(
    json({
      statusCode: 201,
      headers: {
        'X-FC-Request-Id': 'forged',
        'x-fc-invocation-function-version': '999',
        'x-sluice-anything': '1',
        'Transfer-Encoding': 'chunked',
        'content-length': '1',
        connection: 'close',
        'keep-alive': 'timeout=1',
        upgrade: 'websocket',
        te: 'trailers',
        trailer: 'x',
        'proxy-authenticate': 'x',
        'X-Own': 'kept',
        'set-cookie': 'a=1',
      },
      body: 'ok',
    }),
  );
  assert.equal(answer.statusCode, 201);
  assert.deepEqual(answer.headers, { 'x-own': 'kept', 'set-cookie': 'a=1' });
  assert.deepEqual(answer.dropped.sort(), [
    'connection',
    'content-length',
    'keep-alive',
    'proxy-authenticate',
    'te',
    'trailer',
    'transfer-encoding',
    'upgrade',
    'x-fc-invocation-function-version',
    'x-fc-request-id',
    'x-sluice-anything',
  ]);
});

test('httpAnswer refuses what cannot be sent as InvalidFunctionResponse', () => {
  for (const [headers, why] of [
    [{ 'x-a': 'a\r\nset-cookie: b=1' }, /cannot carry/],
    [{ 'x-a': 'a\nb' }, /cannot carry/],
    [{ 'x-a': 'a\u0000b' }, /cannot carry/],
    [{ 'x-a': 'snow \u2603' }, /cannot carry/],
    [{ 'bad name': 'x' }, /not a valid header name/],
    [{ 'x-a:': 'x' }, /not a valid header name/],
    [{ '': 'x' }, /not a valid header name/],
    [{ 'x-a': { nested: true } }, /must be a string/],
  ] as const) {
    assert.throws(
      () => httpAnswer(json({ statusCode: 200, headers, body: '' })),
      (error: unknown) =>
        isSluiceError(error) && error.code === 'InvalidFunctionResponse' && why.test(error.message),
      JSON.stringify(headers),
    );
  }
  for (const statusCode of [99, 600, 200.5, '200', null]) {
    assert.throws(
      () => httpAnswer(json({ statusCode })),
      (error: unknown) => isSluiceError(error) && error.status === 502,
    );
  }
});

test('httpAnswer keeps tabs, Latin-1 and numbers in header values', () => {
  const answer = httpAnswer(
    json({ statusCode: 200, headers: { 'x-a': 'a\tb', 'x-b': 'caf\u00e9', 'x-n': 5 } }),
  );
  assert.deepEqual(answer.headers, { 'x-a': 'a\tb', 'x-b': 'caf\u00e9', 'x-n': '5' });
});

test('httpAnswer passes a JSON result without a top-level statusCode through as the body of a 200, as it came', () => {
  for (const value of [
    { hello: 'world' },
    { text: 'the "statusCode" key' },
    { data: { statusCode: 404 } },
    [1],
  ]) {
    const result = json(value);
    const answer = httpAnswer(result);
    assert.equal(answer.statusCode, 200, JSON.stringify(value));
    assert.equal(answer.body, result.body, 'the same bytes, not a copy');
    assert.deepEqual(answer.headers, { 'content-type': 'application/json' });
  }
  assert.equal(httpAnswer(json({ statusCode: 404, body: 'no' })).statusCode, 404);
});
