import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { stringify } from 'node:querystring';
import { test } from 'node:test';
import { OpenApiUtil } from '@alicloud/openapi-core';
// A CommonJS module whose classes are its exports: imported whole, as Node gives it.
import OpenApiClient015 from '@alicloud/openapi-client';
import { acs3CanonicalRequest, checkAcs3Date, parseAcs3Authorization, verifyAcs3 } from './acs3.js';
import type { SignedRequest } from './signed-request.js';
import { recordingServer } from '../../test/support/signed-arrivals.js';

const SECRET = 'test-secret-0123456789';
const KEY_ID = 'LTAI5tExampleKey';

interface Case {
  name: string;
  method: string;
  pathname: string;
  query: Record<string, string>;
  body?: string;
  contentType?: string;
  extraHeaders?: Record<string, string>;
}

/** Requests as Function Compute's SDK sends them: its paths, queries, bodies and headers. */
const cases: Case[] = [
  { name: 'a listing without a body', method: 'GET', pathname: '/2023-03-30/functions', query: {} },
  {
    name: 'a query of characters the SDK encodes its own way',
    method: 'GET',
    pathname: '/2023-03-30/functions/fn/versions',
    query: { limit: '2', direction: 'BACKWARD', nextToken: "a b*c(!)'~+/=", empty: '' },
  },
  {
    name: 'a JSON body',
    method: 'POST',
    pathname: '/2023-03-30/functions',
    query: {},
    body: JSON.stringify({ functionName: 'fn', runtime: 'nodejs20', handler: 'index.handler' }),
    contentType: 'application/json; charset=utf-8',
  },
  {
    name: 'an invocation with a qualifier and headers of the data plane',
    method: 'POST',
    pathname: '/2023-03-30/functions/my-fn/invocations',
    query: { qualifier: '$LATEST' },
    body: 'raw event bytes',
    contentType: 'application/octet-stream',
    extraHeaders: { 'x-fc-log-type': 'Tail', 'x-fc-invocation-type': 'Sync' },
  },
  {
    name: 'a path with escapes',
    method: 'DELETE',
    pathname: '/2023-03-30/functions/a%2Ab+c%7Ed/aliases/x',
    query: {},
  },
];

/** Signs a case with the official signer of the SDK's core (`@alicloud/openapi-core`, which the SDK uses). */
function signed(c: Case, date = '2024-05-01T12:00:00Z') {
  const payload = c.body ?? '';
  const hash = createHash('sha256').update(payload).digest('hex');
  const headers: Record<string, string> = {
    host: '127.0.0.1:9000',
    'x-acs-version': '2023-03-30',
    'x-acs-action': 'Action',
    'user-agent': 'AlibabaCloud (linux; x64) Node.js/v20',
    'x-acs-date': date,
    'x-acs-signature-nonce': 'nonce-1',
    accept: 'application/json',
    ...(c.contentType !== undefined && { 'content-type': c.contentType }),
    'x-acs-content-sha256': hash,
    ...c.extraHeaders,
  };
  const request = { pathname: c.pathname, method: c.method, query: c.query, headers } as never;
  const authorization = OpenApiUtil.getAuthorization(request, 'ACS3-HMAC-SHA256', hash, KEY_ID, SECRET);
  // What arrives: the SDK's HTTP layer sends the query through querystring.stringify.
  const arrived: SignedRequest = {
    method: c.method,
    rawPath: c.pathname,
    rawQuery: stringify(c.query),
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [v]])),
  };
  return { authorization, arrived };
}

test("signatures made by the SDK core's signer verify, with the claims they carry", () => {
  for (const c of cases) {
    const { authorization, arrived } = signed(c);
    const claims = verifyAcs3(arrived, parseAcs3Authorization(authorization), SECRET);
    assert.equal(claims.accessKeyId, KEY_ID, c.name);
    assert.equal(claims.nonce, 'nonce-1');
    assert.equal(claims.date, '2024-05-01T12:00:00Z');
    assert.equal(
      claims.contentSha256,
      createHash('sha256')
        .update(c.body ?? '')
        .digest('hex'),
    );
  }
});

test('requests that openapi-client 0.4.15 signs and sends over a socket verify as they arrive', async () => {
  const server = await recordingServer('{}');
  try {
    const { default: Client, Config, OpenApiRequest, Params } = OpenApiClient015;
    const client = new Client(
      new Config({
        accessKeyId: KEY_ID,
        accessKeySecret: SECRET,
        endpoint: `127.0.0.1:${server.port}`,
        protocol: 'HTTP',
      }),
    );
    for (const c of cases) {
      const params = new Params({
        action: 'Action',
        version: '2023-03-30',
        protocol: 'HTTP',
        pathname: c.pathname,
        method: c.method,
        authType: 'AK',
        style: 'ROA',
        reqBodyType: c.body === undefined || c.contentType?.startsWith('application/json') ? 'json' : 'byte',
        bodyType: 'json',
      });
      const body: unknown =
        c.body === undefined
          ? undefined
          : c.contentType?.startsWith('application/json')
            ? (JSON.parse(c.body) as unknown)
            : Buffer.from(c.body);
      const request = new OpenApiRequest({
        query: c.query,
        headers: { ...c.extraHeaders },
        ...(body !== undefined && { body }),
      });
      await client.callApi(params, request, {} as never);
    }
  } finally {
    server.close();
  }
  assert.equal(server.arrivals.length, cases.length);
  for (const [i, arrival] of server.arrivals.entries()) {
    const claims = verifyAcs3(arrival.request, parseAcs3Authorization(arrival.authorization), SECRET);
    assert.equal(
      claims.contentSha256,
      createHash('sha256').update(arrival.body).digest('hex'),
      cases[i]?.name,
    );
    assert.throws(() => verifyAcs3(arrival.request, parseAcs3Authorization(arrival.authorization), 'wrong'), {
      code: 'SignatureNotMatch',
    });
  }
});

