import assert from 'node:assert/strict';
import { test } from 'node:test';
// CommonJS modules whose classes are their exports: imported whole, as Node gives them.
import tencentScf from 'tencentcloud-sdk-nodejs-scf';
import signModule from 'tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js';
import type { SignedRequest } from './signed-request.js';
import { recordingServer } from '../../test/support/signed-arrivals.js';
import { checkTc3Timestamp, parseTc3Authorization, tc3CanonicalRequest, verifyTc3 } from './tc3.js';

const SECRET = 'test-secret-0123456789';
const SECRET_ID = 'AKIDExampleKey';
const TIMESTAMP = 1714564800; // 2024-05-01T12:00:00Z
const Sign = signModule.default;

/** What arrives: the request's headers as Node gives them, the path and query as sent. */
function arrived(
  method: string,
  url: string,
  headers: Record<string, string>,
): { request: SignedRequest; timestamp: string } {
  const q = url.indexOf('?');
  return {
    request: {
      method,
      rawPath: q < 0 ? url : url.slice(0, q),
      rawQuery: q < 0 ? '' : url.slice(q + 1),
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]])),
    },
    timestamp: headers['X-TC-Timestamp'] ?? String(TIMESTAMP),
  };
}

/** A request signed by the SDK's own signer, as its HTTP layer sends it. */
function signedBySdk(payload: Record<string, unknown>, contentType = 'application/json') {
  const body = Buffer.from(JSON.stringify(payload));
  const authorization = Sign.sign3({
    method: 'POST',
    url: 'http://127.0.0.1:9000/',
    payload,
    timestamp: TIMESTAMP,
    service: '127',
    secretId: SECRET_ID,
    secretKey: SECRET,
    multipart: false,
    boundary: '',
    headers: { 'Content-Type': contentType },
  });
  const { request, timestamp } = arrived('POST', '/', {
    Host: '127.0.0.1:9000',
    'Content-Type': contentType,
    'X-TC-Action': 'Invoke',
    'X-TC-Timestamp': String(TIMESTAMP),
    Authorization: authorization,
  });
  return { authorization, request, timestamp, body };
}

const PAYLOADS: Record<string, unknown>[] = [
  {},
  { FunctionName: 'B', Qualifier: 'prepub', RoutingKey: '{"User":"Bob"}', ClientContext: '{"a":"ü"}' },
  { FunctionName: 'B', Code: { ZipFile: 'UEsDBA==' }, Runtime: 'Nodejs18.15', MemorySize: 128 },
];

test("signatures made by the SDK's signer verify against the request as it arrives", () => {
  for (const payload of PAYLOADS) {
    const { authorization, request, timestamp, body } = signedBySdk(payload);
    const parsed = parseTc3Authorization(authorization);
    assert.deepEqual(
      { secretId: parsed.secretId, date: parsed.date, service: parsed.service },
      { secretId: SECRET_ID, date: '2024-05-01', service: '127' },
    );
    verifyTc3(request, parsed, SECRET, timestamp, body);
    assert.throws(
      () => {
        verifyTc3(request, parsed, `${SECRET}x`, timestamp, body);
      },
      { code: 'SignatureNotMatch' },
    );
  }
});

test('requests that the official SCF client signs and sends over a socket verify as they arrive', async () => {
  const server = await recordingServer(JSON.stringify({ Response: { RequestId: 'r' } }));
  try {
    const client = new tencentScf.scf.v20180416.Client({
      credential: { secretId: SECRET_ID, secretKey: SECRET },
      region: 'ap-guangzhou',
      profile: { httpProfile: { endpoint: `127.0.0.1:${server.port}`, protocol: 'http://' } },
    });
    await client.ListFunctions({});
    await client.Invoke({ FunctionName: 'B', Qualifier: 'prepub', RoutingKey: '{"User":"Bob"}' });
    await client.GetAlias({ FunctionName: 'B', Name: 'prepub' });
  } finally {
    server.close();
  }
  assert.equal(server.arrivals.length, 3);
  for (const { request, authorization, body } of server.arrivals) {
    const timestamp = request.headers['x-tc-timestamp']?.[0] ?? '';
    const parsed = parseTc3Authorization(authorization);
    verifyTc3(request, parsed, SECRET, timestamp, body);
    assert.throws(
      () => {
        verifyTc3(request, parsed, 'wrong', timestamp, body);
      },
      { code: 'SignatureNotMatch' },
    );
  }
});

