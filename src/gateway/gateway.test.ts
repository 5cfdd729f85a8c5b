import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { zipOf } from '../../test/support/code.js';
import { randomBytes } from 'node:crypto';
import { CredentialVerifier } from '../auth/credentials.js';
import { Sealer } from '../auth/seal.js';
import { hashToken } from '../auth/tokens.js';
import { ZipWorkers } from '../code/zip-workers.js';
import type { InvocationRecord } from '../core/telemetry.js';
import { InvocationOutput } from '../logs/invocation-output.js';
import { CodeCache } from '../runtime/code-cache.js';
import { processLauncher } from '../runtime/launcher.js';
import { findInterpreters } from '../runtime/launchers.js';
import { InstancePool } from '../runtime/pool.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { config } from '../../test/support/config.js';
import { Catalog } from './catalog.js';
import { createGateway, whenClosed } from './gateway.js';

// The data plane in one process: the gateway over a catalog of the real SQLite store and a pool of real
// Node.js instances (unsandboxed: the sandbox is test/e2e/sandbox.test.ts's), behind a plain HTTP server
// that hands it the invoke API and triggers as server.ts does. What it records goes to a list.

const TOKEN = 'sluice_gateway-test-token';
const BY = { actor: 'test', now: new Date(0).toISOString() };
const MAX_PAYLOAD = 64 * 1024;

/** Each version answers its tag, the qualifier and the version from its context, or does what the event says. */
const handler = (tag: string) => `
exports.handler = async (event, context) => {
  let text = event.toString();
  try { text = JSON.parse(text).body ?? text; } catch {}
  console.log('ran ${tag}');
  if (text === 'fail') throw new TypeError('failed on purpose');
  if (text === 'headers') return { statusCode: 201, headers: { 'x-fc-request-id': 'forged', 'x-own': 'kept' }, body: 'h' };
  return '${tag} ' + context.service.qualifier + ' ' + context.service.versionId;
};`;

let store: SqliteStore;
let gateway: ReturnType<typeof createGateway>;
let pool: InstancePool;
let workers: ZipWorkers;
let server: Server;
let base: string;
let cacheDir: string;
const records: { record: InvocationRecord; text: string }[] = [];

async function code(tag: string) {
  const zip = await zipOf({ 'index.js': handler(tag) });
  return { sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length, zip };
}

before(async () => {
  store = SqliteStore.open(':memory:');
  await store.createFirstToken({ id: 't', name: 'admin', sha256: hashToken(TOKEN), createdAt: BY.now });
  await store.createFunction('f', config({ timeout: 30 }), await code('v1'), BY);
  await store.publishVersion('f', '', BY);
  await store.updateFunction('f', { code: await code('v2') }, BY);
  await store.publishVersion('f', '', BY);
  await store.putAlias('f', 'live', { version: 1, description: '', canary: { version: 2, weight: 1 } }, BY);
  await store.createFunction('open', config({ timeout: 30 }), await code('open'), BY);
  await store.updateFunction('open', { trigger: { authType: 'anonymous' } }, BY);
  const catalog = new Catalog(store);
  await catalog.loadAll();

  cacheDir = await mkdtemp(join(tmpdir(), 'sluice-gateway-test-'));
  workers = new ZipWorkers(1);
  const output = new InvocationOutput();
  const launch = processLauncher({
    codeCache: new CodeCache(cacheDir, 64 * 1024 * 1024, workers, () => undefined),
    interpreters: findInterpreters(),
    limits: { startTimeoutMs: 30_000, maxResponseBytes: MAX_PAYLOAD, memoryPollMs: 100 },
    loadCode: async (sha256) => (await store.getCode(sha256)) ?? Buffer.alloc(0),
    onLog: (line) => {
      if (line.requestId !== undefined) output.append(line.requestId, line.text);
    },
    sandbox: undefined,
    runAs: undefined,
    standbys: { size: 0, idleMs: 60_000 },
    log: () => undefined,
  });
  pool = new InstancePool(
    {
      maxInstancesPerFunction: 4,
      maxQueuePerFunction: 10,
      maxInstanceMemoryMb: 4096,
      idleMs: 60_000,
      drainMs: 1000,
    },
    launch.launch,
  );
  gateway = createGateway({
    catalog,
    pool,
    credentials: new CredentialVerifier(store, new Sealer([randomBytes(32)])),
    output,
    telemetry: { record: (record, text) => records.push({ record, text }) },
    maxPayloadBytes: MAX_PAYLOAD,
    enqueue: (event) => store.enqueueAsync(event),
    sharedOrigin: true,
    log: () => undefined,
  });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const invoke = /^\/invoke\/([^/]+)$/.exec(url.pathname);
    const trigger = /^\/fn\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (invoke) void gateway.invoke(req, res, url, invoke[1] as string);
    else if (trigger)
      void gateway.trigger(req, res, url, trigger[1] as string, trigger[2], trigger[3] ?? '/');
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.close();
  await pool.close();
  await workers.close();
  store.close();
  await rm(cacheDir, { recursive: true, force: true });
});

