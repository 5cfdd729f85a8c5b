import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSluiceError } from '../core/errors.js';
import { decodeParams, type Route, Router } from './router.js';

const ROUTES: Route<string>[] = [
  { method: 'GET', path: '/v1/functions', handler: 'list' },
  { method: 'POST', path: '/v1/functions', handler: 'create' },
  { method: 'GET', path: '/v1/functions/{name}', handler: 'get' },
  { method: 'DELETE', path: '/v1/functions/{name}', handler: 'delete' },
  { method: 'GET', path: '/v1/functions/{name}/aliases/{alias}', handler: 'alias' },
  { method: 'GET', path: '/v1/functions/{name}/openapi', handler: 'param-then-literal' },
  { method: 'GET', path: '/v1/functions/openapi/{what}', handler: 'literal-then-param' },
  { method: 'ANY', path: '/v1/functions/{name}/invocations', handler: 'invoke' },
  { method: 'ANY', path: '/fn/{name}', handler: 'trigger-default' },
  { method: 'ANY', path: '/fn/{name}/', handler: 'trigger-default' },
  { method: 'ANY', path: '/fn/{name}/{qualifier}/*', handler: 'trigger' },
  { method: 'ANY', path: '/gw/{api}/{stage}/*', handler: 'stage' },
  { method: 'ANY', path: '/console/*', handler: 'console' },
  { method: 'ANY', path: '/', handler: 'root' },
];
const router = new Router(ROUTES);

describe('Router', () => {
  const matches: [
    method: string,
    path: string,
    handler: string,
    params: object,
    rest?: string | undefined,
  ][] = [
    ['GET', '/v1/functions', 'list', {}],
    ['POST', '/v1/functions', 'create', {}],
    ['GET', '/v1/functions/f1', 'get', { name: 'f1' }],
    ['DELETE', '/v1/functions/f1', 'delete', { name: 'f1' }],
    ['GET', '/v1/functions/f1/aliases/live', 'alias', { name: 'f1', alias: 'live' }],
    // A literal segment wins over a parameter at the same place, and the walk backs out of a dead end.
    ['GET', '/v1/functions/openapi/x', 'literal-then-param', { what: 'x' }],
    ['GET', '/v1/functions/openapi/openapi', 'literal-then-param', { what: 'openapi' }],
    ['GET', '/v1/functions/f1/openapi', 'param-then-literal', { name: 'f1' }],
    ['PATCH', '/v1/functions/f1/invocations', 'invoke', { name: 'f1' }],
    ['GET', '/fn/f1', 'trigger-default', { name: 'f1' }],
    ['POST', '/fn/f1/', 'trigger-default', { name: 'f1' }],
    ['GET', '/fn/f1/live', 'trigger', { name: 'f1', qualifier: 'live' }, undefined],
    ['GET', '/fn/f1/live/', 'trigger', { name: 'f1', qualifier: 'live' }, '/'],
    ['PUT', '/fn/f1/live/a/b/', 'trigger', { name: 'f1', qualifier: 'live' }, '/a/b/'],
    ['GET', '/fn/f1/live//x', 'trigger', { name: 'f1', qualifier: 'live' }, '//x'],
    ['GET', '/gw/api/prod/users/1', 'stage', { api: 'api', stage: 'prod' }, '/users/1'],
    ['GET', '/console', 'console', {}, undefined],
    ['GET', '/console/', 'console', {}, '/'],
    ['GET', '/console/assets/app.js', 'console', {}, '/assets/app.js'],
    ['POST', '/', 'root', {}],
    // Parameters come as they were sent: each part decides how to decode them.
    ['GET', '/v1/functions/a%2Fb', 'get', { name: 'a%2Fb' }],
    ['GET', '/fn/f%zz/q%20', 'trigger', { name: 'f%zz', qualifier: 'q%20' }, undefined],
  ];
  for (const [method, path, handler, params, rest] of matches) {
    test(`${method} ${path} → ${handler}`, () => {
      const found = router.match(method, path);
      assert.equal(found.route.handler, handler);
      assert.deepEqual(found.params, params);
      assert.equal(found.rest, rest);
    });
  }

  const misses: [method: string, path: string, code: string, allowed?: string[]][] = [
    ['GET', '/v1/function', 'RouteNotFound'],
    ['GET', '/v1/functions/', 'RouteNotFound'],
    ['GET', '/v1/functions//aliases/live', 'RouteNotFound'],
    ['GET', '/fn', 'RouteNotFound'],
    ['GET', '/fn/', 'RouteNotFound'],
    ['GET', '/fn//live', 'RouteNotFound'],
    ['GET', '/fn/f1//x', 'RouteNotFound'],
    ['GET', '/gw/api', 'RouteNotFound'],
    ['GET', '/gw/api/', 'RouteNotFound'],
    ['GET', '/consoles', 'RouteNotFound'],
    ['PUT', '/v1/functions', 'MethodNotAllowed', ['GET', 'POST']],
    ['POST', '/v1/functions/f1', 'MethodNotAllowed', ['GET', 'DELETE']],
    ['HEAD', '/v1/functions/f1/aliases/live', 'MethodNotAllowed', ['GET']],
  ];
  for (const [method, path, code, allowed] of misses) {
    test(`${method} ${path} → ${code}`, () => {
      assert.throws(
        () => router.match(method, path),
        (error: unknown) => {
          assert.ok(isSluiceError(error));
          assert.equal(error.code, code);
          if (allowed) assert.deepEqual((error.details as { allowed: string[] }).allowed, allowed);
          return true;
        },
      );
    });
  }

  test('a 405 names the path and the methods to use', () => {
    assert.throws(() => router.match('PUT', '/v1/functions'), {
      message: 'PUT is not allowed on /v1/functions; use GET, POST',
    });
  });
});

describe('decodeParams', () => {
  test('decodes each parameter', () => {
    assert.deepEqual(decodeParams({ name: 'a%2Fb', alias: 'live' }), { name: 'a/b', alias: 'live' });
  });

  test('refuses a malformed escape as the caller’s error', () => {
    assert.throws(() => decodeParams({ name: 'f%zz' }), {
      code: 'InvalidArgument',
      message: 'path segment "f%zz" is not valid percent-encoding',
    });
  });
});
