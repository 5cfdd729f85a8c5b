import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { httpEvent, type StageContext } from './http-event.js';

// The event is written out as text: it must be the JSON of the Function Compute 3.0 event, whatever the
// request holds, byte for byte what JSON.stringify gives of the same object.

const request = (headers: Record<string, string | string[]>, method = 'POST', sourceIp?: string) =>
  ({
    headers,
    method,
    httpVersion: '1.1',
    socket: { remoteAddress: sourceIp },
  }) as unknown as IncomingMessage;

const context = {
  authenticated: false,
  requestId: 'r-1',
  functionName: 'f',
  qualifier: 'live',
  now: 1700000000123,
};

test('the event is the JSON of the object it describes, escapes and all', () => {
  const tricky = 'a"b\\c\nd\u0001 é 😀 \ud800 \u2028';
  const stage: StageContext = {
    apiName: 'shop',
    stage: 'prod',
    route: '/{proxy+}',
    pathParameters: { proxy: tricky },
    stageVariables: { k: 'v' },
  };
  const req = request(
    {
      host: 'example.test:80',
      'content-type': 'application/octet-stream',
      'user-agent': tricky,
      'x-many': ['1', '2'],
      authorization: 'Basic abc',
    },
    'PUT',
    '10.0.0.1',
  );
  const body = Buffer.from([0xff, 0x00, 0x01]);
  const event = httpEvent(req, new URL('http://h/p?x=1&x=2&y=%22&z'), tricky, body, context, stage);
  assert.equal(
    event,
    JSON.stringify({
      version: 'v1',
      rawPath: tricky,
      headers: {
        host: 'example.test:80',
        'content-type': 'application/octet-stream',
        'user-agent': tricky,
        'x-many': '1, 2',
        authorization: 'Basic abc',
      },
      queryParameters: { x: '1', y: '"', z: '' },
      pathParameters: { proxy: tricky },
      stageVariables: { k: 'v' },
      body: body.toString('base64'),
      isBase64Encoded: true,
      requestContext: {
        accountId: 'sluice',
        domainName: 'example.test:80',
        functionName: 'f',
        qualifier: 'live',
        requestId: 'r-1',
        apiName: 'shop',
        stage: 'prod',
        route: '/{proxy+}',
        time: '2023-11-14T22:13:20.123Z',
        timeEpoch: '1700000000123',
        http: { method: 'PUT', path: tricky, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: tricky },
      },
    }),
  );
});

test('a text body is sent as text; no stage, no query: no stage fields, an empty query', () => {
  const req = request({
    'content-type': 'application/json; charset=utf-8',
    authorization: 'Bearer sluice_x',
  });
  const event = JSON.parse(
    httpEvent(req, new URL('http://h/'), '/', Buffer.from('{"é":1}'), { ...context, now: 0 }),
  ) as Record<string, unknown>;
  assert.equal(event.body, '{"é":1}');
  assert.equal(event.isBase64Encoded, false);
  assert.deepEqual(event.queryParameters, {});
  assert.deepEqual(
    event.headers,
    { 'content-type': 'application/json; charset=utf-8' },
    "Sluice's token is not passed",
  );
  assert.ok(!('pathParameters' in event) && !('stageVariables' in event));
  const requestContext = event.requestContext as Record<string, unknown>;
  assert.equal(requestContext.time, '1970-01-01T00:00:00.000Z');
  assert.equal(requestContext.domainName, '');
  assert.deepEqual(requestContext.http, {
    method: 'POST',
    path: '/',
    protocol: 'HTTP/1.1',
    sourceIp: '',
    userAgent: '',
  });
});

test('the time follows each call, though it is reused within a millisecond', () => {
  const req = request({});
  const time = (now: number) =>
    (
      JSON.parse(httpEvent(req, new URL('http://h/'), '/', Buffer.alloc(0), { ...context, now })) as {
        requestContext: { time: string };
      }
    ).requestContext.time;
  assert.equal(time(5), '1970-01-01T00:00:00.005Z');
  assert.equal(time(5), '1970-01-01T00:00:00.005Z');
  assert.equal(time(6), '1970-01-01T00:00:00.006Z');
});