test('a request changed after signing, or signed with another secret, is refused', () => {
  const tamper: [string, (r: SignedRequest) => SignedRequest][] = [
    ['method', (r) => ({ ...r, method: r.method === 'GET' ? 'DELETE' : 'GET' })],
    ['path', (r) => ({ ...r, rawPath: `${r.rawPath}x` })],
    ['query', (r) => ({ ...r, rawQuery: r.rawQuery === '' ? 'limit=1' : `${r.rawQuery}&limit=9` })],
    ['host', (r) => ({ ...r, headers: { ...r.headers, host: ['evil:1'] } })],
    ['date', (r) => ({ ...r, headers: { ...r.headers, 'x-acs-date': ['2024-05-01T12:00:01Z'] } })],
    ['nonce', (r) => ({ ...r, headers: { ...r.headers, 'x-acs-signature-nonce': ['nonce-2'] } })],
    ['body hash', (r) => ({ ...r, headers: { ...r.headers, 'x-acs-content-sha256': ['0'.repeat(64)] } })],
  ];
  for (const c of cases) {
    const { authorization, arrived } = signed(c);
    const parsed = parseAcs3Authorization(authorization);
    assert.throws(() => verifyAcs3(arrived, parsed, `${SECRET}x`), { code: 'SignatureNotMatch' });
    for (const [what, change] of tamper)
      assert.throws(() => verifyAcs3(change(arrived), parsed, SECRET), { code: 'SignatureNotMatch' }, what);
  }
});

test('a signature must cover the host, the date, the nonce, the body hash and the content type', () => {
  const c = cases[2] as Case;
  const { authorization, arrived } = signed(c);
  const parsed = parseAcs3Authorization(authorization);
  for (const name of [
    'host',
    'x-acs-date',
    'x-acs-signature-nonce',
    'x-acs-content-sha256',
    'content-type',
  ]) {
    const fewer = { ...parsed, signedHeaders: parsed.signedHeaders.filter((h) => h !== name) };
    assert.throws(() => verifyAcs3(arrived, fewer, SECRET), { code: 'SignatureNotMatch' }, name);
  }
  const unsorted = { ...parsed, signedHeaders: [...parsed.signedHeaders].reverse() };
  assert.throws(() => verifyAcs3(arrived, unsorted, SECRET), { code: 'SignatureNotMatch' });
  const twice = { ...parsed, signedHeaders: ['host', ...parsed.signedHeaders] };
  assert.throws(() => verifyAcs3(arrived, twice, SECRET), { code: 'SignatureNotMatch' });
});

test('Authorization headers not of the ACS3 form are refused before any key is looked up', () => {
  assert.throws(() => parseAcs3Authorization(undefined), { code: 'MissingRequiredHeader' });
  for (const header of [
    'Bearer sluice_x',
    'ACS3-HMAC-SHA256 Credential=k,SignedHeaders=host,Signature=abc',
    'ACS3-HMAC-SM3 Credential=k,SignedHeaders=host,Signature=' + '0'.repeat(64),
    'ACS3-HMAC-SHA256 Credential=k,SignedHeaders=Host,Signature=' + '0'.repeat(64),
  ])
    assert.throws(() => parseAcs3Authorization(header), { code: 'SignatureNotMatch' }, header);
});

test('the canonical request is the one the SDK signs', () => {
  const { arrived } = signed(cases[1] as Case);
  const lines = acs3CanonicalRequest(arrived, ['host', 'x-acs-date'], 'h').split('\n');
  assert.deepEqual(lines, [
    'GET',
    '/2023-03-30/functions/fn/versions',
    'direction=BACKWARD&empty=&limit=2&nextToken=a%20b%2Ac%28%21%29%27~%2B%2F%3D',
    'host:127.0.0.1:9000',
    'x-acs-date:2024-05-01T12:00:00Z',
    '',
    'host;x-acs-date',
    'h',
  ]);
});

test('x-acs-date must be a UTC time within the window either way', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  const window = 15 * 60_000;
  assert.equal(checkAcs3Date('2024-05-01T12:15:00Z', now, window), now + window);
  assert.equal(checkAcs3Date('2024-05-01T11:45:00Z', now, window), now - window);
  for (const date of [
    '2024-05-01T12:15:01Z',
    '2024-05-01T11:44:59Z',
    '2024-05-01 12:00:00Z',
    '2024-05-01T12:00:00+08:00',
    '2024-02-30T12:00:00Z',
    'yesterday',
  ])
    assert.throws(() => checkAcs3Date(date, now, window), { code: 'RequestTimeTooSkewed' }, date);
});
