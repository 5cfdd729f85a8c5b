import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ApiDefinition,
  type ApiRoute,
  bindingFor,
  parseApiDefinition as apiDefinition,
  parseStageSpec as stageSpec,
  stageBindings,
} from '../../core/api-gateway.js';
import type { FieldIssue } from '../../core/errors.js';
import { validator } from '../validate.js';
import { ApiDefinitionBody, StageBody } from './apis.js';
import { caught, problems } from '../../../test/support/errors.js';

// APIs and stages as the API takes them: checked against their schemas, then by the core.
const checkDefinition = validator(ApiDefinitionBody);
const checkStage = validator(StageBody);
const parseApiDefinition = (input: unknown) => apiDefinition(checkDefinition(input));
const parseStageSpec = (input: unknown, api: ApiDefinition) => stageSpec(checkStage(input), api);

function show(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

const routes = (...list: string[]) => ({
  routes: list.map((r) => {
    const [method, path] = r.split(' ');
    return { method, path };
  }),
});

describe('parseApiDefinition', () => {
  describe('methods', () => {
    const cases: [unknown, string[]][] = [
      ['ANY', []],
      ['GET', []],
      ['POST', []],
      ['PUT', []],
      ['PATCH', []],
      ['DELETE', []],
      ['HEAD', []],
      ['OPTIONS', []],
      ['get', ['routes[0].method']],
      ['Any', ['routes[0].method']],
      ['FETCH', ['routes[0].method']],
      ['', ['routes[0].method']],
      [1, ['routes[0].method']],
      [null, ['routes[0].method']],
      [undefined, ['routes[0].method']],
    ];
    for (const [method, expected] of cases) {
      test(`method ${show(method)} → ${expected.length === 0 ? 'accepted' : expected.join(', ')}`, () => {
        assert.deepEqual(
          problems(() => parseApiDefinition({ routes: [{ method, path: '/x' }] })),
          expected,
        );
      });
    }
  });

  describe('path patterns', () => {
    const valid = [
      '/',
      '/users',
      '/users/{id}',
      '/users/{id}/orders/{orderId}',
      '/{proxy+}',
      '/files/{path+}',
      '/a/{p}/{q+}',
      '/v1.2/items_x/~me/a-b',
      "/sub-delims/!$&'()*+,;=:@",
      '/{_id}',
    ];
    for (const path of valid) {
      test(`accepts ${path}`, () => {
        const definition = parseApiDefinition({ routes: [{ method: 'GET', path }] });
        assert.deepEqual(definition.routes, [{ method: 'GET', path }]);
      });
    }
    const invalid: [unknown, string][] = [
      ['users/{id}', 'must start with /'],
      ['', 'must start with /'],
      ['/a/{p+}/b', '{name+} may only be the last segment'],
      ['/{p+}/{q+}', '{name+} may only be the last segment'],
      ['/{id}/{id}', 'names a path parameter twice'],
      ['/{id}/x/{id+}', 'names a path parameter twice'],
      ['/users/', 'neither a literal'],
      ['/a//b', 'neither a literal'],
      ['/{id}x', 'neither a literal'],
      ['/{}', 'neither a literal'],
      ['/{1id}', 'neither a literal'],
      ['/{a-b}', 'neither a literal'],
      ['/{+}', 'neither a literal'],
      ['/a?b=1', 'neither a literal'],
      ['/a#b', 'neither a literal'],
      ['/caf%C3%A9', 'neither a literal'],
      ['/a b', 'neither a literal'],
      ['/café', 'neither a literal'],
      [`/${'a'.repeat(512)}`, 'at most 512'],
      [7, 'must be a string'],
      [null, 'must be a string'],
    ];
    for (const [path, message] of invalid) {
      test(`refuses ${show(path)}: ${message}`, () => {
        const error = caught(() => parseApiDefinition({ routes: [{ method: 'GET', path }] }));
        assert.equal(error.code, 'InvalidArgument');
        const issues = error.details as readonly FieldIssue[];
        assert.ok(
          issues.some((i) => i.path === 'routes[0].path' && i.message.includes(message)),
          JSON.stringify(issues),
        );
      });
    }
    test('a path that is missing is required', () => {
      assert.deepEqual(
        problems(() => parseApiDefinition({ routes: [{ method: 'GET' }] })),
        ['routes[0].path'],
      );
    });
  });

  describe('the definition as a whole', () => {
    const cases: [string, unknown, string[]][] = [
      ['no routes at all', {}, []],
      ['an empty list', { routes: [] }, []],
      ['a description', { description: 'shop', routes: [] }, []],
      ['a description that is not a string', { description: 5 }, ['description']],
      ['a description too long', { description: 'x'.repeat(257) }, ['description']],
      ['routes that are not a list', { routes: { GET: '/x' } }, ['routes']],
      ['a route that is not an object', { routes: ['GET /x'] }, ['routes[0]']],
      ['an unknown field', { routes: [], stages: [] }, ['stages']],
      ['an unknown field of a route', { routes: [{ method: 'GET', path: '/x', fn: 'f' }] }, ['routes[0].fn']],
      ['not an object', [], ['']],
      ['null', null, ['']],
      [
        // The paths' segments are the core's to check, once the schema holds.
        'every problem the schema finds at once',
        { routes: [{ method: 'get', path: 'x' }, { path: '/a/{p+}/b' }], extra: 1 },
        ['extra', 'routes[0].method', 'routes[1].method'],
      ],
      [
        '201 routes',
        { routes: Array.from({ length: 201 }, (_, i) => ({ method: 'GET', path: `/r${i}` })) },
        ['routes'],
      ],
      ['the same route twice', routes('GET /users/{id}', 'POST /users', 'GET /users/{id}'), ['routes']],
      ['the same path under two methods', routes('GET /users/{id}', 'PUT /users/{id}'), []],
      ['ANY beside an exact method', routes('ANY /users/{id}', 'GET /users/{id}'), []],
      ['a literal beside a parameter', routes('GET /users/me', 'GET /users/{id}'), []],
      [
        'the same pattern twice under other parameter names',
        routes('GET /users/{id}', 'GET /users/{name}'),
        ['routes'],
      ],
      ['the same greedy pattern twice', routes('ANY /{proxy+}', 'ANY /{rest+}'), ['routes']],
    ];
    for (const [what, input, expected] of cases) {
      test(`${what} → ${expected.length === 0 ? 'accepted' : expected.join(', ')}`, () => {
        const found = problems(() => parseApiDefinition(input));
        assert.deepEqual([...found].sort(), [...expected].sort());
      });
    }

    test('the duplicate route is named in the message', () => {
      const error = caught(() => parseApiDefinition(routes('GET /a', 'GET /a')));
      assert.match(error.message, /GET \/a is listed twice/);
      const twin = caught(() => parseApiDefinition(routes('GET /u/{id}', 'POST /u/{id}', 'GET /u/{name}')));
      assert.match(twin.message, /GET \/u\/\{name\} takes the same requests as GET \/u\/\{id\}/);
    });

    test('keeps the routes in order and defaults the description', () => {
      assert.deepEqual(parseApiDefinition(routes('GET /users/{id}', 'ANY /{proxy+}')), {
        description: '',
        routes: [
          { method: 'GET', path: '/users/{id}' },
          { method: 'ANY', path: '/{proxy+}' },
        ],
      });
    });
  });
});

describe('parseStageSpec', () => {
  const api: ApiDefinition = parseApiDefinition(routes('GET /users/{id}', 'POST /users', 'ANY /{proxy+}'));

  const cases: [string, unknown, string[]][] = [
    ['a function alone', { function: 'B' }, []],
    ['an alias', { function: 'B', qualifier: 'release' }, []],
    ['$DEFAULT', { function: 'B', qualifier: '$DEFAULT' }, []],
    ['$LATEST', { function: 'B', qualifier: '$LATEST' }, []],
    ["Function Compute's LATEST", { function: 'B', qualifier: 'LATEST' }, []],
    ['an alias named latest, which none may be', { function: 'B', qualifier: 'latest' }, ['qualifier']],
    ['a version', { function: 'B', qualifier: '3' }, []],
    ['no function', { qualifier: 'release' }, ['function']],
    ['a function that is not a string', { function: 7 }, ['function']],
    ['a function name that is not valid', { function: '1-bad name' }, ['function']],
    ['a function name too long', { function: 'f'.repeat(200) }, ['function']],
    ['version 0', { function: 'B', qualifier: '0' }, ['qualifier']],
    ['a qualifier that is a number', { function: 'B', qualifier: 3 }, ['qualifier']],
    ['a qualifier that is no name', { function: 'B', qualifier: 'a b' }, ['qualifier']],
    ['an empty qualifier', { function: 'B', qualifier: '' }, ['qualifier']],
    ['variables', { function: 'B', variables: { env: 'prod', 'a.b-c_d': '' } }, []],
    ['variables that are not an object', { function: 'B', variables: ['a'] }, ['variables']],
    ['a variable that is not a string', { function: 'B', variables: { n: 1 } }, ['variables.n']],
    ['a variable name that is not valid', { function: 'B', variables: { '1x': 'a' } }, ['variables.1x']],
    ['a variable too long', { function: 'B', variables: { big: 'x'.repeat(1025) } }, ['variables.big']],
    [
      'a route override',
      { function: 'B', routes: { 'POST /users': { function: 'C', qualifier: 'live' } } },
      [],
    ],
    [
      'an override of a route the API does not have',
      { function: 'B', routes: { 'DELETE /users': { function: 'C' } } },
      ['routes.DELETE /users'],
    ],
    [
      'an override keyed by a path without the method',
      { function: 'B', routes: { '/users': { function: 'C' } } },
      ['routes./users'],
    ],
    [
      'an override without a function',
      { function: 'B', routes: { 'POST /users': {} } },
      ['routes.POST /users.function'],
    ],
    [
      // The qualifier is the core's to read, once the schema holds.
      'an override with a bad qualifier and an unknown field',
      { function: 'B', routes: { 'POST /users': { function: 'C', qualifier: '-', weight: 1 } } },
      ['routes.POST /users.weight'],
    ],
    ['overrides that are not an object', { function: 'B', routes: [] }, ['routes']],
    ['an unknown field', { function: 'B', alias: 'release' }, ['alias']],
    ['not an object', 'B', ['']],
    ['null', null, ['']],
  ];
  for (const [what, input, expected] of cases) {
    test(`${what} → ${expected.length === 0 ? 'accepted' : expected.join(', ')}`, () => {
      const found = problems(() => parseStageSpec(input, api));
      assert.deepEqual([...found].sort(), [...expected].sort());
    });
  }

  test('defaults: qualifier $DEFAULT, no variables, no overrides', () => {
    assert.deepEqual(parseStageSpec({ function: 'B' }, api), {
      function: 'B',
      qualifier: '$DEFAULT',
      variables: {},
      routes: {},
    });
  });

  test('LATEST is stored as $LATEST, on the stage and on a route', () => {
    const spec = parseStageSpec(
      {
        function: 'B',
        qualifier: 'LATEST',
        routes: { 'POST /users': { function: 'C', qualifier: 'LATEST' } },
      },
      api,
    );
    assert.equal(spec.qualifier, '$LATEST');
    assert.deepEqual(spec.routes, { 'POST /users': { function: 'C', qualifier: '$LATEST' } });
  });

  test('an override is used by its route only; stageBindings lists every binding', () => {
    const spec = parseStageSpec(
      {
        function: 'B',
        qualifier: 'release',
        variables: { env: 'prod' },
        routes: { 'POST /users': { function: 'C' } },
      },
      api,
    );
    assert.deepEqual(spec.routes, { 'POST /users': { function: 'C', qualifier: '$DEFAULT' } });
    assert.deepEqual(spec.variables, { env: 'prod' });
    const post: ApiRoute = { method: 'POST', path: '/users' };
    const get: ApiRoute = { method: 'GET', path: '/users/{id}' };
    assert.deepEqual(bindingFor(spec, post), { function: 'C', qualifier: '$DEFAULT' });
    assert.deepEqual(
      { function: bindingFor(spec, get).function, qualifier: bindingFor(spec, get).qualifier },
      { function: 'B', qualifier: 'release' },
    );
    assert.deepEqual(stageBindings(spec), [
      { function: 'B', qualifier: 'release' },
      { function: 'C', qualifier: '$DEFAULT' },
    ]);
  });

  test('every problem is reported at once, with a message naming the first', () => {
    const error = caught(() =>
      parseStageSpec({ qualifier: '-', variables: { n: 1 }, routes: { 'GET /nope': {} }, x: 1 }, api),
    );
    assert.equal(error.code, 'InvalidArgument');
    assert.match(error.message, /^stage is invalid: /);
    assert.match(error.message, /and \d+ more/);
    assert.deepEqual(
      (error.details as FieldIssue[]).map((i) => i.path).sort(),
      ['function', 'routes.GET /nope.function', 'variables.n', 'x'].sort(),
    );
  });

  test('an API without routes refuses every override', () => {
    const empty = parseApiDefinition({});
    assert.deepEqual(
      problems(() => parseStageSpec({ function: 'B', routes: { 'GET /x': { function: 'B' } } }, empty)),
      ['routes.GET /x'],
    );
    assert.deepEqual(parseStageSpec({ function: 'B', routes: {} }, empty).routes, {});
  });
});
