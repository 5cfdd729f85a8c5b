import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseApiDefinition, type RouteMatch, RouteMatcher, type RouteMethod } from './api-gateway.js';

const routes = (...list: string[]) => ({
  routes: list.map((r) => {
    const [method, path] = r.split(' ') as [RouteMethod, string];
    return { method, path };
  }),
});

describe('RouteMatcher', () => {
  const matcher = (...list: string[]) => new RouteMatcher(parseApiDefinition(routes(...list)).routes);

  /** What a request matches: `METHOD /pattern {params}`, `405 ALLOWED` or `404`. */
  function outcome(m: RouteMatcher, method: string, path: string): string {
    const found = m.match(method, path);
    if (!found) return '404';
    if ('methodNotAllowed' in found) return `405 ${found.methodNotAllowed.join(',')}`;
    const match: RouteMatch = found;
    return `${match.route.method} ${match.route.path} ${JSON.stringify(match.pathParameters)}`;
  }

  const shop = matcher(
    'ANY /{proxy+}',
    'GET /users/{id}',
    'GET /users/me',
    'ANY /users/me',
    'PUT /users/{id}',
    'POST /users',
    'GET /files/{path+}',
    'GET /users/{id}/orders/{orderId}',
    'GET /',
  );
  const cases: [string, string, string][] = [
    // Literal beats parameter beats greedy, whatever the order the routes were listed in.
    ['GET', '/users/me', 'GET /users/me {}'],
    ['GET', '/users/42', 'GET /users/{id} {"id":"42"}'],
    ['GET', '/users/42/orders/7', 'GET /users/{id}/orders/{orderId} {"id":"42","orderId":"7"}'],
    ['GET', '/other/thing', 'ANY /{proxy+} {"proxy":"other/thing"}'],
    ['GET', '/users/42/else', 'ANY /{proxy+} {"proxy":"users/42/else"}'],
    // An exact method beats ANY on the same pattern; ANY takes the other methods.
    ['DELETE', '/users/me', 'ANY /users/me {}'],
    // A pattern that does not take the method gives way to a wider one that does.
    ['DELETE', '/users/42', 'ANY /{proxy+} {"proxy":"users/42"}'],
    ['PUT', '/users/42', 'PUT /users/{id} {"id":"42"}'],
    ['POST', '/users', 'POST /users {}'],
    ['GET', '/users', 'ANY /{proxy+} {"proxy":"users"}'],
    ['GET', '/files/a/b/c.txt', 'GET /files/{path+} {"path":"a/b/c.txt"}'],
    ['GET', '/files', 'ANY /{proxy+} {"proxy":"files"}'],
    ['GET', '/files/', 'ANY /{proxy+} {"proxy":"files/"}'],
    // The root.
    ['GET', '/', 'GET / {}'],
    ['GET', '', 'GET / {}'],
    ['POST', '/', '405 GET'],
  ];
  for (const [method, path, expected] of cases) {
    test(`${method} ${JSON.stringify(path)} → ${expected}`, () => {
      assert.equal(outcome(shop, method, path), expected);
    });
  }

  test('the order routes are listed in does not change what matches', () => {
    const list = ['ANY /{proxy+}', 'GET /a/{x}', 'GET /a/b', 'ANY /a/b', 'GET /a/{x}/{y+}'];
    const forward = matcher(...list);
    const backward = matcher(...[...list].reverse());
    for (const [method, path] of [
      ['GET', '/a/b'],
      ['POST', '/a/b'],
      ['GET', '/a/c'],
      ['GET', '/a/c/d/e'],
      ['GET', '/z'],
    ] as const) {
      assert.equal(outcome(forward, method, path), outcome(backward, method, path), `${method} ${path}`);
    }
    assert.equal(outcome(forward, 'GET', '/a/b'), 'GET /a/b {}');
    assert.equal(outcome(forward, 'POST', '/a/b'), 'ANY /a/b {}');
    assert.equal(outcome(forward, 'GET', '/a/c'), 'GET /a/{x} {"x":"c"}');
    assert.equal(outcome(forward, 'GET', '/a/c/d/e'), 'GET /a/{x}/{y+} {"x":"c","y":"d/e"}');
  });

  describe('404 and 405', () => {
    const api = matcher(
      'GET /users/{id}',
      'DELETE /users/{id}',
      'POST /users',
      'GET /users/me',
      'PUT /items/{id}',
    );
    const cases: [string, string, string][] = [
      ['GET', '/nothing', '404'],
      ['GET', '/users/1/2', '404'],
      ['GET', '/', '404'],
      ['GET', '/users/', '404'],
      ['GET', '/users//', '404'],
      ['POST', '/users/1', '405 GET,DELETE'],
      ['PATCH', '/users/me', '405 GET,DELETE'],
      ['GET', '/users', '405 POST'],
      ['HEAD', '/users/1', '405 GET,DELETE'],
      ['GET', '/items/1', '405 PUT'],
      ['get', '/users/1', '405 GET,DELETE'],
    ];
    for (const [method, path, expected] of cases) {
      test(`${method} ${path} → ${expected}`, () => {
        assert.equal(outcome(api, method, path), expected);
      });
    }

    test('the allowed methods are listed once each', () => {
      const m = matcher('GET /a/{x}', 'GET /a/b', 'POST /a/{x}');
      assert.equal(outcome(m, 'PUT', '/a/b'), '405 GET,POST');
    });

    test('an API without routes matches nothing', () => {
      assert.equal(outcome(matcher(), 'GET', '/'), '404');
      assert.equal(outcome(matcher(), 'GET', '/x'), '404');
    });
  });

  describe('percent-decoding', () => {
    const api = matcher('GET /users/{id}', 'GET /files/{path+}', 'GET /~me', 'GET /a:b');
    const cases: [string, string][] = [
      ['/users/a%20b', 'GET /users/{id} {"id":"a b"}'],
      ['/users/caf%C3%A9', 'GET /users/{id} {"id":"café"}'],
      ['/users/a%2Fb', 'GET /users/{id} {"id":"a/b"}'],
      ['/users/100%25', 'GET /users/{id} {"id":"100%"}'],
      ['/users/%E0%A4%A', 'GET /users/{id} {"id":"%E0%A4%A"}'],
      ['/users/a+b', 'GET /users/{id} {"id":"a+b"}'],
      ['/files/a%20dir/b%2Fc.txt', 'GET /files/{path+} {"path":"a dir/b/c.txt"}'],
      ['/%7Eme', 'GET /~me {}'],
      ['/%75sers/1', 'GET /users/{id} {"id":"1"}'],
      ['/a%3Ab', 'GET /a:b {}'],
      ['/users/%2F', 'GET /users/{id} {"id":"/"}'],
    ];
    for (const [path, expected] of cases) {
      test(`${path} → ${expected}`, () => {
        assert.equal(outcome(api, 'GET', path), expected);
      });
    }
  });

  describe('trailing slashes and the root', () => {
    test('a trailing slash is another path: it does not match the route without it', () => {
      const m = matcher('GET /users/{id}', 'GET /users');
      assert.equal(outcome(m, 'GET', '/users'), 'GET /users {}');
      assert.equal(outcome(m, 'GET', '/users/'), '404');
      assert.equal(outcome(m, 'GET', '/users/1/'), '404');
    });

    test('a greedy parameter keeps a trailing slash, but never matches nothing', () => {
      const m = matcher('GET /files/{path+}');
      assert.equal(outcome(m, 'GET', '/files/a/'), 'GET /files/{path+} {"path":"a/"}');
      assert.equal(outcome(m, 'GET', '/files/'), '404');
      assert.equal(outcome(m, 'GET', '/files'), '404');
    });

    test('/{proxy+} does not match the root; a route for / does', () => {
      const proxy = matcher('ANY /{proxy+}');
      assert.equal(outcome(proxy, 'GET', '/'), '404');
      assert.equal(outcome(proxy, 'GET', '/x'), 'ANY /{proxy+} {"proxy":"x"}');
      const both = matcher('ANY /{proxy+}', 'ANY /');
      assert.equal(outcome(both, 'DELETE', '/'), 'ANY / {}');
      assert.equal(outcome(both, 'DELETE', '/x'), 'ANY /{proxy+} {"proxy":"x"}');
    });

    test('a parameter never matches an empty segment', () => {
      const m = matcher('GET /a/{x}/b');
      assert.equal(outcome(m, 'GET', '/a//b'), '404');
      assert.equal(outcome(m, 'GET', '/a/1/b'), 'GET /a/{x}/b {"x":"1"}');
    });
  });
});
