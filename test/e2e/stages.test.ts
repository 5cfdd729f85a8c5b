import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, type ApiCall, type ApiResult } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot as functionsSnapshot } from '../support/state.js';

// Issue 6 end to end, through a real `sluice server` and real instance processes: seed 004's "Use case based
// on API Gateway trigger". API A's stages release, prepub and dev are bound once, to function B's aliases
// release and prepub and to $DEFAULT; from then on every release is an alias move, and the API and its
// stages never change again. Then the event a stage hands its function, bad input, and stage auth.

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

/** Reports the version that ran and the build of its code, and echoes the event it was given. */
const HANDLER = (build: number) => `exports.handler = async (eventBuf, context) => {
  const event = JSON.parse(eventBuf.toString('utf8'));
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json', 'x-build': '${build}' },
    body: JSON.stringify({ versionId: context.service.versionId, build: ${build}, event }),
  };
};
`;

interface StageEvent {
  rawPath: string;
  headers: Record<string, string>;
  queryParameters: Record<string, string>;
  pathParameters?: Record<string, string>;
  stageVariables?: Record<string, string>;
  body: string;
  requestContext: {
    apiName?: string;
    stage?: string;
    route?: string;
    functionName: string;
    qualifier: string;
    http: { method: string; path: string };
  };
}

interface Hit {
  status: number;
  /** `x-fc-invocation-function-version`. */
  version: string | null;
  headers: Headers;
  text: string;
}

interface HitOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Send the admin token (default) or not. */
  token?: boolean;
}

async function request(path: string, options: HitOptions = {}): Promise<Hit> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== false) headers.authorization = `Bearer ${server.token}`;
  const res = await fetch(server.url + path, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(options.body !== undefined && { body: options.body }),
  });
  return {
    status: res.status,
    version: res.headers.get('x-fc-invocation-function-version'),
    headers: res.headers,
    text: await res.text(),
  };
}

/** A request through a stage: `/gw/{api}/{stage}{path}`. */
const gw = (apiName: string, stage: string, path = '/orders/1', options: HitOptions = {}) =>
  request(`/gw/${apiName}/${stage}${path}`, options);

/** The build of code each `function:version` runs: versions are snapshots, $LATEST is the last deployed. */
const builds = new Map<string, number>();

/** What a successful call ran: the header, the handler's own report and the code's build must all agree. */
function served(hit: Hit): { version: string; event: StageEvent } {
  assert.equal(hit.status, 200, hit.text.slice(0, 300));
  assert.ok(hit.version, 'x-fc-invocation-function-version is set');
  const body = JSON.parse(hit.text) as { versionId: string; build: number; event: StageEvent };
  assert.equal(body.versionId, hit.version, 'the handler ran the version the header names');
  const ran = `${body.event.requestContext.functionName}:${hit.version}`;
  const build = builds.get(ran);
  assert.ok(build !== undefined, `${ran} was never deployed`);
  assert.equal(body.build, build, `${ran} runs build ${build}`);
  assert.equal(hit.headers.get('x-build'), String(body.build), "the handler's headers reach the caller");
  return { version: hit.version, event: body.event };
}

/** The error a refused request answers with; the message is returned for further checks. */
function assertError(
  res: Hit | ApiResult,
  status: number,
  code: string,
): { message: string; details?: unknown } {
  const body: unknown = 'text' in res ? JSON.parse(res.text) : res.body;
  const error = (body as { error?: { code?: string; message?: string; details?: unknown } }).error;
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(error?.code, code, JSON.stringify(body));
  assert.ok(error.message && error.message.length > 10, 'the error says what is wrong');
  return { message: error.message, details: error.details };
}

const issuePaths = (details: unknown) => (details as { path: string }[]).map((d) => d.path).sort();

