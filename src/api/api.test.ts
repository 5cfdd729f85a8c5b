import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { zipOf } from '../../test/support/code.js';
import { randomBytes } from 'node:crypto';
import { CredentialVerifier } from '../auth/credentials.js';
import { Sealer } from '../auth/seal.js';
import { hashToken } from '../auth/tokens.js';
import { ZipWorkers } from '../code/zip-workers.js';
import { DEFAULT_CODE_LIMITS } from '../core/code-package.js';
import { Router } from '../http/router.js';
import { sendError } from '../http/respond.js';
import { StoreLogFeed } from '../logs/store-log-feed.js';
import { RolloutEngine } from '../rollouts/engine.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { createApi } from './api.js';
import type { Changed } from './context.js';

// The control plane's handlers through createApi, over the real SQLite store and real zip workers, behind a
// plain HTTP server: what each answers, and what it tells the data plane changed, and when.

const TOKEN = 'sluice_api-test-token';
let store: SqliteStore;
let workers: ZipWorkers;
let server: Server;
let base: string;
let api: ReturnType<typeof createApi>;
/** What the API announced, with whether its caller already had an answer then (it must not). */
const changes: { what: Changed; answered: boolean }[] = [];
let answered = 0;

before(async () => {
  store = SqliteStore.open(':memory:');
  await store.createFirstToken({ id: 't', name: 'alice', sha256: hashToken(TOKEN), createdAt: '2024-01-01' });
  workers = new ZipWorkers(1);
  const clock = () => new Date();
  const sealer = new Sealer([randomBytes(32)]);
  let responses = 0;
  api = createApi({
    store,
    logFeed: new StoreLogFeed(store),
    rollouts: new RolloutEngine({
      store,
      clock,
      changed: () => Promise.resolve(),
      invokeVersion: () => Promise.resolve(),
    }),
    credentials: new CredentialVerifier(store, sealer),
    sealer,
    changed: (what) => {
      changes.push({ what, answered: answered === responses });
      return Promise.resolve();
    },
    codeLimits: DEFAULT_CODE_LIMITS,
    zipWorkers: workers,
    runtimeProblem: () => undefined,
    clock,
    server: {
      node: 'n1',
      isolation: { sandbox: 'none', users: 'server', limits: 'polling', problems: [] },
      dataPlane: null,
    },
  });
  // The server's own router holds every edge's routes; here, the API's alone.
  const router = new Router(
    api.routes.map((route) => ({ method: route.method, path: route.path, handler: route })),
  );
  server = createServer((req, res) => {
    responses++;
    res.on('finish', () => answered++);
    const url = new URL(req.url ?? '/', 'http://localhost');
    Promise.resolve()
      .then(() => {
        const { route, params } = router.match(req.method ?? 'GET', url.pathname);
        return api.serve(route.handler, req, res, url, params);
      })
      .catch((error: unknown) => {
        sendError(res, error, 'test', () => undefined);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.close();
  await workers.close();
  store.close();
});

interface Res {
  status: number;
  headers: Headers;
  body: unknown;
  bytes: Buffer;
}

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  token: string | null = TOKEN,
): Promise<Res> {
  const init: RequestInit = {
    method,
    headers: {
      ...(token !== null && { authorization: `Bearer ${token}` }),
      ...(body !== undefined && !Buffer.isBuffer(body) && { 'content-type': 'application/json' }),
      ...(Buffer.isBuffer(body) && { 'content-type': 'application/zip' }),
      ...headers,
    },
    ...(body !== undefined && { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
  };
  const res = await fetch(`${base}${path}`, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const json = res.headers.get('content-type')?.startsWith('application/json');
  const answer = {
    status: res.status,
    headers: res.headers,
    body: json ? (JSON.parse(bytes.toString()) as unknown) : undefined,
    bytes,
  };
  const error = (answer.body as { error?: { code: string } } | undefined)?.error;
  const unrouted = ['RouteNotFound', 'MethodNotAllowed'].includes(error?.code ?? '');
  if (!unrouted) conforms(api.openApi as Document, method, path, answer);
  return answer;
}

type Operation = {
  requestBody?: { content: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
};
type Document = { paths: Record<string, Record<string, Operation>>; components: unknown };

/** The operation of the OpenAPI document that `method path` is, found by its path template. */
function operationOf(doc: Document, method: string, path: string): Operation {
  for (const [template, operations] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
    const operation = operations[method.toLowerCase()];
    if (pattern.test(path) && operation) return operation;
  }
  return assert.fail(`${method} ${path} is not in the document`);
}

const schemaChecks = new Map<unknown, ValidateFunction>();
const ajv = new Ajv2020({ allErrors: true, strict: false });

/**
 * Holds an answer to what the document promises for it: a documented status, and a JSON body that its schema
 * (the operation's, or the error's) accepts. Every call in this file goes through it.
 */
function conforms(doc: Document, method: string, path: string, res: Res): void {
  const operation = operationOf(doc, method, path.split('?')[0] as string);
  const what = `${method} ${path} → ${res.status}`;
  const documented =
    operation.responses[String(res.status)] ?? (res.status >= 400 && operation.responses.default);
  assert.ok(documented, `${what}: a status the document does not list`);
  const type = res.headers.get('content-type')?.split(';')[0];
  if (type !== 'application/json') return;
  const schema = documented.content?.['application/json']?.schema;
  assert.ok(schema, `${what}: JSON the document does not promise`);
  let check = schemaChecks.get(schema);
  if (!check) {
    check = ajv.compile({ ...schema, components: doc.components });
    schemaChecks.set(schema, check);
  }
  assert.ok(check(res.body), `${what}: ${ajv.errorsText(check.errors)} in ${JSON.stringify(res.body)}`);
}

const code = (res: Res) => (res.body as { error?: { code: string } }).error?.code;

async function fn(name: string, source = 'exports.handler = async () => "v";'): Promise<void> {
  const zip = (await zipOf({ 'index.js': source })).toString('base64');
  const res = await call('POST', '/v1/functions', {
    name,
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: zip },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** Every endpoint of the README's API reference, written out by hand: what the document and router must hold. */
const ENDPOINTS = [
  'GET /v1/server',
  'GET /v1/openapi.json',
  'POST /v1/functions',
  'GET /v1/functions',
  'GET /v1/functions/{name}',
  'PATCH /v1/functions/{name}',
  'DELETE /v1/functions/{name}',
  'GET /v1/functions/{name}/provisioned',
  'PUT /v1/functions/{name}/provisioned/{qualifier}',
  'GET /v1/functions/{name}/provisioned/{qualifier}',
  'DELETE /v1/functions/{name}/provisioned/{qualifier}',
  'GET /v1/functions/{name}/async-config',
  'PUT /v1/functions/{name}/async-config',
  'GET /v1/functions/{name}/async-invocations',
  'GET /v1/functions/{name}/async-invocations/{id}',
  'GET /v1/functions/{name}/triggers',
  'POST /v1/functions/{name}/triggers',
  'GET /v1/functions/{name}/triggers/{trigger}',
  'PUT /v1/functions/{name}/triggers/{trigger}',
  'DELETE /v1/functions/{name}/triggers/{trigger}',
  'PUT /v1/functions/{name}/code',
  'GET /v1/functions/{name}/code',
  'PUT /v1/functions/{name}/trigger',
  'POST /v1/functions/{name}/versions',
  'GET /v1/functions/{name}/versions',
  'GET /v1/functions/{name}/versions/{version}',
  'DELETE /v1/functions/{name}/versions/{version}',
  'GET /v1/functions/{name}/aliases',
  'PUT /v1/functions/{name}/aliases/{alias}',
  'GET /v1/functions/{name}/aliases/{alias}',
  'DELETE /v1/functions/{name}/aliases/{alias}',
  'GET /v1/functions/{name}/aliases/{alias}/history',
  'POST /v1/functions/{name}/aliases/{alias}/rollback',
  'POST /v1/functions/{name}/aliases/{alias}/explain',
  'POST /v1/functions/{name}/aliases/{alias}/rollouts',
  'GET /v1/functions/{name}/aliases/{alias}/rollouts',
  'GET /v1/functions/{name}/metrics',
  'GET /v1/functions/{name}/logs',
  'POST /v1/apis',
  'GET /v1/apis',
  'GET /v1/apis/{api}',
  'PUT /v1/apis/{api}',
  'DELETE /v1/apis/{api}',
  'GET /v1/apis/{api}/stages',
  'PUT /v1/apis/{api}/stages/{stage}',
  'GET /v1/apis/{api}/stages/{stage}',
  'DELETE /v1/apis/{api}/stages/{stage}',
  'GET /v1/apis/{api}/stages/{stage}/history',
  'GET /v1/rollouts/{id}',
  'POST /v1/rollouts/{id}/pause',
  'POST /v1/rollouts/{id}/resume',
  'POST /v1/rollouts/{id}/abort',
  'POST /v1/rollouts/{id}/promote',
  'POST /v1/tokens',
  'GET /v1/tokens',
  'DELETE /v1/tokens/{id}',
  'POST /v1/access-keys',
  'GET /v1/access-keys',
  'DELETE /v1/access-keys/{id}',
];

describe('the OpenAPI document', () => {
  test('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(structuredClone(api.openApi));
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
  });

  test('gives every operation a schema for each JSON answer, and every write one for its body', () => {
    const doc = api.openApi as Document;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const what = `${method.toUpperCase()} ${path}`;
        const success = Object.entries(operation.responses).filter(([status]) => status.startsWith('2'));
        assert.ok(success.length > 0, `${what} documents no success`);
        for (const [status, response] of success) {
          const schema = response.content?.['application/json']?.schema as
            { type?: string; properties?: object } | undefined;
          if (schema) assert.ok(schema.properties, `${what} → ${status}: a schema without fields`);
          else
            assert.ok(status === '204' || response.content, `${what} → ${status}: an answer without a type`);
        }
        const writes = ['post', 'put', 'patch'].includes(method) && !/rollouts\/\{id\}\//.test(path);
        const body = operation.requestBody?.content['application/json']?.schema as
          { properties?: object } | undefined;
        if (writes) assert.ok(body?.properties, `${what} documents no request body`);
      }
    }
  });

  test('names the preconditions of the guarded writes: If-Match, and If-None-Match where a write can create', () => {
    const doc = api.openApi as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string }[] }>>;
    };
    const headers = (method: string, path: string) =>
      (doc.paths[path]?.[method]?.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
    for (const path of ['/v1/functions/{name}/aliases/{alias}', '/v1/apis/{api}/stages/{stage}']) {
      assert.deepEqual(headers('put', path), ['If-Match', 'If-None-Match'], path);
      assert.deepEqual(headers('delete', path), ['If-Match'], path);
    }
    assert.deepEqual(headers('post', '/v1/functions/{name}/aliases/{alias}/rollback'), ['If-Match']);
  });

  test('holds the server to the body it documents: an unknown field in any of them is refused by name', async () => {
    await fn('strict');
    const doc = api.openApi as Document;
    for (const [path, operations] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        if (!operation.requestBody) continue;
        const concrete = path
          .replace('{name}', 'strict')
          .replace(/\{(\w+)\}/g, (_, p: string) => (p === 'version' ? '1' : `x${p}`));
        const res = await call(method.toUpperCase(), concrete, { surplus: 1 });
        assert.equal(code(res), 'InvalidArgument', `${method} ${path}: ${JSON.stringify(res.body)}`);
        const details = (res.body as { error: { details: { path: string }[] } }).error.details;
        assert.ok(
          details.some((d) => d.path === 'surplus'),
          `${method} ${path}: ${JSON.stringify(details)}`,
        );
      }
    }
  });
});

describe('the OpenAPI document and the router', () => {
  test('the document lists exactly the endpoints of the reference', () => {
    const doc = api.openApi as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    assert.deepEqual(documented.sort(), [...ENDPOINTS].sort());
  });

  test('the router answers every one of them, and no other method on their paths', async () => {
    const concrete = (path: string) =>
      path.replace(/\{(\w+)\}/g, (_, p: string) => (p === 'version' ? '1' : `x${p}`));
    for (const endpoint of ENDPOINTS) {
      const [method, path] = endpoint.split(' ') as [string, string];
      const res = await call(method, concrete(path));
      assert.ok(
        !['RouteNotFound', 'MethodNotAllowed'].includes(code(res) ?? ''),
        `${endpoint}: ${code(res)}`,
      );
      const others = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter(
        (m) => !ENDPOINTS.includes(`${m} ${path}`),
      );
      for (const other of others) {
        const refused = await call(other, concrete(path));
        assert.equal(code(refused), 'MethodNotAllowed', `${other} ${path}`);
      }
    }
    assert.equal(code(await call('GET', '/v1/nothing/here')), 'RouteNotFound');
  });
});

describe('the API handlers', () => {
  test('every endpoint but the document wants a token', async () => {
    for (const endpoint of ENDPOINTS) {
      const [method, path] = endpoint.split(' ') as [string, string];
      const res = await call(method, path.replace(/\{(\w+)\}/g, 'x'), undefined, {}, null);
      if (endpoint === 'GET /v1/openapi.json') assert.equal(res.status, 200);
      else assert.equal(code(res), 'Unauthorized', endpoint);
    }
    assert.equal(code(await call('GET', '/v1/functions', undefined, {}, 'sluice_wrong')), 'Unauthorized');
  });

  test('functions: create, read, list by prefix a page at a time, change only the fields given, delete', async () => {
    changes.length = 0;
    for (const name of ['shop-a', 'shop-b', 'shop-c', 'other']) await fn(name);
    const got = await call('GET', '/v1/functions/shop-a');
    assert.equal(got.status, 200);
    assert.deepEqual((got.body as { timeout: number; memorySize: number }).timeout, 3, 'defaults filled in');
    const page = await call('GET', '/v1/functions?prefix=shop-&limit=2');
    const first = page.body as { functions: { name: string }[]; nextToken: string | null };
    assert.deepEqual(
      first.functions.map((f) => f.name),
      ['shop-a', 'shop-b'],
    );
    assert.ok(first.nextToken);
    const rest = (await call('GET', `/v1/functions?prefix=shop-&limit=2&nextToken=${first.nextToken}`))
      .body as { functions: { name: string }[]; nextToken: string | null };
    assert.deepEqual(
      rest.functions.map((f) => f.name),
      ['shop-c'],
    );
    assert.equal(rest.nextToken, null);

    const patched = await call('PATCH', '/v1/functions/shop-a', { timeout: 9 });
    assert.equal(patched.status, 200);
    assert.deepEqual(
      [(patched.body as { timeout: number }).timeout, (patched.body as { memorySize: number }).memorySize],
      [9, 128],
    );
    assert.equal((await call('DELETE', '/v1/functions/shop-b')).status, 204);
    assert.equal(code(await call('GET', '/v1/functions/shop-b')), 'FunctionNotFound');
    assert.deepEqual(
      changes.map((c) => c.what),
      [
        { function: 'shop-a' },
        { function: 'shop-b' },
        { function: 'shop-c' },
        { function: 'other' },
        { function: 'shop-a' },
        { function: 'shop-b' },
      ],
      'each write, and no read, is announced',
    );
    assert.ok(
      changes.every((c) => !c.answered),
      'announced before the caller has its answer',
    );
  });

  test('a write that fails announces nothing; invalid input names every field that is wrong', async () => {
    changes.length = 0;
    const res = await call('POST', '/v1/functions', { name: '9bad', runtime: 'cobol', extra: 1 });
    assert.equal(res.status, 400);
    const paths = (res.body as { error: { details: { path: string }[] } }).error.details.map((d) => d.path);
    for (const path of ['name', 'runtime', 'extra'])
      assert.ok(paths.includes(path), `${path} in ${paths.join()}`);
    assert.equal(code(await call('POST', '/v1/functions/nope/versions')), 'FunctionNotFound');
    assert.deepEqual(changes, []);
  });

  test('code: a zip body replaces $LATEST’s code, read back as the same bytes', async () => {
    await fn('coded');
    const zip = await zipOf({ 'index.js': 'exports.handler = async () => "new";' });
    const put = await call('PUT', '/v1/functions/coded/code', zip);
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const got = await call('GET', '/v1/functions/coded/code');
    assert.equal(got.headers.get('content-type'), 'application/zip');
    assert.deepEqual(got.bytes, zip);
    assert.equal(
      code(await call('PUT', '/v1/functions/coded/code', Buffer.from('not a zip'))),
      'InvalidCodePackage',
    );
  });

  test('versions and aliases: publish once per change, guarded alias writes, history, rollback, explain', async () => {
    await fn('rel');
    const v1 = await call('POST', '/v1/functions/rel/versions', { description: 'first' });
    assert.equal(v1.status, 201);
    assert.equal(v1.headers.get('location'), '/v1/functions/rel/versions/1');
    assert.equal(code(await call('POST', '/v1/functions/rel/versions')), 'NothingToPublish');
    await call('PATCH', '/v1/functions/rel', { timeout: 5 });
    assert.equal((await call('POST', '/v1/functions/rel/versions')).status, 201);

    const created = await call(
      'PUT',
      '/v1/functions/rel/aliases/live',
      { version: '1' },
      { 'if-none-match': '*' },
    );
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('etag'), '"1"');
    assert.equal(
      code(await call('PUT', '/v1/functions/rel/aliases/live', { version: '1' }, { 'if-none-match': '*' })),
      'AliasAlreadyExists',
    );
    const canary = { version: '1', canary: { version: '2', weight: 1 } };
    assert.equal(
      code(await call('PUT', '/v1/functions/rel/aliases/live', canary, { 'if-match': '"7"' })),
      'AliasConflict',
    );
    const moved = await call('PUT', '/v1/functions/rel/aliases/live', canary, { 'if-match': '"1"' });
    assert.equal(moved.status, 200);
    assert.equal(moved.headers.get('etag'), '"2"');

    const explained = await call('POST', '/v1/functions/rel/aliases/live/explain', {});
    assert.equal((explained.body as { version: string }).version, '2', 'weight 1: the canary');

    const inUse = await call('DELETE', '/v1/functions/rel/versions/2');
    assert.equal(code(inUse), 'VersionInUse');
    assert.match(JSON.stringify(inUse.body), /live/);

    const back = await call('POST', '/v1/functions/rel/aliases/live/rollback', { to: 'primary' });
    assert.equal(back.status, 200);
    assert.equal((back.body as { canary?: unknown }).canary, undefined);
    const history = (await call('GET', '/v1/functions/rel/aliases/live/history')).body as {
      history: { revision: number; actor: string }[];
    };
    assert.deepEqual(
      history.history.map((h) => [h.revision, h.actor]),
      [
        [1, 'alice (t)'],
        [2, 'alice (t)'],
        [3, 'alice (t)'],
      ],
    );
    assert.equal(code(await call('DELETE', '/v1/functions/rel/aliases/$DEFAULT')), 'DefaultAliasProtected');
  });

  test('APIs and stages: a stage is bound to what exists, and announced as a change of its API', async () => {
    await fn('backend');
    changes.length = 0;
    const created = await call('POST', '/v1/apis', {
      name: 'shop',
      routes: [{ method: 'GET', path: '/items' }],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const unbound = await call('PUT', '/v1/apis/shop/stages/release', {
      function: 'backend',
      qualifier: 'nope',
    });
    assert.equal(code(unbound), 'StageBindingInvalid');
    const bound = await call('PUT', '/v1/apis/shop/stages/release', {
      function: 'backend',
      qualifier: '$LATEST',
    });
    assert.equal(bound.status, 201, JSON.stringify(bound.body));
    assert.deepEqual(
      changes.map((c) => c.what),
      [{ api: 'shop' }, { api: 'shop' }],
    );
    // If-None-Match: * creates only, as for aliases: over the existing stage it is refused and nothing changes.
    const createOnly = { 'if-none-match': '*' };
    const again = await call('PUT', '/v1/apis/shop/stages/release', { function: 'backend' }, createOnly);
    assert.equal(again.status, 409);
    assert.equal(code(again), 'StageAlreadyExists');
    const notStar = await call(
      'PUT',
      '/v1/apis/shop/stages/dev',
      { function: 'backend' },
      { 'if-none-match': '"1"' },
    );
    assert.equal(code(notStar), 'InvalidArgument');
    assert.equal(code(await call('GET', '/v1/apis/shop/stages/dev')), 'StageNotFound');
    const stage = await call('GET', '/v1/apis/shop/stages/release');
    assert.deepEqual(
      [(stage.body as { qualifier: string; revision: number }).qualifier, stage.headers.get('etag')],
      ['$LATEST', '"1"'],
    );
    assert.equal(
      (await call('PUT', '/v1/apis/shop/stages/dev', { function: 'backend' }, createOnly)).status,
      201,
    );
    assert.equal(changes.length, 3, 'only the stage created is announced');
    assert.equal(code(await call('DELETE', '/v1/functions/backend')), 'FunctionInUse');
  });

  test('telemetry: metrics and logs of a function, their parameters checked', async () => {
    await fn('quiet');
    const metrics = await call('GET', '/v1/functions/quiet/metrics?since=10m');
    assert.equal(metrics.status, 200);
    assert.equal((metrics.body as { totals: { invocations: number } }).totals.invocations, 0);
    assert.equal(code(await call('GET', '/v1/functions/quiet/metrics?step=7s')), 'InvalidArgument');
    const logs = await call('GET', '/v1/functions/quiet/logs?limit=5');
    assert.equal(logs.status, 200);
    assert.equal(code(await call('GET', '/v1/functions/quiet/logs?limit=0')), 'InvalidArgument');
    assert.equal(code(await call('GET', '/v1/functions/quiet/logs?colour=red')), 'InvalidArgument');
  });

  test('rollouts: started from an alias, steered by id, not announced by the API (the engine does)', async () => {
    await fn('roll');
    await call('POST', '/v1/functions/roll/versions');
    await call('PATCH', '/v1/functions/roll', { timeout: 4 });
    await call('POST', '/v1/functions/roll/versions');
    await call('PUT', '/v1/functions/roll/aliases/live', { version: '1' });
    changes.length = 0;
    const started = await call('POST', '/v1/functions/roll/aliases/live/rollouts', { to: '2', steps: [0.5] });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    const { id } = started.body as { id: string };
    assert.equal(started.headers.get('location'), `/v1/rollouts/${id}`);
    assert.equal(
      code(await call('POST', '/v1/functions/roll/aliases/live/rollouts', { to: '2' })),
      'RolloutInProgress',
    );
    assert.equal(
      ((await call('POST', `/v1/rollouts/${id}/pause`)).body as { status: string }).status,
      'paused',
    );
    assert.equal(code(await call('POST', `/v1/rollouts/${id}/pause`)), 'RolloutNotActive');
    assert.equal(code(await call('GET', '/v1/rollouts/not-an-id')), 'InvalidArgument');
    assert.deepEqual(changes, []);
  });
});
