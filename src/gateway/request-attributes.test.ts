import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import { isSluiceError } from '../core/errors.js';
import {
  parseCookies,
  parseRoutingKey,
  requestLookup,
  requestRoutingKey,
  ROUTING_KEY_HEADER,
  ROUTING_KEY_PARAM,
} from './request-attributes.js';

// What routing may read of a request: the routing key header, cookies, headers and query parameters.

/** Asserts that `run` throws InvalidArgument naming `path` among its details. */
function assertInvalid(run: () => unknown, path: string): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(isSluiceError(error), `a SluiceError, not ${String(error)}`);
    const e = error;
    assert.equal(e.code, 'InvalidArgument');
    assert.equal(e.status, 400);
    const paths = (e.details as readonly { path: string }[]).map((d) => d.path);
    assert.deepEqual(paths, [path], e.message);
    return true;
  });
}

describe('parseRoutingKey', () => {
  test('no header: no routing key', () => {
    assert.equal(parseRoutingKey(undefined), undefined);
  });

  for (const [header, expected] of [
    ['{"userId":"42"}', { userId: '42' }],
    ['{}', {}],
    [' { "a" : "1" , "b" : "" } ', { a: '1', b: '' }],
    ['{"user-id":"日本","x":"{\\"nested\\":\\"text\\"}"}', { 'user-id': '日本', x: '{"nested":"text"}' }],
  ] as const) {
    test(`valid: ${header}`, () => {
      assert.deepEqual(parseRoutingKey(header), expected);
    });
  }

  for (const header of ['', 'not json', '{"userId":"42"', "{'userId':'42'}", '{userId:"42"}']) {
    test(`malformed JSON → InvalidArgument: ${JSON.stringify(header)}`, () => {
      assertInvalid(() => parseRoutingKey(header), ROUTING_KEY_HEADER);
    });
  }

  for (const header of ['[]', '["42"]', '[{"userId":"42"}]', 'null', '"42"', '42', 'true']) {
    test(`not an object → InvalidArgument: ${header}`, () => {
      assertInvalid(() => parseRoutingKey(header), ROUTING_KEY_HEADER);
    });
  }

  for (const [header, path] of [
    ['{"userId":42}', 'userId'],
    ['{"a":"1","userId":42.5}', 'userId'],
    ['{"user":{"id":"42"}}', 'user'],
    ['{"ids":["42"]}', 'ids'],
    ['{"flag":true}', 'flag'],
    ['{"gone":null}', 'gone'],
    // A header rule reads routing-key names in any case, and could not tell these two apart.
    ['{"User":"Bob","user":"Eve"}', 'user'],
  ] as const) {
    test(`a value that is no string → InvalidArgument at ${path}: ${header}`, () => {
      assertInvalid(() => parseRoutingKey(header), `${ROUTING_KEY_HEADER}.${path}`);
    });
  }
});

describe('requestRoutingKey', () => {
  const query = (text: string) => new URLSearchParams(text);
  const bob = encodeURIComponent('{"User":"Bob"}');

  test('from the header, or on the invoke API from ?routingKey= (URL-encoded JSON)', () => {
    assert.deepEqual(requestRoutingKey({ [ROUTING_KEY_HEADER]: '{"User":"Bob"}' }, query('')), {
      User: 'Bob',
    });
    assert.deepEqual(requestRoutingKey({}, query(`${ROUTING_KEY_PARAM}=${bob}`)), { User: 'Bob' });
    assert.deepEqual(requestRoutingKey({}, query(`qualifier=prepub&${ROUTING_KEY_PARAM}=${bob}`)), {
      User: 'Bob',
    });
    assert.equal(requestRoutingKey({}, query('')), undefined);
  });

  test("a trigger's query string is the function's: ?routingKey= there is no routing key", () => {
    assert.equal(requestRoutingKey({}, undefined), undefined);
  });

  test('given twice, or in both places, is refused: which one would count is not for us to guess', () => {
    assertInvalid(
      () =>
        requestRoutingKey({ [ROUTING_KEY_HEADER]: '{"User":"Bob"}' }, query(`${ROUTING_KEY_PARAM}=${bob}`)),
      ROUTING_KEY_PARAM,
    );
    assertInvalid(
      () => requestRoutingKey({}, query(`${ROUTING_KEY_PARAM}=${bob}&${ROUTING_KEY_PARAM}=${bob}`)),
      ROUTING_KEY_PARAM,
    );
  });

  for (const [text, path] of [
    ['{"User":', ROUTING_KEY_PARAM],
    ['["Bob"]', ROUTING_KEY_PARAM],
    ['{"User":1}', `${ROUTING_KEY_PARAM}.User`],
    ['{"User":"Bob","user":"Eve"}', `${ROUTING_KEY_PARAM}.user`],
  ] as const) {
    test(`a malformed ?routingKey= is InvalidArgument at ${path}: ${text}`, () => {
      assertInvalid(
        () => requestRoutingKey({}, query(`${ROUTING_KEY_PARAM}=${encodeURIComponent(text)}`)),
        path,
      );
    });
  }
});

