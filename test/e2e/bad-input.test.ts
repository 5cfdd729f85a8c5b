import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { SEED_NODE_HANDLER, zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';
import { makeZip, symlinkZip, traversalZip } from '../support/zips.js';

// Every refused request answers a precise error and leaves the stored state exactly as it was.
let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

const F = '/v1/functions/F';
const MB = 1024 * 1024;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir, ['--max-code-size', '1']);
  api = apiClient(server.url, server.token);
  const create = await api('POST', '/v1/functions', {
    name: 'F',
    runtime: 'nodejs20',
    handler: 'index.handler',
  });
  assert.equal(create.status, 201);
  for (const n of [1, 2]) {
    assert.equal(
      (await api('PUT', `${F}/code`, await zipOf({ 'index.js': `${SEED_NODE_HANDLER}//${n}` }))).status,
      200,
    );
    assert.equal((await api('POST', `${F}/versions`)).status, 201);
  }
  const alias = await api('PUT', `${F}/aliases/live`, {
    version: '1',
    canary: { version: '2', weight: 0.1 },
  });
  assert.equal(alias.status, 201);
  const moved = await api('PUT', `${F}/aliases/live`, {
    version: '1',
    canary: { version: '2', weight: 0.2 },
  });
  assert.equal(moved.headers.get('etag'), '"2"', 'live is at revision 2, so If-Match "1" is stale');
  assert.equal((await api('PUT', `${F}/aliases/fresh`, { version: '1' })).status, 201);
  // Target 0: a configuration to keep unchanged, without an instance to start.
  assert.equal((await api('PUT', `${F}/provisioned/live`, { target: 0, canaryRatio: 0.2 })).status, 201);
});

after(async () => {
  await server.stop();
  await removeDir();
});

interface Case {
  what: string;
  request: () => Promise<{ method: string; path: string; body?: unknown; headers?: Record<string, string> }>;
  status: number;
  code: string;
  /** Field paths that `details` must name. */
  paths?: string[];
}

const fn = (extra: Record<string, unknown>) => ({
  name: 'G',
  runtime: 'nodejs20',
  handler: 'index.handler',
  ...extra,
});
const put = (body: unknown) => () => Promise.resolve({ method: 'PUT', path: `${F}/aliases/live`, body });
const post = (body: unknown, headers?: Record<string, string>) => () =>
  Promise.resolve({ method: 'POST', path: '/v1/functions', body, ...(headers && { headers }) });
const provision =
  (qualifier: string, body: unknown, method = 'PUT') =>
  () =>
    Promise.resolve({ method, path: `${F}/provisioned/${qualifier}`, body });
const rule = (r: Record<string, unknown>) => ({ version: '1', canary: { version: '2', rules: [r] } });

