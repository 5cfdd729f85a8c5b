import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { SEED_NODE_HANDLER, zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';

// Issue 23, credentials with scopes, through the real server: what each scope and prefix may do, that a refused
// request changes nothing, that revocation takes effect, and that the database holds no working secret.

let server: SluiceProcess;
let admin: ApiCall;
let removeDir: () => Promise<void>;

interface NewCredential {
  id: string;
  name: string;
  scope: string;
  functionPrefix: string | null;
  createdAt: string;
  token?: string;
  secret?: string;
}

async function createToken(body: Record<string, unknown>): Promise<NewCredential & { api: ApiCall }> {
  const res = await admin('POST', '/v1/tokens', body);
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const created = res.body as NewCredential;
  return { ...created, api: apiClient(server.url, created.token) };
}

/** Everything a refused request must leave as it was: functions and their state, APIs, credentials. */
async function everything(): Promise<unknown> {
  return {
    functions: await snapshot(admin),
    apis: (await admin('GET', '/v1/apis')).body,
    stages: (await admin('GET', '/v1/apis/shop/stages')).body,
    tokens: (await admin('GET', '/v1/tokens')).body,
    accessKeys: (await admin('GET', '/v1/access-keys')).body,
  };
}

async function publish(name: string, builds: number): Promise<void> {
  for (let n = 1; n <= builds; n++) {
    const code = await admin(
      'PUT',
      `/v1/functions/${name}/code`,
      await zipOf({ 'index.js': `${SEED_NODE_HANDLER}//${n}` }),
    );
    assert.equal(code.status, 200, JSON.stringify(code.body));
    assert.equal((await admin('POST', `/v1/functions/${name}/versions`)).status, 201);
  }
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  admin = apiClient(server.url, server.token);
  for (const name of ['shop-cart', 'blog']) {
    const res = await admin('POST', '/v1/functions', { name, runtime: 'nodejs20', handler: 'index.handler' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await publish(name, 2);
    assert.equal((await admin('PUT', `/v1/functions/${name}/aliases/live`, { version: '1' })).status, 201);
  }
  assert.equal(
    (await admin('POST', '/v1/apis', { name: 'shop', routes: [{ method: 'ANY', path: '/{proxy+}' }] }))
      .status,
    201,
  );
  assert.equal(
    (await admin('PUT', '/v1/apis/shop/stages/prod', { function: 'shop-cart', qualifier: 'live' })).status,
    201,
  );
});

after(async () => {
  await server.stop();
  await removeDir();
});

/** Every route of the OpenAPI document but the public ones, with its parameters filled in for `fn`. */
async function everyRoute(fn: string): Promise<{ method: string; path: string }[]> {
  const doc = (await admin('GET', '/v1/openapi.json')).body as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  const values: Record<string, string> = {
    name: fn,
    alias: 'live',
    version: '1',
    qualifier: 'live',
    api: 'shop',
    stage: 'prod',
    id: '00000000-0000-0000-0000-000000000000',
  };
  return Object.entries(doc.paths).flatMap(([template, operations]) =>
    Object.entries(operations)
      .filter(([, operation]) => !(Array.isArray(operation.security) && operation.security.length === 0))
      .map(([method]) => ({
        method: method.toUpperCase(),
        path: template.replace(/\{(\w+)\}/g, (_, p: string) => values[p] ?? p),
      })),
  );
}

async function invoke(api: ApiCall, fn: string): Promise<{ status: number; code: string | undefined }> {
  const res = await api('POST', `/v1/functions/${fn}/invocations?qualifier=live`, '{}');
  return { status: res.status, code: errorCode(res) };
}

describe('scopes', () => {
  test('an invoke-scoped token invokes, and gets 403 on every /v1 route, writes included; nothing changes', async () => {
    const app = await createToken({ name: 'app', scope: 'invoke' });
    assert.deepEqual(await invoke(app.api, 'shop-cart'), { status: 200, code: undefined });
    const trigger = await app.api('GET', '/fn/shop-cart/live/');
    assert.equal(trigger.status, 200, 'triggers are the data plane too');
    const before = await everything();
    const routes = (await everyRoute('shop-cart')).filter((r) => r.path !== '/v1/server');
    assert.ok(routes.filter((r) => r.method !== 'GET').length >= 25, `${routes.length} routes`);
    for (const { method, path } of routes) {
      const res = await app.api(method, path, method === 'GET' ? undefined : {});
      assert.equal(res.status, 403, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), 'Forbidden');
      assert.match((res.body as { error: { message: string } }).error.message, /scope invoke/);
    }
    assert.equal((await app.api('GET', '/metrics')).status, 403);
    assert.deepEqual(await everything(), before);
  });

  test('a deploy-scoped token deploys and invokes, but cannot see or make credentials', async () => {
    const ci = await createToken({ name: 'ci', scope: 'deploy' });
    const before = await everything();
    for (const [method, path, body] of [
      ['POST', '/v1/tokens', { name: 'mine', scope: 'admin' }],
      ['POST', '/v1/tokens', { name: 'mine', scope: 'invoke' }],
      ['GET', '/v1/tokens', undefined],
      ['DELETE', `/v1/tokens/${ci.id}`, undefined],
      ['POST', '/v1/access-keys', { name: 'mine', scope: 'deploy' }],
      ['GET', '/v1/access-keys', undefined],
      ['DELETE', '/v1/access-keys/AKNONE', undefined],
    ] as const) {
      const res = await ci.api(method, path, body);
      assert.equal(res.status, 403, `${method} ${path}`);
      assert.match(
        (res.body as { error: { message: string } }).error.message,
        /scope deploy; this needs admin/,
      );
    }
    assert.deepEqual(await everything(), before);

    // What it may do, recorded under its name and id.
    const moved = await ci.api('PUT', '/v1/functions/blog/aliases/live', { version: '2' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    const history = (await admin('GET', '/v1/functions/blog/aliases/live/history')).body as {
      history: { actor: string }[];
    };
    assert.equal(history.history.at(-1)?.actor, `ci (${ci.id})`);
    assert.deepEqual(await invoke(ci.api, 'blog'), { status: 200, code: undefined });
    assert.equal((await ci.api('GET', '/metrics')).status, 200);
  });

  test('a token limited to a prefix touches only the functions it starts, and lists only those', async () => {
    const shop = await createToken({ name: 'shop-ci', scope: 'deploy', functionPrefix: 'shop-' });
    const before = await everything();
    // Those that name no function in their path check it themselves, and are tried below: the list, a function
    // created from a body (checked once the body is valid), and a rollout by id (found first: ids are random).
    const ownCheck = /^\/v1\/(server|tokens|access-keys|functions$|rollouts)/;
    for (const { method, path } of await everyRoute('blog')) {
      if (ownCheck.test(path)) continue;
      const res = await shop.api(method, path, method === 'GET' ? undefined : {});
      assert.equal(res.status, 403, `${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    assert.equal(
      (
        await shop.api('POST', '/v1/functions', {
          name: 'blog-2',
          runtime: 'nodejs20',
          handler: 'index.handler',
        })
      ).status,
      403,
    );
    assert.deepEqual(await invoke(shop.api, 'blog'), { status: 403, code: 'Forbidden' });
    assert.equal(
      (await shop.api('GET', '/gw/shop/prod/x')).status,
      200,
      'a stage bound to a function within the prefix',
    );
    // A name outside the prefix is refused before it is looked up: the token learns not whether it exists.
    assert.equal(errorCode(await shop.api('GET', '/v1/functions/no-such')), 'Forbidden');
    assert.deepEqual(await everything(), before);

    const listed = async (query: string) =>
      (
        (await shop.api('GET', `/v1/functions${query}`)).body as { functions: { name: string }[] }
      ).functions.map((f) => f.name);
    assert.deepEqual(await listed(''), ['shop-cart']);
    assert.deepEqual(await listed('?prefix=s'), ['shop-cart']);
    assert.deepEqual(await listed('?prefix=shop-c'), ['shop-cart']);
    assert.deepEqual(await listed('?prefix=b'), []);
    assert.equal((await shop.api('GET', '/v1/functions/shop-cart')).status, 200);
    const created = await shop.api('POST', '/v1/functions', {
      name: 'shop-new',
      runtime: 'nodejs20',
      handler: 'index.handler',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(await invoke(shop.api, 'shop-cart'), { status: 200, code: undefined });
  });
});

describe('managing credentials', () => {
  test('a token is shown once; the list holds no secret; a revoked token gets 401 everywhere', async () => {
    const gone = await createToken({ name: 'short-lived', scope: 'deploy' });
    assert.match(gone.token ?? '', /^sluice_/);
    assert.match(gone.id, /^tk_/);
    const list = (await admin('GET', '/v1/tokens')).body as { tokens: Record<string, unknown>[] };
    const listed = list.tokens.find((t) => t.id === gone.id);
    assert.deepEqual(listed, {
      id: gone.id,
      name: 'short-lived',
      scope: 'deploy',
      functionPrefix: null,
      createdAt: gone.createdAt,
    });
    assert.ok(!JSON.stringify(list).includes(gone.token ?? '?'));
    assert.equal((await gone.api('GET', '/v1/functions')).status, 200, 'cached now');

    const revoked = await admin('DELETE', `/v1/tokens/${gone.id}`);
    assert.equal(revoked.status, 204);
    for (const [method, path] of [
      ['GET', '/v1/functions'],
      ['PUT', '/v1/functions/blog/aliases/live'],
      ['POST', '/v1/functions/blog/invocations'],
      ['GET', '/fn/blog/live/'],
      ['GET', '/metrics'],
    ] as const) {
      const res = await gone.api(method, path, method === 'PUT' ? { version: '1' } : undefined);
      assert.equal(res.status, 401, `${method} ${path}`);
    }
    assert.equal(errorCode(await admin('DELETE', `/v1/tokens/${gone.id}`)), 'CredentialNotFound');
  });

  test('an access key is made with a secret shown once, listed without it, and deleted', async () => {
    const res = await admin('POST', '/v1/access-keys', {
      name: 'sdk',
      scope: 'deploy',
      functionPrefix: 'shop-',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const key = res.body as NewCredential;
    assert.match(key.id, /^AK[A-Z2-9]{20}$/);
    assert.ok((key.secret ?? '').length >= 40);
    const list = (await admin('GET', '/v1/access-keys')).body as { accessKeys: Record<string, unknown>[] };
    assert.deepEqual(
      list.accessKeys.find((k) => k.id === key.id),
      {
        id: key.id,
        name: 'sdk',
        scope: 'deploy',
        functionPrefix: 'shop-',
        createdAt: key.createdAt,
      },
    );
    assert.ok(!JSON.stringify(list).includes(key.secret ?? '?'));
    assert.equal((await admin('DELETE', `/v1/access-keys/${key.id}`)).status, 204);
    assert.equal(errorCode(await admin('DELETE', `/v1/access-keys/${key.id}`)), 'CredentialNotFound');
  });

  test('bad input on the credential endpoints is refused with its field, and changes nothing', async () => {
    assert.equal((await admin('POST', '/v1/tokens', { name: 'taken', scope: 'invoke' })).status, 201);
    const before = await everything();
    const cases: [string, string, unknown, number, string, string[]][] = [
      ['POST', '/v1/tokens', {}, 400, 'InvalidArgument', ['name', 'scope']],
      ['POST', '/v1/tokens', { name: 'x', scope: 'root' }, 400, 'InvalidArgument', ['scope']],
      ['POST', '/v1/tokens', { name: '-x', scope: 'invoke' }, 400, 'InvalidArgument', ['name']],
      ['POST', '/v1/tokens', { name: 'x'.repeat(65), scope: 'invoke' }, 400, 'InvalidArgument', ['name']],
      [
        'POST',
        '/v1/tokens',
        { name: 'x', scope: 'invoke', functionPrefix: '' },
        400,
        'InvalidArgument',
        ['functionPrefix'],
      ],
      [
        'POST',
        '/v1/tokens',
        { name: 'x', scope: 'invoke', functionPrefix: 'a/b' },
        400,
        'InvalidArgument',
        ['functionPrefix'],
      ],
      [
        'POST',
        '/v1/tokens',
        { name: 'x', scope: 'invoke', token: 'sluice_mine' },
        400,
        'InvalidArgument',
        ['token'],
      ],
      ['POST', '/v1/tokens', '{"name":', 400, 'MalformedRequest', []],
      ['POST', '/v1/tokens', { name: 'taken', scope: 'admin' }, 409, 'CredentialAlreadyExists', []],
      [
        'POST',
        '/v1/access-keys',
        { name: 'k', scope: 'invoke', secret: 'mine' },
        400,
        'InvalidArgument',
        ['secret'],
      ],
      ['POST', '/v1/access-keys', [], 400, 'InvalidArgument', []],
      ['DELETE', '/v1/tokens/tk_NOSUCH', undefined, 404, 'CredentialNotFound', []],
      ['DELETE', '/v1/tokens/a%20b', undefined, 400, 'InvalidArgument', ['id']],
      ['DELETE', '/v1/access-keys/AKNOSUCH', undefined, 404, 'CredentialNotFound', []],
      ['POST', '/v1/tokens?x=1', { name: 'y', scope: 'invoke' }, 400, 'InvalidArgument', []],
    ];
    for (const [method, path, body, status, code, paths] of cases) {
      const res = await admin(method, path, body);
      const what = `${method} ${path} ${JSON.stringify(body)}`;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
      assert.equal(errorCode(res), code, what);
      const details = (res.body as { error: { details?: { path: string }[] } }).error.details ?? [];
      for (const p of paths)
        assert.ok(Array.isArray(details) && details.some((d) => d.path.includes(p)), `${what}: ${p}`);
    }
    const big = await admin('POST', '/v1/tokens', {
      name: 'x',
      scope: 'invoke',
      pad: 'x'.repeat(2 * 1024 * 1024),
    });
    assert.equal(errorCode(big), 'PayloadTooLarge');
    assert.deepEqual(await everything(), before);
  });

  test('the last admin token cannot be revoked; with another admin token it can', async () => {
    const tokens = ((await admin('GET', '/v1/tokens')).body as { tokens: NewCredential[] }).tokens;
    const first = tokens.find((t) => t.name === 'admin') as NewCredential;
    assert.equal(errorCode(await admin('DELETE', `/v1/tokens/${first.id}`)), 'LastAdminToken');
    const second = await createToken({ name: 'admin-2', scope: 'admin' });
    assert.equal((await second.api('DELETE', `/v1/tokens/${first.id}`)).status, 204);
    assert.equal((await admin('GET', '/v1/tokens')).status, 401, 'the first admin token is revoked');
    admin = second.api;
  });
});

describe('at rest', () => {
  test('the database holds no token and no access-key secret in clear', async () => {
    const token = await createToken({ name: 'at-rest', scope: 'invoke' });
    const key = (await admin('POST', '/v1/access-keys', { name: 'at-rest', scope: 'invoke' }))
      .body as NewCredential;
    // Every file of the database (WAL included), read raw, and every row of the two tables.
    const files = (await readdir(server.dataDir)).filter((f) => f.startsWith('sluice.db'));
    assert.ok(files.length > 0, `the database files in ${server.dataDir}`);
    for (const file of files) {
      const bytes = await readFile(join(server.dataDir, file));
      for (const secret of [token.token, key.secret, server.token])
        assert.equal(bytes.includes(Buffer.from(secret ?? '?')), false, `${file} holds a secret`);
    }
    const db = new Database(join(server.dataDir, 'sluice.db'), { readonly: true });
    try {
      const rows = JSON.stringify([
        db.prepare('SELECT * FROM api_tokens').all(),
        db.prepare('SELECT * FROM access_keys').all(),
      ]);
      assert.ok(rows.includes(key.id), 'the rows were read');
      for (const secret of [token.token, key.secret]) assert.ok(!rows.includes(secret ?? '?'));
      assert.ok(!rows.includes(Buffer.from(key.secret ?? '?').toString('base64')));
    } finally {
      db.close();
    }
  });
});