interface Call {
  status: number;
  headers: Headers;
  body: string;
}

async function call(path: string, init: RequestInit & { token?: boolean } = {}): Promise<Call> {
  const { token = true, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token) headers.set('authorization', `Bearer ${TOKEN}`);
  const res = await fetch(`${base}${path}`, { method: 'POST', ...rest, headers });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

const errorCode = (c: Call) => (JSON.parse(c.body) as { error: { code: string } }).error.code;

/** The record of the invocation a response answered. */
function recordOf(c: Call): { record: InvocationRecord; text: string } {
  const found = records.find((r) => r.record.requestId === c.headers.get('x-fc-request-id'));
  assert.ok(found, 'the invocation was recorded');
  return found;
}

describe('the gateway', () => {
  test('the invoke API runs the version the alias routes to and says which, in the response and the record', async () => {
    const res = await call('/invoke/f?qualifier=live', { body: 'x' });
    assert.equal(res.status, 200, res.body);
    assert.equal(res.body, 'v2 live 2');
    assert.equal(res.headers.get('x-fc-invocation-function-version'), '2');
    const { record, text } = recordOf(res);
    assert.deepEqual(
      [record.functionName, record.versionId, record.qualifier, record.outcome, record.errorCode],
      ['f', '2', 'live', 'success', undefined],
    );
    assert.equal(text, 'ran v2\n');

    const latest = await call('/invoke/f?qualifier=$LATEST', { body: 'x' });
    assert.equal(latest.body, 'v2 LATEST LATEST');
    const byDefault = await call('/invoke/f', { body: 'x' });
    assert.equal(byDefault.body, 'v2 $DEFAULT LATEST', 'no qualifier: $DEFAULT, at $LATEST');
    const one = await call('/invoke/f?qualifier=1', { body: 'x' });
    assert.equal(one.headers.get('x-fc-invocation-function-version'), '1');
  });

  test('a pin serves one of the alias’s two versions, and only those', async () => {
    const pinned = await call('/invoke/f?qualifier=live', {
      body: 'x',
      headers: { 'x-sluice-version': '1' },
    });
    assert.equal(pinned.body, 'v1 live 1');
    const elsewhere = await call('/invoke/f?qualifier=live', { headers: { 'x-sluice-version': '3' } });
    assert.equal(elsewhere.status, 400);
    assert.equal(errorCode(elsewhere), 'InvalidArgument');
  });

  test('refusals: no token before any 404, a missing function or alias, the wrong method, too large a payload', async () => {
    const cases: [string, RequestInit & { token?: boolean }, number, string][] = [
      ['/invoke/f', { token: false }, 401, 'Unauthorized'],
      ['/invoke/missing', { token: false }, 401, 'Unauthorized'],
      ['/invoke/missing', {}, 404, 'FunctionNotFound'],
      ['/invoke/f?qualifier=nope', {}, 404, 'AliasNotFound'],
      ['/invoke/f?qualifier=9', {}, 404, 'VersionNotFound'],
      ['/invoke/f', { method: 'GET' }, 405, 'MethodNotAllowed'],
      ['/invoke/f', { body: Buffer.alloc(MAX_PAYLOAD + 1) }, 413, 'PayloadTooLarge'],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await call(path, init);
      assert.equal(res.status, status, `${path} ${JSON.stringify(init.method ?? '')}: ${res.body}`);
      assert.equal(errorCode(res), code, path);
    }
  });

  test('a handler’s error is a 502 with its type, counted as a function error, its stack in the log', async () => {
    const res = await call('/invoke/f?qualifier=1', { body: 'fail' });
    assert.equal(res.status, 502);
    assert.equal(res.headers.get('x-fc-error-type'), 'UnhandledInvocationError');
    const { details } = (JSON.parse(res.body) as { error: { details: { errorType: string } } }).error;
    assert.equal(details.errorType, 'TypeError');
    const { record, text } = recordOf(res);
    assert.equal(record.outcome, 'functionError');
    assert.match(
      text,
      /^ran v1\nERROR UnhandledInvocationError TypeError: failed on purpose\n {4}.*index\.js/m,
    );
  });

  test('x-fc-log-type: Tail returns the invocation’s log, ending with its REPORT line', async () => {
    const res = await call('/invoke/f?qualifier=1', { body: 'x', headers: { 'x-fc-log-type': 'Tail' } });
    const tail = Buffer.from(res.headers.get('x-fc-log-result') ?? '', 'base64').toString();
    assert.match(tail, /^ran v1\nREPORT RequestId: [0-9a-f-]{36} Version: 1 Duration: [\d.]+ ms\n$/);
  });

  test('an anonymous trigger: no token needed, but a pin or the log’s tail still need one', async () => {
    const open = await call('/fn/open/$LATEST/path', { token: false, body: 'x' });
    assert.equal(open.status, 200, open.body);
    assert.equal(open.body, 'open LATEST LATEST');
    for (const headers of [{ 'x-sluice-version': '1' }, { 'x-fc-log-type': 'Tail' }]) {
      const refused = await call('/fn/open/$LATEST/path', { token: false, headers });
      assert.equal(refused.status, 403, JSON.stringify(headers));
      assert.equal(errorCode(refused), 'Forbidden');
    }
    const closed = await call('/fn/f/$LATEST/path', { token: false });
    assert.equal(closed.status, 401, 'a token trigger wants one');
  });

  test('a trigger’s answer: the platform’s headers are the platform’s, and tenant pages are sandboxed', async () => {
    const res = await call('/fn/f/1/', { body: 'headers' });
    assert.equal(res.status, 201);
    assert.notEqual(res.headers.get('x-fc-request-id'), 'forged');
    assert.equal(res.headers.get('x-own'), 'kept');
    assert.match(res.headers.get('content-security-policy') ?? '', /^sandbox allow-scripts/);
    assert.match(recordOf(res).text, /dropped the handler's x-fc-request-id/);
  });

  test('invokeVersion runs one version directly, and rejects with its error', async () => {
    const before = records.length;
    await gateway.invokeVersion('f', 2, Buffer.from('x'));
    assert.equal(records.at(-1)?.record.versionId, '2');
    assert.equal(records.length, before + 1);
    await assert.rejects(gateway.invokeVersion('f', 1, Buffer.from('fail')), {
      code: 'UnhandledInvocationError',
    });
    await assert.rejects(gateway.invokeVersion('missing', 1, Buffer.alloc(0)), { code: 'FunctionNotFound' });
  });
});

test('whenClosed: told when the caller leaves before the answer, at once if it has left already, never after the answer', async () => {
  const responses: ServerResponse[] = [];
  const arrived: (() => void)[] = [];
  const server = createServer((_req, res) => {
    responses.push(res);
    arrived.shift()?.();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const open = async () => {
    const came = new Promise<void>((resolve) => arrived.push(resolve));
    const req = request({ port, host: '127.0.0.1', method: 'POST' });
    req.on('error', () => undefined);
    req.end();
    await came;
    return { req, res: responses.at(-1) as ServerResponse };
  };
  try {
    const watched = await open();
    let told = 0;
    whenClosed(watched.res, () => told++);
    watched.req.destroy();
    await new Promise((resolve) => watched.res.once('close', resolve));
    assert.equal(told, 1, 'told as the caller left');

    let late = 0;
    whenClosed(watched.res, () => late++);
    assert.equal(late, 1, 'told at once when asked after the caller had left');

    const answered = await open();
    let after = 0;
    const stop = whenClosed(answered.res, () => after++);
    answered.res.end('ok');
    await new Promise((resolve) => answered.res.once('close', resolve));
    stop();
    assert.equal(after, 0, 'an answered caller is never gone');
    answered.req.destroy();
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