describe('parseCookies', () => {
  const table: [header: string | undefined, expected: Record<string, string>][] = [
    [undefined, {}],
    ['', {}],
    ['a=1', { a: '1' }],
    ['a=1; b=2', { a: '1', b: '2' }],
    ['a=1;b=2', { a: '1', b: '2' }],
    ['  a = 1 ;   b=2   ;c =3', { a: '1', b: '2', c: '3' }],
    ['a=1;; ;  ;b=2;', { a: '1', b: '2' }],
    [';;;', {}],
    ['c="3"; d=" spaced "; e="', { c: '3', d: ' spaced ', e: '"' }],
    ['q=""', { q: '' }],
    ['token=abc==; eq=a=b=c', { token: 'abc==', eq: 'a=b=c' }],
    ['uid=first; uid=second', { uid: 'first' }],
    ['uid=; uid=second', { uid: '' }],
    ['flag; a=1', { a: '1' }],
    ['=orphan; a=1', { a: '1' }],
    ['empty=', { empty: '' }],
    ['Uid=1; uid=2', { Uid: '1', uid: '2' }],
    ['json={"a":1}', { json: '{"a":1}' }],
  ];
  for (const [header, expected] of table) {
    test(`${JSON.stringify(header)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(Object.fromEntries(parseCookies(header)), expected);
    });
  }
});

describe('requestLookup', () => {
  test('headers by lower-case name; a repeated header is joined with ", "', () => {
    const headers: IncomingHttpHeaders = { user: 'Bob', 'x-multi': ['a', 'b'], empty: '' };
    const lookup = requestLookup(headers, new URLSearchParams(), undefined);
    assert.equal(lookup('header', 'user'), 'Bob');
    assert.equal(lookup('header', 'x-multi'), 'a, b');
    assert.equal(lookup('header', 'empty'), '', 'an empty header is present');
    assert.equal(lookup('header', 'missing'), undefined);
    assert.equal(lookup('query', 'user'), undefined, 'a header is no query parameter');
    assert.equal(lookup('cookie', 'user'), undefined);
    assert.equal(lookup('key', 'user'), undefined);
  });

  test('over a real HTTP request: header names arrive lower-cased, repeated headers and cookies joined', async () => {
    let lookupSeen: ReturnType<typeof requestLookup> | undefined;
    const server = createServer((req, res) => {
      lookupSeen = requestLookup(req.headers, new URL(req.url ?? '/', 'http://x').searchParams, undefined);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      await new Promise<void>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            [
              'GET /p?v=1&v=2 HTTP/1.1',
              'Host: x',
              'User: Bob',
              'X-Multi: a',
              'x-multi: b',
              'Cookie: uid=42; theme=dark',
              'Cookie: uid=43; lang=en',
              'Connection: close',
              '',
              '',
            ].join('\r\n'),
          );
        });
        socket.on('data', () => undefined);
        socket.on('end', resolve);
        socket.on('error', reject);
      });
      const lookup = lookupSeen ?? assert.fail('the request arrived');
      assert.equal(lookup('header', 'user'), 'Bob');
      assert.equal(lookup('header', 'x-multi'), 'a, b');
      assert.equal(lookup('query', 'v'), '1');
      assert.equal(lookup('cookie', 'uid'), '42', 'the first cookie of a name wins');
      assert.equal(lookup('cookie', 'theme'), 'dark');
      assert.equal(lookup('cookie', 'lang'), 'en', 'a second Cookie header is read too');
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  });

  test('cookies from the Cookie header, with odd spacing', () => {
    const lookup = requestLookup(
      { cookie: ' uid = 42 ;theme=dark;;x="q"' },
      new URLSearchParams(),
      undefined,
    );
    assert.equal(lookup('cookie', 'uid'), '42');
    assert.equal(lookup('cookie', 'theme'), 'dark');
    assert.equal(lookup('cookie', 'x'), 'q');
    assert.equal(lookup('cookie', 'missing'), undefined);
    assert.equal(lookup('header', 'uid'), undefined);
    assert.equal(requestLookup({}, new URLSearchParams(), undefined)('cookie', 'uid'), undefined);
  });

  test('query parameters: the first of repeated ones wins; an empty one is present', () => {
    const lookup = requestLookup({}, new URLSearchParams('v=1&v=2&e=&flag&sp=a%20b&plus=a+b'), undefined);
    assert.equal(lookup('query', 'v'), '1');
    assert.equal(lookup('query', 'e'), '');
    assert.equal(lookup('query', 'flag'), '');
    assert.equal(lookup('query', 'sp'), 'a b');
    assert.equal(lookup('query', 'plus'), 'a b');
    assert.equal(lookup('query', 'missing'), undefined);
    assert.equal(lookup('query', 'V'), undefined, 'query names are case-sensitive');
  });

  test("the routing key's own values only: no prototype keys", () => {
    const key = parseRoutingKey('{"userId":"42","empty":"","constructor":"c"}');
    const lookup = requestLookup({}, new URLSearchParams(), key);
    assert.equal(lookup('key', 'userId'), '42');
    assert.equal(lookup('key', 'empty'), '');
    assert.equal(lookup('key', 'constructor'), 'c', 'an own key named constructor is a value');
    assert.equal(lookup('key', 'missing'), undefined);
    const plain = requestLookup({}, new URLSearchParams(), { userId: '42' });
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']) {
      assert.equal(plain('key', name), undefined, name);
    }
    const none = requestLookup({}, new URLSearchParams(), undefined);
    assert.equal(none('key', 'userId'), undefined, 'no routing key: no parameters');
    assert.equal(none('key', 'constructor'), undefined);
  });

  test('a header rule finds a routing-key entry by its name in any case', () => {
    const lookup = requestLookup({ user: 'Alice' }, new URLSearchParams(), { User: 'Bob', 'X-Tier': 'gold' });
    assert.equal(lookup('routingKeyHeader', 'user'), 'Bob');
    assert.equal(lookup('routingKeyHeader', 'x-tier'), 'gold');
    assert.equal(lookup('routingKeyHeader', 'missing'), undefined);
    assert.equal(lookup('header', 'user'), 'Alice', 'the header itself is still the header');
    assert.equal(lookup('key', 'user'), undefined, 'key rules read exact names');
    assert.equal(requestLookup({}, new URLSearchParams(), undefined)('routingKeyHeader', 'user'), undefined);
  });
});