/** Runs `count` calls, at most `concurrency` at a time. */
async function bounded<T>(count: number, concurrency: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await run(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return results;
}

/** The versions `count` requests through a stage ran, counted. */
async function versionsServed(
  stage: string,
  count: number,
  headers: Record<string, string> = {},
): Promise<Record<string, number>> {
  const versions = await bounded(
    count,
    6,
    async (i) => served(await gw('A', stage, `/req/${i}`, { headers })).version,
  );
  const counts: Record<string, number> = {};
  for (const v of versions) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** Everything the control plane holds about one API, read back through the API: routes, stages, histories. */
async function apiState(name: string): Promise<unknown> {
  const got = await api('GET', `/v1/apis/${name}`);
  if (got.status !== 200) return { status: got.status, body: got.body };
  const stages = (await api('GET', `/v1/apis/${name}/stages`)).body as { stages: { name: string }[] };
  const each: Record<string, unknown> = {};
  for (const stage of stages.stages) {
    const one = await api('GET', `/v1/apis/${name}/stages/${stage.name}`);
    const history = await api('GET', `/v1/apis/${name}/stages/${stage.name}/history`);
    each[stage.name] = { stage: one.body, etag: one.headers.get('etag'), history: history.body };
  }
  return { api: got.body, stages, each };
}

/** Everything the server stores: every function, and every API with its stages. */
async function everything(): Promise<unknown> {
  const apis = ((await api('GET', '/v1/apis')).body as { apis: { name: string }[] }).apis;
  const out: Record<string, unknown> = {};
  for (const a of apis) out[a.name] = await apiState(a.name);
  return { functions: await functionsSnapshot(api), apis, each: out };
}

async function deploy(fn: string, build: number): Promise<void> {
  const res = await api('PUT', `/v1/functions/${fn}/code`, await zipOf({ 'index.js': HANDLER(build) }));
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function putAlias(fn: string, alias: string, spec: unknown, status = 200): Promise<void> {
  const res = await api('PUT', `/v1/functions/${fn}/aliases/${alias}`, spec);
  assert.equal(res.status, status, `${alias}: ${JSON.stringify(res.body)}`);
}

async function createFunction(name: string): Promise<void> {
  const res = await api('POST', '/v1/functions', {
    name,
    runtime: 'nodejs20',
    handler: 'index.handler',
    instanceConcurrency: 8,
    code: { zipFile: (await zipOf({ 'index.js': HANDLER(0) })).toString('base64') },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
});

after(async () => {
  await server.stop();
  await removeDir();
});

describe('seed 004: test, pre-release and release environments through API stages', () => {
  const STAGES = ['release', 'prepub', 'dev'] as const;
  /** API A and its stages as the initial setup left them; nothing may change them afterwards. */
  let frozen: unknown;

  /** Every stage serves what it should: `expected[stage]` for every one of `count` requests. */
  async function assertStages(expected: Record<(typeof STAGES)[number], string>, count = 8): Promise<void> {
    for (const stage of STAGES) {
      assert.deepEqual(await versionsServed(stage, count), { [expected[stage]]: count }, `stage ${stage}`);
    }
    assert.deepEqual(await apiState('A'), frozen, 'API A or one of its stages changed');
  }

  test('initial configuration: aliases release and prepub at $LATEST; API A; three stages created once', async () => {
    await createFunction('B');
    builds.set('B:LATEST', 0);
    for (const alias of ['release', 'prepub']) await putAlias('B', alias, { version: '$LATEST' }, 201);

    const created = await api('POST', '/v1/apis', {
      name: 'A',
      description: 'API service A',
      routes: [{ method: 'ANY', path: '/{proxy+}' }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.get('location'), '/v1/apis/A');
    const bindings = { release: 'release', prepub: 'prepub', dev: '$DEFAULT' };
    for (const stage of STAGES) {
      const res = await api('PUT', `/v1/apis/A/stages/${stage}`, {
        function: 'B',
        qualifier: bindings[stage],
        variables: { environment: stage },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.headers.get('etag'), '"1"');
      assert.deepEqual(res.body, {
        ...(res.body as object),
        api: 'A',
        name: stage,
        function: 'B',
        qualifier: bindings[stage],
        variables: { environment: stage },
        routes: {},
        revision: 1,
      });
    }
    const a = (await api('GET', '/v1/apis/A')).body as { stages: string[]; routes: unknown };
    assert.deepEqual(a.stages, ['dev', 'prepub', 'release']);
    assert.deepEqual(a.routes, [{ method: 'ANY', path: '/{proxy+}' }]);
    frozen = await apiState('A');

    // All three environments are separate, but all run $LATEST for now.
    await assertStages({ release: 'LATEST', prepub: 'LATEST', dev: 'LATEST' });
    for (const stage of STAGES) {
      const { event } = served(await gw('A', stage, '/orders/7?x=1', { headers: { user: 'Bob' } }));
      assert.equal(event.requestContext.apiName, 'A');
      assert.equal(event.requestContext.stage, stage);
      assert.equal(event.requestContext.route, 'ANY /{proxy+}');
      assert.equal(event.requestContext.qualifier, bindings[stage]);
      assert.deepEqual(event.pathParameters, { proxy: 'orders/7' });
      assert.deepEqual(event.stageVariables, { environment: stage });
      assert.equal(event.rawPath, '/orders/7');
    }
  });

  test('versions 1 to 4 are published; until an alias moves, every stage keeps running $LATEST', async () => {
    for (let n = 1; n <= 4; n++) {
      await deploy('B', n);
      builds.set('B:LATEST', n);
      const res = await api('POST', '/v1/functions/B/versions', { description: `version ${n}` });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal((res.body as { versionId: string }).versionId, String(n));
      builds.set(`B:${n}`, n);
      await assertStages({ release: 'LATEST', prepub: 'LATEST', dev: 'LATEST' }, 3);
    }
  });

  test('version 1 goes to release and version 2 to pre-release, by alias moves alone', async () => {
    await putAlias('B', 'release', { version: '1' });
    await assertStages({ release: '1', prepub: 'LATEST', dev: 'LATEST' });
    await putAlias('B', 'prepub', { version: '2' });
    await assertStages({ release: '1', prepub: '2', dev: 'LATEST' });
  });

  test('development goes on on $LATEST: dev ($DEFAULT → $LATEST) runs each new build at once', async () => {
    await deploy('B', 5);
    builds.set('B:LATEST', 5);
    await assertStages({ release: '1', prepub: '2', dev: 'LATEST' });
    const { event } = served(await gw('A', 'dev'));
    assert.equal(event.requestContext.qualifier, '$DEFAULT');
  });

  test('version 3 enters pre-release: prepub → 3', async () => {
    await putAlias('B', 'prepub', { version: '3' });
    await assertStages({ release: '1', prepub: '3', dev: 'LATEST' });
    assert.deepEqual(await versionsServed('prepub', 6, { User: 'Bob' }), { 3: 6 });
  });

  test('version 4 in pre-release for Bob only: header:User = Bob → 4, everyone else → 3', async () => {
    await putAlias('B', 'prepub', {
      version: '3',
      canary: { version: '4', rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }] },
    });
    assert.deepEqual(await versionsServed('prepub', 10, { User: 'Bob' }), { 4: 10 });
    assert.deepEqual(
      await versionsServed('prepub', 10, { user: 'Bob' }),
      { 4: 10 },
      'header names ignore case',
    );
    assert.deepEqual(await versionsServed('prepub', 10, { User: 'Alice' }), { 3: 10 });
    assert.deepEqual(await versionsServed('prepub', 10, { User: 'bob' }), { 3: 10 }, 'values are exact');
    assert.deepEqual(await versionsServed('prepub', 10), { 3: 10 });
    // The rule is the alias's, not the stage's: release and dev ignore Bob.
    assert.deepEqual(await versionsServed('release', 5, { User: 'Bob' }), { 1: 5 });
    assert.deepEqual(await versionsServed('dev', 5, { User: 'Bob' }), { LATEST: 5 });
    await assertStages({ release: '1', prepub: '3', dev: 'LATEST' });
  });

  for (const [weight, N] of [
    [0.1, 400],
    [0.5, 300],
  ] as const) {
    test(`grayscale release: release alias sends ${weight * 100} % to version 2 (${N} requests)`, async (t) => {
      await putAlias('B', 'release', { version: '1', canary: { version: '2', weight } });
      const started = performance.now();
      const counts = await versionsServed('release', N);
      const seconds = (performance.now() - started) / 1000;
      const canary = counts['2'] ?? 0;
      assert.equal(canary + (counts['1'] ?? 0), N, `only versions 1 and 2 served: ${JSON.stringify(counts)}`);
      const sigma = Math.sqrt((weight * (1 - weight)) / N);
      const share = canary / N;
      t.diagnostic(
        `version 2 served ${canary}/${N} = ${(share * 100).toFixed(1)} % ` +
          `(${weight * 100} % ± ${(4 * sigma * 100).toFixed(1)}); ${Math.round(N / seconds)} requests/s at 6 concurrent`,
      );
      assert.ok(Math.abs(share - weight) <= 4 * sigma, `share ${share} is within 4σ of ${weight}`);
      assert.deepEqual(await versionsServed('prepub', 5), { 3: 5 });
      assert.deepEqual(await versionsServed('prepub', 5, { User: 'Bob' }), { 4: 5 });
      assert.deepEqual(await versionsServed('dev', 5), { LATEST: 5 });
      assert.deepEqual(await apiState('A'), frozen, 'API A or one of its stages changed');
    });
  }

  test('release complete: weight 1.0 sends every request to version 2', async () => {
    await putAlias('B', 'release', { version: '1', canary: { version: '2', weight: 1 } });
    assert.deepEqual(await versionsServed('release', 40), { 2: 40 });
    await assertStages({ release: '2', prepub: '3', dev: 'LATEST' });
  });

  test('failure: rolling the release alias back to its primary sends everything to version 1 again', async () => {
    const res = await api('POST', '/v1/functions/B/aliases/release/rollback', { to: 'primary' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(await versionsServed('release', 40), { 1: 40 });
    await assertStages({ release: '1', prepub: '3', dev: 'LATEST' });
    assert.deepEqual(await versionsServed('prepub', 5, { User: 'Bob' }), { 4: 5 });
  });

  test('after the initial setup only the aliases moved: API A and its stages are exactly as created', async () => {
    assert.deepEqual(await apiState('A'), frozen);
    const stages = (await api('GET', '/v1/apis/A/stages')).body as {
      stages: { name: string; revision: number; createdAt: string; updatedAt: string }[];
    };
    for (const stage of stages.stages) {
      assert.equal(stage.revision, 1, `stage ${stage.name} was never written again`);
      assert.equal(stage.updatedAt, stage.createdAt);
      const history = (await api('GET', `/v1/apis/A/stages/${stage.name}/history`)).body as {
        history: { action: string }[];
      };
      assert.deepEqual(
        history.history.map((h) => h.action),
        ['create'],
      );
    }
    const a = (await api('GET', '/v1/apis/A')).body as { createdAt: string; updatedAt: string };
    assert.equal(a.updatedAt, a.createdAt);
    const aliasHistory = async (alias: string) =>
      (
        (await api('GET', `/v1/functions/B/aliases/${alias}/history`)).body as {
          history: { action: string }[];
        }
      ).history.map((h) => h.action);
    assert.deepEqual(await aliasHistory('release'), [
      'create',
      'update',
      'update',
      'update',
      'update',
      'rollback',
    ]);
    assert.deepEqual(await aliasHistory('prepub'), ['create', 'update', 'update', 'update']);
    assert.deepEqual(await aliasHistory('$DEFAULT'), ['create']);
  });
});

describe('the event a stage hands its function', () => {
  before(async () => {
    await createFunction('echo');
    assert.equal((await api('POST', '/v1/functions/echo/versions')).status, 201);
    builds.set('echo:LATEST', 0);
    builds.set('echo:1', 0);
    await putAlias('echo', 'live', { version: '1' }, 201);
    const created = await api('POST', '/v1/apis', {
      name: 'shop',
      routes: [
        { method: 'GET', path: '/users/{id}' },
        { method: 'GET', path: '/users/me' },
        { method: 'POST', path: '/users' },
        { method: 'GET', path: '/users/{id}/orders/{orderId}' },
        { method: 'ANY', path: '/files/{path+}' },
        { method: 'GET', path: '/' },
      ],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const stage = await api('PUT', '/v1/apis/shop/stages/v1', {
      function: 'echo',
      qualifier: 'live',
      variables: { env: 'test', greeting: 'hello there' },
      routes: { 'POST /users': { function: 'echo', qualifier: '$LATEST' } },
    });
    assert.equal(stage.status, 201, JSON.stringify(stage.body));
  });

  test('GET /users/{id}: apiName, stage, route, pathParameters and stageVariables; the version header', async () => {
    const hit = await gw('shop', 'v1', '/users/42?expand=orders', { headers: { 'x-custom': 'yes' } });
    const { version, event } = served(hit);
    assert.equal(version, '1');
    assert.equal(hit.headers.get('x-fc-invocation-function-version'), '1');
    assert.equal(event.requestContext.apiName, 'shop');
    assert.equal(event.requestContext.stage, 'v1');
    assert.equal(event.requestContext.route, 'GET /users/{id}');
    assert.equal(event.requestContext.functionName, 'echo');
    assert.equal(event.requestContext.qualifier, 'live');
    assert.equal(event.requestContext.http.method, 'GET');
    assert.deepEqual(event.pathParameters, { id: '42' });
    assert.deepEqual(event.stageVariables, { env: 'test', greeting: 'hello there' });
    assert.equal(event.rawPath, '/users/42');
    assert.deepEqual(event.queryParameters, { expand: 'orders' });
    assert.equal(event.headers['x-custom'], 'yes');
    assert.equal(event.headers.authorization, undefined, "the caller's token never reaches the function");
  });

  test('literal beats parameter; several parameters; percent-decoding; greedy paths; the root', async () => {
    const cases: [string, string, string, Record<string, string>][] = [
      ['GET', '/users/me', 'GET /users/me', {}],
      ['GET', '/users/a%20b', 'GET /users/{id}', { id: 'a b' }],
      ['GET', '/users/caf%C3%A9', 'GET /users/{id}', { id: 'café' }],
      ['GET', '/users/7/orders/99', 'GET /users/{id}/orders/{orderId}', { id: '7', orderId: '99' }],
      ['PUT', '/files/a/b/c.txt', 'ANY /files/{path+}', { path: 'a/b/c.txt' }],
      ['GET', '/', 'GET /', {}],
      ['GET', '', 'GET /', {}],
    ];
    for (const [method, path, route, params] of cases) {
      const { event } = served(await gw('shop', 'v1', path, { method }));
      assert.equal(event.requestContext.route, route, `${method} ${path}`);
      assert.deepEqual(event.pathParameters, params, `${method} ${path}`);
      assert.equal(event.requestContext.http.method, method);
    }
  });

  test("a route bound on its own goes to its own qualifier, with the stage's variables", async () => {
    const hit = await gw('shop', 'v1', '/users', {
      method: 'POST',
      body: '{"name":"ann"}',
      headers: { 'content-type': 'application/json' },
    });
    const { version, event } = served(hit);
    assert.equal(version, 'LATEST');
    assert.equal(event.requestContext.route, 'POST /users');
    assert.equal(event.requestContext.qualifier, 'LATEST');
    assert.deepEqual(event.pathParameters, {});
    assert.deepEqual(event.stageVariables, { env: 'test', greeting: 'hello there' });
    assert.equal(event.body, '{"name":"ann"}');
  });
});

describe('bad input: a clear error, and nothing changed', () => {
  let initial: unknown;
  before(async () => {
    initial = await everything();
  });
  after(async () => {
    assert.deepEqual(await everything(), initial, 'a refused request changed stored state');
  });

  test('an unknown API or stage is a 404 naming it', async () => {
    const api404 = assertError(await gw('nope', 'release'), 404, 'ApiNotFound');
    assert.match(api404.message, /nope/);
    const stage404 = assertError(await gw('A', 'staging'), 404, 'StageNotFound');
    assert.match(stage404.message, /staging/);
    assert.match(stage404.message, /\bA\b/);
    const hit = await gw('A', 'staging');
    assert.equal(hit.version, null, 'nothing ran');
    assert.equal(hit.headers.get('x-fc-error-type'), 'StageNotFound');
    assertError(await api('GET', '/v1/apis/nope'), 404, 'ApiNotFound');
    assertError(await api('GET', '/v1/apis/A/stages/staging'), 404, 'StageNotFound');
    assertError(await api('GET', '/v1/apis/A/stages/staging/history'), 404, 'StageNotFound');
    assertError(await api('PUT', '/v1/apis/nope/stages/x', { function: 'B' }), 404, 'ApiNotFound');
    assertError(await api('DELETE', '/v1/apis/A/stages/staging'), 404, 'StageNotFound');
    assertError(await api('DELETE', '/v1/apis/nope'), 404, 'ApiNotFound');
  });

  test('a path no route matches is a 404 RouteNotFound', async () => {
    for (const path of ['/nothing/here', '/user', '/users/1/2', '/users/', '/files', '/files/']) {
      const hit = await gw('shop', 'v1', path);
      assert.match(assertError(hit, 404, 'RouteNotFound').message, /shop/);
      assert.equal(hit.version, null);
    }
    // /{proxy+} takes any path but not the root.
    assertError(await gw('A', 'release', '/'), 404, 'RouteNotFound');
  });

  test('a method the route does not take is a 405 MethodNotAllowed with Allow', async () => {
    const cases: [string, string, string][] = [
      ['DELETE', '/users/42', 'GET'],
      ['POST', '/users/me', 'GET'],
      ['PATCH', '/users', 'POST'],
      ['POST', '/', 'GET'],
    ];
    for (const [method, path, allow] of cases) {
      const hit = await gw('shop', 'v1', path, { method });
      const error = assertError(hit, 405, 'MethodNotAllowed');
      assert.equal(hit.headers.get('allow'), allow, `${method} ${path}`);
      assert.deepEqual(error.details, { allowed: allow.split(', ') });
      assert.match(error.message, new RegExp(method));
      assert.equal(hit.version, null);
    }
  });

  test('binding a stage to a missing alias, version or function is a 409 StageBindingInvalid', async () => {
    const cases: [unknown, { function: string; qualifier: string }][] = [
      [
        { function: 'B', qualifier: 'ghost' },
        { function: 'B', qualifier: 'ghost' },
      ],
      [
        { function: 'B', qualifier: '9' },
        { function: 'B', qualifier: '9' },
      ],
      [
        { function: 'nobody', qualifier: 'release' },
        { function: 'nobody', qualifier: 'release' },
      ],
      [{ function: 'nobody' }, { function: 'nobody', qualifier: '$DEFAULT' }],
      [
        {
          function: 'echo',
          qualifier: 'live',
          routes: { 'POST /users': { function: 'echo', qualifier: 'beta' } },
        },
        { function: 'echo', qualifier: 'beta' },
      ],
    ];
    for (const [body, details] of cases) {
      for (const [apiName, stage] of [
        ['A', 'release'],
        ['A', 'canary'],
        ['shop', 'v1'],
      ] as const) {
        if (apiName === 'A' && JSON.stringify(body).includes('POST /users')) continue;
        const res = await api('PUT', `/v1/apis/${apiName}/stages/${stage}`, body);
        const error = assertError(res, 409, 'StageBindingInvalid');
        assert.deepEqual(error.details, details);
        assert.match(
          error.message,
          new RegExp(`${details.function}.*${details.qualifier.replace('$', '\\$')}`),
        );
      }
    }
    assertError(await api('GET', '/v1/apis/A/stages/canary'), 404, 'StageNotFound');
  });

  test('If-None-Match: * on a stage that exists is a 409 StageAlreadyExists; any other If-None-Match a 400', async () => {
    for (const stage of ['release', 'prepub', 'dev']) {
      const res = await api(
        'PUT',
        `/v1/apis/A/stages/${stage}`,
        { function: 'B', qualifier: '$LATEST' },
        {
          'if-none-match': '*',
        },
      );
      const error = assertError(res, 409, 'StageAlreadyExists');
      assert.match(error.message, new RegExp(`stage ${stage} of API A exists already`));
      assert.deepEqual(error.details, { currentRevision: 1 });
    }
    for (const value of ['"1"', 'W/"1"', '']) {
      const res = await api('PUT', '/v1/apis/A/stages/canary', { function: 'B' }, { 'if-none-match': value });
      const error = assertError(res, 400, 'InvalidArgument');
      assert.deepEqual(error.details, [{ path: 'If-None-Match', message: 'must be *' }]);
    }
    assertError(await api('GET', '/v1/apis/A/stages/canary'), 404, 'StageNotFound');
  });

  test('deleting an alias, version or function a stage is bound to is a 409 naming the stage', async () => {
    const alias = assertError(await api('DELETE', '/v1/functions/B/aliases/release'), 409, 'AliasInUse');
    assert.deepEqual(alias.details, { stages: ['A/release'] });
    assert.match(alias.message, /A\/release/);
    const prepub = assertError(await api('DELETE', '/v1/functions/B/aliases/prepub'), 409, 'AliasInUse');
    assert.deepEqual(prepub.details, { stages: ['A/prepub'] });
    const live = assertError(await api('DELETE', '/v1/functions/echo/aliases/live'), 409, 'AliasInUse');
    assert.deepEqual(live.details, { stages: ['shop/v1'] });
    const fn = assertError(await api('DELETE', '/v1/functions/B'), 409, 'FunctionInUse');
    assert.deepEqual(fn.details, { stages: ['A/dev', 'A/prepub', 'A/release'] });
    assert.match(fn.message, /A\/dev/);
    assertError(await api('DELETE', '/v1/functions/echo'), 409, 'FunctionInUse');
    // Still served as before.
    assert.equal(served(await gw('A', 'release')).version, '1');
  });

  test('malformed API and stage bodies are a 400 listing the fields at fault', async () => {
    const cases: [string, string, unknown, string[]][] = [
      [
        'POST',
        '/v1/apis',
        {
          name: 'shop2',
          routes: [
            { method: 'FETCH', path: '/users' },
            { method: 'GET', path: 7 },
          ],
        },
        ['routes[0].method', 'routes[1].path'],
      ],
      // A route's path pattern is read once the body has the schema's shape.
      [
        'POST',
        '/v1/apis',
        {
          name: 'shop2',
          routes: [
            { method: 'GET', path: 'users' },
            { method: 'GET', path: '/a/{p+}/b' },
            { method: 'GET', path: '/{id}/{id}' },
          ],
        },
        ['routes[0].path', 'routes[1].path', 'routes[2].path'],
      ],
      [
        'POST',
        '/v1/apis',
        { name: 'shop2', routes: [{ method: 'GET', path: '/x', fn: 'B' }] },
        ['routes[0].fn'],
      ],
      ['POST', '/v1/apis', { name: 'shop2', stages: {} }, ['stages']],
      ['POST', '/v1/apis', { routes: [] }, ['name']],
      ['POST', '/v1/apis', { name: '1 bad', routes: [] }, ['name']],
      ['POST', '/v1/apis', { name: 'shop2', routes: 'GET /x' }, ['routes']],
      [
        'POST',
        '/v1/apis',
        {
          name: 'shop2',
          routes: [
            { method: 'GET', path: '/x' },
            { method: 'GET', path: '/x' },
          ],
        },
        ['routes'],
      ],
      [
        'PUT',
        '/v1/apis/shop',
        {
          routes: [
            { method: 'GET', path: '/users/{id}' },
            { method: 'GET', path: '/users/{x}' },
          ],
        },
        ['routes'],
      ],
      [
        'PUT',
        '/v1/apis/shop/stages/v1',
        {
          function: 7,
          qualifier: '',
          variables: { n: 1, '1x': 'a' },
          routes: { 'GET /nope': { function: 'echo' }, 'POST /users': { qualifier: 'live' } },
          weight: 0.5,
        },
        ['function', 'qualifier', 'routes.POST /users.function', 'variables.1x', 'variables.n', 'weight'],
      ],
      // Which routes a stage may bind is the API's to say, once the body has the schema's shape.
      [
        'PUT',
        '/v1/apis/shop/stages/v1',
        { function: 'echo', qualifier: '-', routes: { 'GET /nope': { function: 'echo' } } },
        ['qualifier', 'routes.GET /nope'],
      ],
      ['PUT', '/v1/apis/A/stages/dev', { qualifier: 'release' }, ['function']],
      ['PUT', '/v1/apis/A/stages/dev', ['B'], ['']],
      ['PUT', '/v1/apis/A/stages/1bad', { function: 'B' }, ['name']],
    ];
    for (const [method, path, body, paths] of cases) {
      const res = await api(method, path, body);
      const error = assertError(res, 400, 'InvalidArgument');
      assert.deepEqual(
        issuePaths(error.details),
        [...paths].sort(),
        `${method} ${path} ${JSON.stringify(body)}`,
      );
    }
    const notJson = await api('PUT', '/v1/apis/A/stages/dev', '{"function":');
    assert.equal(notJson.status, 400, JSON.stringify(notJson.body));
    assertError(await api('POST', '/v1/apis', { name: 'A', routes: [] }), 409, 'ApiAlreadyExists');
  });

  test('dropping a route a stage binds on its own is a 409 RouteInUse; a stale If-Match a 409 StageConflict', async () => {
    const inUse = assertError(
      await api('PUT', '/v1/apis/shop', { routes: [{ method: 'GET', path: '/users/{id}' }] }),
      409,
      'RouteInUse',
    );
    assert.deepEqual(inUse.details, { stage: 'v1', route: 'POST /users' });
    const stale = assertError(
      await api(
        'PUT',
        '/v1/apis/A/stages/release',
        { function: 'B', qualifier: '$LATEST' },
        { 'if-match': '"7"' },
      ),
      409,
      'StageConflict',
    );
    assert.deepEqual(stale.details, { currentRevision: 1 });
    assertError(
      await api('DELETE', '/v1/apis/A/stages/release', undefined, { 'if-match': '"2"' }),
      409,
      'StageConflict',
    );
  });
});

describe("a stage's auth follows its bound function's HTTP trigger setting", () => {
  test('token by default; anonymous once the function opens its trigger; the other stages stay closed', async () => {
    const closed = await gw('A', 'release', '/x', { token: false });
    assertError(closed, 401, 'Unauthorized');
    assert.equal(closed.version, null, 'nothing ran');
    assertError(
      await gw('A', 'release', '/x', { token: false, headers: { authorization: 'Bearer nope' } }),
      401,
      'Unauthorized',
    );
    assert.equal(served(await gw('A', 'release', '/x')).version, '1');

    const opened = await api('PUT', '/v1/functions/B/trigger', { authType: 'anonymous' });
    assert.equal(opened.status, 200, JSON.stringify(opened.body));
    for (const [stage, version] of [
      ['release', '1'],
      ['prepub', '3'],
      ['dev', 'LATEST'],
    ] as const) {
      const { version: ran, event } = served(await gw('A', stage, '/x', { token: false }));
      assert.equal(ran, version, stage);
      assert.equal(event.requestContext.stage, stage);
    }
    // Bob's rule still applies to anonymous callers.
    assert.equal(
      served(await gw('A', 'prepub', '/x', { token: false, headers: { User: 'Bob' } })).version,
      '4',
    );
    // shop's stage is bound to echo, whose trigger is still token-only.
    assertError(await gw('shop', 'v1', '/users/1', { token: false }), 401, 'Unauthorized');
    // Only token holders learn which APIs, stages and routes exist, even where a stage is open.
    assertError(await gw('nope', 'release', '/x', { token: false }), 401, 'Unauthorized');
    assertError(await gw('A', 'staging', '/x', { token: false }), 401, 'Unauthorized');
    assertError(await gw('A', 'release', '/', { token: false }), 401, 'Unauthorized');
    // A pin needs a token even where the trigger is open.
    assertError(
      await gw('A', 'release', '/x', { token: false, headers: { 'x-sluice-version': '2' } }),
      403,
      'Forbidden',
    );

    const shut = await api('PUT', '/v1/functions/B/trigger', { authType: 'token' });
    assert.equal(shut.status, 200, JSON.stringify(shut.body));
    assertError(await gw('A', 'release', '/x', { token: false }), 401, 'Unauthorized');
    assert.equal(served(await gw('A', 'release', '/x')).version, '1');
  });
});