const cases: Case[] = [
  {
    what: 'provisioned: a negative target, a ratio above 1 and an unknown field at once',
    request: provision('live', { target: -1, canaryRatio: 1.5, ratio: 0.2 }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['target', 'canaryRatio', 'ratio'],
  },
  {
    what: 'provisioned: no target',
    request: provision('live', { canaryRatio: 0.5 }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['target'],
  },
  {
    what: 'provisioned: a target beyond 1000',
    request: provision('live', { target: 1001 }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['target'],
  },
  {
    what: 'provisioned: a ratio that is neither a fraction nor "weight"',
    request: provision('live', { target: 2, canaryRatio: 'half' }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canaryRatio'],
  },
  {
    what: 'provisioned: an alias that does not exist',
    request: provision('staging', { target: 1 }),
    status: 404,
    code: 'AliasNotFound',
  },
  {
    what: 'provisioned: a version that does not exist',
    request: provision('9', { target: 1 }),
    status: 404,
    code: 'VersionNotFound',
  },
  {
    what: 'provisioned: a qualifier that is no name',
    request: provision('no!name', { target: 1 }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'provisioned: releasing a qualifier that has none',
    request: provision('fresh', undefined, 'DELETE'),
    status: 404,
    code: 'ProvisionedNotFound',
  },
  {
    what: 'provisioned: a function that does not exist',
    request: () => Promise.resolve({ method: 'GET', path: '/v1/functions/Nobody/provisioned' }),
    status: 404,
    code: 'FunctionNotFound',
  },
  {
    what: 'a function name starting with a digit',
    request: post(fn({ name: '1bad' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['name'],
  },
  {
    what: 'a function name of 65 characters',
    request: post(fn({ name: 'a'.repeat(65) })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['name'],
  },
  {
    what: 'an unknown field',
    request: post(fn({ colour: 'blue' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['colour'],
  },
  {
    what: 'a wrongly typed field',
    request: post(fn({ memorySize: '128' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['memorySize'],
  },
  {
    what: 'a network that is neither host nor none',
    request: post(fn({ network: 'bridge' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['network'],
  },
  {
    what: 'three problems at once',
    request: post({ name: 'G', runtime: 'cobol', handler: 'index', timeout: 0 }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['runtime', 'handler', 'timeout'],
  },
  {
    what: 'a missing runtime and handler',
    request: post({ name: 'G' }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['runtime', 'handler'],
  },
  { what: 'malformed JSON', request: post('{"name": '), status: 400, code: 'MalformedRequest' },
  { what: 'a body that is not an object', request: post([1, 2]), status: 400, code: 'InvalidArgument' },
  {
    what: 'a text body',
    request: post('name=G', { 'content-type': 'text/plain' }),
    status: 415,
    code: 'UnsupportedMediaType',
  },
  {
    what: 'a name that exists',
    request: post(fn({ name: 'F' })),
    status: 409,
    code: 'FunctionAlreadyExists',
  },
  {
    what: 'code in JSON that is not base64',
    request: post(fn({ code: { zipFile: 'not base64!' } })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['code.zipFile'],
  },
  {
    what: 'a code package over the limit',
    request: async () => ({
      method: 'PUT',
      path: `${F}/code`,
      body: await makeZip([{ name: 'big.bin', data: Buffer.alloc(2 * MB, 1), mode: 0o100644 }], {
        compress: false,
      }),
    }),
    status: 413,
    code: 'CodeTooLarge',
  },
  {
    what: 'a code package that unzips past the limit',
    request: async () => ({
      method: 'PUT',
      path: `${F}/code`,
      body: await makeZip([{ name: 'zeros.bin', data: Buffer.alloc(260 * MB) }]),
    }),
    status: 413,
    code: 'CodeTooLarge',
  },
  {
    what: 'a body that is not a zip',
    request: () => Promise.resolve({ method: 'PUT', path: `${F}/code`, body: Buffer.from('hello') }),
    status: 400,
    code: 'InvalidCodePackage',
  },
  {
    what: 'a zip with a ../ path',
    request: async () => ({ method: 'PUT', path: `${F}/code`, body: await traversalZip() }),
    status: 400,
    code: 'InvalidCodePackage',
  },
  {
    what: 'a zip with a symlink',
    request: async () => ({ method: 'PUT', path: `${F}/code`, body: await symlinkZip() }),
    status: 400,
    code: 'InvalidCodePackage',
  },
  {
    what: 'code sent as text',
    request: () =>
      Promise.resolve({
        method: 'PUT',
        path: `${F}/code`,
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
    status: 415,
    code: 'UnsupportedMediaType',
  },
  {
    what: 'publishing with nothing changed',
    request: () => Promise.resolve({ method: 'POST', path: `${F}/versions` }),
    status: 409,
    code: 'NothingToPublish',
  },
  {
    what: 'deleting a version an alias uses',
    request: () => Promise.resolve({ method: 'DELETE', path: `${F}/versions/1` }),
    status: 409,
    code: 'VersionInUse',
  },
  {
    what: 'deleting a version that is a canary',
    request: () => Promise.resolve({ method: 'DELETE', path: `${F}/versions/2` }),
    status: 409,
    code: 'VersionInUse',
  },
  {
    what: 'deleting a missing version',
    request: () => Promise.resolve({ method: 'DELETE', path: `${F}/versions/9` }),
    status: 404,
    code: 'VersionNotFound',
  },
  {
    what: 'a version id with a leading zero',
    request: () => Promise.resolve({ method: 'GET', path: `${F}/versions/01` }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'an alias to a missing version',
    request: put({ version: '9' }),
    status: 404,
    code: 'VersionNotFound',
  },
  {
    what: 'a canary to a missing version',
    request: put({ version: '1', canary: { version: '7', weight: 0.5 } }),
    status: 404,
    code: 'VersionNotFound',
  },
  {
    what: 'a canary equal to the primary',
    request: put({ version: '1', canary: { version: '1', weight: 0.5 } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.version'],
  },
  {
    what: 'a weight above 1',
    request: put({ version: '1', canary: { version: '2', weight: 1.5 } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.weight'],
  },
  {
    what: 'a negative weight',
    request: put({ version: '1', canary: { version: '2', weight: -0.1 } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.weight'],
  },
  {
    what: 'a weight finer than 0.0001',
    request: put({ version: '1', canary: { version: '2', weight: 0.00005 } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.weight'],
  },
  {
    what: 'a weight given as text',
    request: put({ version: '1', canary: { version: '2', weight: '0.5' } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.weight'],
  },
  {
    what: 'a version given as a number',
    request: put({ version: 1 }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['version'],
  },
  {
    what: 'a rule with an unknown op',
    request: put(rule({ source: 'header', name: 'User', op: 'like', value: 'Bob' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.rules[0].op'],
  },
  {
    what: 'a numeric rule with a text value',
    request: put(rule({ source: 'query', name: 'age', op: '>', value: 'abc' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.rules[0].value'],
  },
  {
    what: 'a rule with an unknown source',
    request: put(rule({ source: 'body', name: 'x', op: '=', value: 'y' })),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary.rules[0].source'],
  },
  {
    what: 'a weight and rules together',
    request: put({ version: '1', canary: { version: '2', weight: 0.5, rules: [] } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['canary'],
  },
  {
    what: 'an alias name starting with a digit',
    request: () => Promise.resolve({ method: 'PUT', path: `${F}/aliases/1abc`, body: { version: '1' } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'an alias named $LATEST',
    request: () => Promise.resolve({ method: 'PUT', path: `${F}/aliases/$LATEST`, body: { version: '1' } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'deleting $DEFAULT',
    request: () => Promise.resolve({ method: 'DELETE', path: `${F}/aliases/$DEFAULT` }),
    status: 409,
    code: 'DefaultAliasProtected',
  },
  {
    what: 'a stale If-Match',
    request: () =>
      Promise.resolve({
        method: 'PUT',
        path: `${F}/aliases/live`,
        body: { version: '2' },
        headers: { 'if-match': '"1"' },
      }),
    status: 409,
    code: 'AliasConflict',
  },
  {
    what: 'If-None-Match: * on an existing alias',
    request: () =>
      Promise.resolve({
        method: 'PUT',
        path: `${F}/aliases/live`,
        body: { version: '2' },
        headers: { 'if-none-match': '*' },
      }),
    status: 409,
    code: 'AliasAlreadyExists',
  },
  {
    what: 'rolling back an alias with no earlier revision',
    request: () => Promise.resolve({ method: 'POST', path: `${F}/aliases/fresh/rollback` }),
    status: 409,
    code: 'NothingToRollBack',
  },
  {
    what: 'rolling back to an unknown revision',
    request: () =>
      Promise.resolve({ method: 'POST', path: `${F}/aliases/live/rollback`, body: { revision: 99 } }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'a missing alias',
    request: () => Promise.resolve({ method: 'GET', path: `${F}/aliases/nope` }),
    status: 404,
    code: 'AliasNotFound',
  },
  {
    what: 'a missing function',
    request: () => Promise.resolve({ method: 'PATCH', path: '/v1/functions/nope', body: { timeout: 5 } }),
    status: 404,
    code: 'FunctionNotFound',
  },
  {
    what: 'a configuration update naming nothing',
    request: () => Promise.resolve({ method: 'PATCH', path: F, body: {} }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'a configuration update with an unknown field',
    request: () => Promise.resolve({ method: 'PATCH', path: F, body: { name: 'H' } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['name'],
  },
  {
    what: 'a configuration update to network "any"',
    request: () => Promise.resolve({ method: 'PATCH', path: F, body: { network: 'any' } }),
    status: 400,
    code: 'InvalidArgument',
    paths: ['network'],
  },
  {
    what: 'an oversized JSON body',
    request: () => Promise.resolve({ method: 'PATCH', path: F, body: { description: 'x'.repeat(2 * MB) } }),
    status: 413,
    code: 'PayloadTooLarge',
  },
  {
    what: 'a method the endpoint does not take',
    request: () => Promise.resolve({ method: 'POST', path: F }),
    status: 405,
    code: 'MethodNotAllowed',
  },
  {
    what: 'an unknown endpoint',
    request: () => Promise.resolve({ method: 'GET', path: '/v1/nothing' }),
    status: 404,
    code: 'RouteNotFound',
  },
  {
    what: 'an unknown query parameter',
    request: () => Promise.resolve({ method: 'GET', path: '/v1/functions?limt=5' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'a limit out of range',
    request: () => Promise.resolve({ method: 'GET', path: '/v1/functions?limit=0' }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'a malformed qualifier',
    request: () => Promise.resolve({ method: 'GET', path: `${F}/code?qualifier=%24latest` }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'a function name that is not valid percent-encoding, on the invoke API',
    request: () => Promise.resolve({ method: 'POST', path: '/v1/functions/F%E0%A4%A/invocations', body: {} }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'the same, invoked asynchronously',
    request: () =>
      Promise.resolve({
        method: 'POST',
        path: '/v1/functions/F%E0%A4%A/invocations',
        body: {},
        headers: { 'x-fc-invocation-type': 'Async' },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'the same, through an HTTP trigger',
    request: () => Promise.resolve({ method: 'POST', path: '/fn/F%E0%A4%A/live/hello', body: {} }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'the same, from an anonymous caller, who learns nothing of which functions exist',
    request: () =>
      Promise.resolve({
        method: 'POST',
        path: '/fn/F%E0%A4%A/live/hello',
        body: {},
        headers: { authorization: '' },
      }),
    status: 400,
    code: 'InvalidArgument',
  },
  {
    what: 'no token',
    request: () => Promise.resolve({ method: 'DELETE', path: F, headers: { authorization: '' } }),
    status: 401,
    code: 'Unauthorized',
  },
  {
    what: 'a wrong token',
    request: () =>
      Promise.resolve({ method: 'DELETE', path: F, headers: { authorization: 'Bearer sluice_wrong' } }),
    status: 401,
    code: 'Unauthorized',
  },
  {
    what: 'a token in the wrong scheme',
    request: () =>
      Promise.resolve({ method: 'DELETE', path: F, headers: { authorization: `Basic ${server.token}` } }),
    status: 401,
    code: 'Unauthorized',
  },
];

describe('refused requests change nothing', () => {
  for (const c of cases) {
    test(c.what, async () => {
      const before = await snapshot(api);
      const { method, path, body, headers } = await c.request();
      const res = await api(method, path, body, headers);
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      const error = (
        res.body as { error: { code: string; message: string; requestId: string; details?: unknown } }
      ).error;
      assert.equal(errorCode(res), c.code, error.message);
      assert.ok(error.message.length > 10, 'the message explains the refusal');
      assert.equal(error.requestId, res.headers.get('x-sluice-request-id'));
      if (c.paths) {
        const paths = (error.details as { path: string }[]).map((d) => d.path);
        for (const p of c.paths)
          assert.ok(paths.includes(p), `details name ${p}: ${JSON.stringify(error.details)}`);
      }
      assert.deepEqual(await snapshot(api), before);
    });
  }

  test('a 405 names the allowed methods', async () => {
    const res = await api('POST', F);
    assert.equal(res.headers.get('allow'), 'GET, PATCH, DELETE');
  });
});

test('two concurrent updates of one alias: one wins, the other gets 409', async () => {
  const current = await api('GET', `${F}/aliases/fresh`);
  const etag = current.headers.get('etag') ?? '';
  const results = await Promise.all(
    ['1', '2'].map((version) => api('PUT', `${F}/aliases/fresh`, { version }, { 'if-match': etag })),
  );
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 409]);
  const loser = results.find((r) => r.status === 409);
  assert.equal(errorCode(loser!), 'AliasConflict');
  const winner = results.find((r) => r.status === 200)!.body as { version: string; revision: number };
  const stored = (await api('GET', `${F}/aliases/fresh`)).body as { version: string; revision: number };
  assert.equal(stored.version, winner.version);
  assert.equal(stored.revision, winner.revision);
});