test('a request changed after signing is refused', () => {
  const signed = signedBySdk(PAYLOADS[1] as Record<string, unknown>);
  const parsed = parseTc3Authorization(signed.authorization);
  const headers = signed.request.headers;
  const tamper: [string, Partial<typeof signed> & { scope?: Partial<typeof parsed> }][] = [
    ['body', { body: Buffer.from('{"FunctionName":"A"}') }],
    ['timestamp', { timestamp: String(TIMESTAMP + 1) }],
    ['method', { request: { ...signed.request, method: 'GET' } }],
    ['path', { request: { ...signed.request, rawPath: '/x' } }],
    ['query', { request: { ...signed.request, rawQuery: 'a=1' } }],
    ['host', { request: { ...signed.request, headers: { ...headers, host: ['evil:9000'] } } }],
    [
      'content type',
      { request: { ...signed.request, headers: { ...headers, 'content-type': ['text/plain'] } } },
    ],
    ['service', { scope: { service: 'scf' } }],
    ['date', { scope: { date: '2024-05-02' } }],
  ];
  for (const [what, change] of tamper) {
    const { request, timestamp, body } = { ...signed, ...change };
    assert.throws(
      () => {
        verifyTc3(request, { ...parsed, ...change.scope }, SECRET, timestamp, body);
      },
      { code: 'SignatureNotMatch' },
      what,
    );
  }
});

test('a signature must cover the content type and the host', () => {
  const { authorization, request, timestamp, body } = signedBySdk({});
  const parsed = parseTc3Authorization(authorization);
  for (const name of ['content-type', 'host']) {
    const fewer = { ...parsed, signedHeaders: parsed.signedHeaders.filter((h) => h !== name) };
    assert.throws(
      () => {
        verifyTc3(request, fewer, SECRET, timestamp, body);
      },
      { code: 'SignatureNotMatch' },
      name,
    );
  }
  const more = { ...parsed, signedHeaders: [...parsed.signedHeaders, 'x-tc-region'] };
  assert.throws(
    () => {
      verifyTc3(request, more, SECRET, timestamp, body);
    },
    { code: 'SignatureNotMatch' },
  );
});

test('Authorization headers not of the TC3 form are refused before any key is looked up', () => {
  assert.throws(() => parseTc3Authorization(undefined), { code: 'MissingRequiredHeader' });
  const signature = '0'.repeat(64);
  for (const header of [
    'Bearer sluice_x',
    `TC3-HMAC-SHA256 Credential=k/2024-05-01/scf/tc3_request, SignedHeaders=host, Signature=abc`,
    `TC3-HMAC-SM3 Credential=k/2024-05-01/scf/tc3_request, SignedHeaders=host, Signature=${signature}`,
    `TC3-HMAC-SHA256 Credential=k/2024-5-1/scf/tc3_request, SignedHeaders=host, Signature=${signature}`,
    `TC3-HMAC-SHA256 Credential=k/2024-05-01/scf/request, SignedHeaders=host, Signature=${signature}`,
    `TC3-HMAC-SHA256 Credential=k/2024-05-01/scf/tc3_request, SignedHeaders=Host, Signature=${signature}`,
  ])
    assert.throws(() => parseTc3Authorization(header), { code: 'SignatureNotMatch' }, header);
});

test('the canonical request is the one the SDK signs: the host without its port', () => {
  const { request } = signedBySdk({});
  assert.deepEqual(tc3CanonicalRequest(request, ['content-type', 'host'], 'h').split('\n'), [
    'POST',
    '/',
    '',
    'content-type:application/json',
    'host:127.0.0.1',
    '',
    'content-type;host',
    'h',
  ]);
});

test('X-TC-Timestamp must be whole seconds within the window either way', () => {
  const now = TIMESTAMP * 1000;
  const window = 5 * 60_000;
  assert.equal(checkTc3Timestamp(String(TIMESTAMP + 300), now, window), TIMESTAMP + 300);
  assert.equal(checkTc3Timestamp(String(TIMESTAMP - 300), now, window), TIMESTAMP - 300);
  for (const timestamp of [
    String(TIMESTAMP + 301),
    String(TIMESTAMP - 301),
    `${TIMESTAMP}.5`,
    '-1',
    '',
    'now',
    undefined,
  ])
    assert.throws(
      () => checkTc3Timestamp(timestamp, now, window),
      { code: 'RequestTimeTooSkewed' },
      String(timestamp),
    );
});
