import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
// CommonJS modules: imported whole, as Node gives them; the SDK's client is their `default`.
import FcSdk from '@alicloud/fc20230330';
import { $OpenApiUtil, OpenApiUtil } from '@alicloud/openapi-core';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';

const {
  default: Client,
  CreateAliasInput,
  CreateAliasRequest,
  CreateFunctionInput,
  CreateFunctionRequest,
  InputCodeLocation,
  InvokeFunctionHeaders,
  InvokeFunctionRequest,
  ListFunctionVersionsRequest,
  PublishFunctionVersionRequest,
  PublishVersionInput,
  UpdateAliasInput,
  UpdateAliasRequest,
  UpdateFunctionInput,
  UpdateFunctionRequest,
} = FcSdk;
type FcClient = InstanceType<typeof Client>;

/** Function Compute 3.0's official SDK against Sluice, with access keys of each scope. */
let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;
let deployKey: AccessKey;
let invokeKey: AccessKey;
let fc: FcClient;

interface AccessKey {
  id: string;
  secret: string;
}

const FN = 'fcfn';
/** Answers the version that ran, as the seeds' handlers read it from the context. */
const handler = (n: number) =>
  `module.exports.handler = (event, context, callback) => { console.log('code ${n}'); callback(null, context.service.versionId); };\n`;

async function createAccessKey(name: string, scope: string, functionPrefix?: string): Promise<AccessKey> {
  const res = await api('POST', '/v1/access-keys', {
    name,
    scope,
    ...(functionPrefix !== undefined && { functionPrefix }),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const body = res.body as { id: string; secret: string };
  return { id: body.id, secret: body.secret };
}

/** The SDK's client for a key, at this server; `headers` go with every request, as FC's global parameters do. */
function client(key: AccessKey, headers?: Record<string, string>): FcClient {
  return new Client(
    new $OpenApiUtil.Config({
      accessKeyId: key.id,
      accessKeySecret: key.secret,
      endpoint: new URL(server.url).host,
      protocol: 'HTTP',
      ...(headers && { globalParameters: new $OpenApiUtil.GlobalParameters({ headers }) }),
    }),
  );
}

/** What the SDK raises for an error answer: FC's code, the status, and FC's body. */
async function fcError(call: Promise<unknown>): Promise<{ code: string; statusCode: number; data: unknown }> {
  try {
    await call;
  } catch (error) {
    const e = error as { code: string; statusCode: number; data: unknown };
    return { code: e.code, statusCode: e.statusCode, data: e.data };
  }
  assert.fail('the call succeeded');
}

async function invoke(c: FcClient, qualifier: string, tail = false) {
  const res = await c.invokeFunctionWithOptions(
    FN,
    new InvokeFunctionRequest({ qualifier, body: Readable.from([Buffer.from('{}')]) }),
    new InvokeFunctionHeaders(tail ? { xFcLogType: 'Tail' } : {}),
    {} as never,
  );
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return { headers: res.headers ?? {}, body: Buffer.concat(chunks).toString('utf8'), status: res.statusCode };
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir, ['--max-code-size', '1']);
  api = apiClient(server.url, server.token);
  deployKey = await createAccessKey('ci-deploy', 'deploy');
  invokeKey = await createAccessKey('app-invoke', 'invoke');
  fc = client(deployKey);
});

after(async () => {
  await server.stop();
  await removeDir();
});

describe('the official SDK with a deploy key', () => {
  test('creates a function from a zip, publishes two versions and splits an alias 90/10 between them', async () => {
    const zip1 = await zipOf({ 'index.js': handler(1) });
    const created = await fc.createFunction(
      new CreateFunctionRequest({
        body: new CreateFunctionInput({
          functionName: FN,
          runtime: 'nodejs20',
          handler: 'index.handler',
          memorySize: 128,
          timeout: 10,
          code: new InputCodeLocation({ zipFile: zip1.toString('base64') }),
        }),
      }),
    );
    assert.equal(created.body?.functionName, FN);
    assert.equal(created.body.runtime, 'nodejs20');
    assert.equal(created.body.codeChecksum, createHash('sha256').update(zip1).digest('hex'));
    const v1 = await fc.publishFunctionVersion(
      FN,
      new PublishFunctionVersionRequest({ body: new PublishVersionInput({ description: 'first' }) }),
    );
    assert.equal(v1.body?.versionId, '1');
    const zip2 = await zipOf({ 'index.js': handler(2) });
    await fc.updateFunction(
      FN,
      new UpdateFunctionRequest({
        body: new UpdateFunctionInput({ code: new InputCodeLocation({ zipFile: zip2.toString('base64') }) }),
      }),
    );
    const v2 = await fc.publishFunctionVersion(
      FN,
      new PublishFunctionVersionRequest({ body: new PublishVersionInput({ description: 'second' }) }),
    );
    assert.equal(v2.body?.versionId, '2');

    const alias = await fc.createAlias(
      FN,
      new CreateAliasRequest({
        body: new CreateAliasInput({
          aliasName: 'live',
          versionId: '1',
          additionalVersionWeight: { '2': 0.1 },
          description: 'canary',
        }),
      }),
    );
    assert.deepEqual(alias.body?.additionalVersionWeight, { '2': 0.1 });

    const counts = new Map<string, number>();
    const N = 2000;
    let next = 0;
    const worker = async () => {
      while (next < N) {
        next++;
        const res = await invoke(fc, 'live');
        const version = res.headers['x-fc-invocation-function-version'] ?? '';
        assert.equal(res.body, version, 'the handler saw the version that the header names');
        counts.set(version, (counts.get(version) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 4 }, worker));
    const canary = counts.get('2') ?? 0;
    assert.equal(canary + (counts.get('1') ?? 0), N, JSON.stringify([...counts]));
    // Within 4σ of 10 %: σ = √(N·0.1·0.9) ≈ 13.4.
    const sigma = Math.sqrt(N * 0.1 * 0.9);
    assert.ok(Math.abs(canary - N * 0.1) <= 4 * sigma, `version 2 ran ${canary} times of ${N}`);
  });

  test('updates the alias and reads it back; the alias history names the access key', async () => {
    const updated = await fc.updateAlias(
      FN,
      'live',
      new UpdateAliasRequest({
        body: new UpdateAliasInput({ additionalVersionWeight: { '2': 0.5 }, description: 'half' }),
      }),
    );
    assert.deepEqual(updated.body?.additionalVersionWeight, { '2': 0.5 });
    const read = await fc.getAlias(FN, 'live');
    assert.equal(read.body?.versionId, '1');
    assert.equal(read.body.description, 'half');
    assert.deepEqual(read.body.additionalVersionWeight, { '2': 0.5 });
    const history = (await api('GET', `/v1/functions/${FN}/aliases/live/history`)).body as {
      history: { actor: string }[];
    };
    assert.ok(
      history.history.every((h) => h.actor.includes(deployKey.id)),
      JSON.stringify(history.history),
    );
  });

  test('lists versions a page at a time, newest first by default, or oldest first', async () => {
    const walk = async (direction?: string) => {
      const pages: string[][] = [];
      let nextToken: string | undefined;
      do {
        const res = await fc.listFunctionVersions(
          FN,
          new ListFunctionVersionsRequest({
            limit: 1,
            ...(direction && { direction }),
            ...(nextToken && { nextToken }),
          }),
        );
        pages.push((res.body?.versions ?? []).map((v) => v.versionId ?? ''));
        nextToken = res.body?.nextToken;
      } while (nextToken);
      return pages;
    };
    assert.deepEqual(await walk(), [['2'], ['1']]);
    assert.deepEqual(await walk('FORWARD'), [['1'], ['2']]);
  });

  test('answers the log tail and the version that ran', async () => {
    const res = await invoke(fc, '1', true);
    assert.equal(res.headers['x-fc-invocation-function-version'], '1');
    assert.ok(res.headers['x-fc-request-id']);
    const log = Buffer.from(res.headers['x-fc-log-result'] ?? '', 'base64').toString('utf8');
    assert.match(log, /code 1/);
  });
});

describe('refused requests raise FC errors through the SDK and change nothing', () => {
  const refusals: [string, () => Promise<unknown>, string, number][] = [
    [
      'a wrong secret',
      () => client({ ...deployKey, secret: `${deployKey.secret}x` }).deleteFunction(FN),
      'SignatureNotMatch',
      403,
    ],
    [
      'an unknown access key',
      () => client({ id: 'AKnobody', secret: 's' }).deleteFunction(FN),
      'InvalidAccessKeyID',
      403,
    ],
    [
      'an x-acs-date 20 minutes old',
      () =>
        client(deployKey, {
          'x-acs-date': new Date(Date.now() - 20 * 60_000).toISOString().replace(/\.\d+Z$/, 'Z'),
        }).deleteFunction(FN),
      'RequestTimeTooSkewed',
      403,
    ],
    ['an invoke key writing', () => client(invokeKey).deleteFunction(FN), 'AccessDenied', 403],
    [
      'an invoke key moving an alias',
      () =>
        client(invokeKey).updateAlias(
          FN,
          'live',
          new UpdateAliasRequest({ body: new UpdateAliasInput({ additionalVersionWeight: { '2': 1 } }) }),
        ),
      'AccessDenied',
      403,
    ],
    [
      'a field FC has and Sluice does not',
      () =>
        fc.createFunction(
          new CreateFunctionRequest({
            body: new CreateFunctionInput({
              functionName: 'other',
              runtime: 'nodejs20',
              handler: 'index.handler',
              diskSize: 512,
            }),
          }),
        ),
      'InvalidArgument',
      400,
    ],
    [
      'an operation Sluice lacks',
      () => fc.listLayers(new FcSdk.ListLayersRequest({})),
      'PathNotSupported',
      400,
    ],
  ];
  for (const [what, call, code, status] of refusals) {
    test(what, async () => {
      const before = await snapshot(api);
      const error = await fcError(call());
      assert.equal(error.code, code, JSON.stringify(error.data));
      assert.equal(error.statusCode, status);
      const data = error.data as { Code: string; Message: string; RequestId: string };
      assert.deepEqual(Object.keys(data).sort(), ['Code', 'Message', 'RequestId']);
      assert.deepEqual(await snapshot(api), before);
    });
  }

  test('a replayed nonce: the request ran once, its replay is refused', async () => {
    const nonce = randomUUID();
    const replaying = client(deployKey, { 'x-acs-signature-nonce': nonce });
    const request = () =>
      replaying.updateAlias(
        FN,
        'live',
        new UpdateAliasRequest({ body: new UpdateAliasInput({ description: 'once' }) }),
      );
    await request();
    const before = await snapshot(api);
    const error = await fcError(request());
    assert.equal(error.code, 'SignatureNonceUsed');
    assert.equal(error.statusCode, 403);
    assert.deepEqual(await snapshot(api), before);
  });

  test('a revoked access key is refused, and an unsigned request too', async () => {
    const key = await createAccessKey('short-lived', 'deploy');
    assert.equal(
      (await client(key).getFunction(FN, new FcSdk.GetFunctionRequest({}))).body?.functionName,
      FN,
    );
    assert.equal((await api('DELETE', `/v1/access-keys/${key.id}`)).status, 204);
    const error = await fcError(client(key).getFunction(FN, new FcSdk.GetFunctionRequest({})));
    assert.equal(error.code, 'InvalidAccessKeyID');
    const unsigned = await fetch(`${server.url}/2023-03-30/functions/${FN}`, {
      headers: { authorization: `Bearer ${server.token}` },
    });
    assert.equal(unsigned.status, 403);
    assert.equal(((await unsigned.json()) as { Code: string }).Code, 'SignatureNotMatch');
  });

  test('an invoke key invokes', async () => {
    const res = await invoke(client(invokeKey), '2');
    assert.equal(res.headers['x-fc-invocation-function-version'], '2');
  });
});

/** A request signed as the SDK signs it, with any body: for what the SDK itself would never send. */
async function signedFetch(method: string, path: string, body: Buffer, contentType = 'application/json') {
  const hash = createHash('sha256').update(body).digest('hex');
  const headers: Record<string, string> = {
    host: new URL(server.url).host,
    'x-acs-date': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    'x-acs-signature-nonce': randomUUID(),
    'x-acs-content-sha256': hash,
    'content-type': contentType,
  };
  headers.authorization = OpenApiUtil.getAuthorization(
    { pathname: path, method, query: {}, headers } as never,
    'ACS3-HMAC-SHA256',
    hash,
    deployKey.id,
    deployKey.secret,
  );
  const res = await fetch(server.url + path, { method, headers, body });
  return {
    status: res.status,
    body: (await res.json()) as { Code: string; Message: string; RequestId: string },
  };
}

describe('bad input on FC wire', () => {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const cases: [string, () => Promise<Buffer>, string, number][] = [
    ['malformed JSON', () => Promise.resolve(Buffer.from('{"functionName": "x",')), 'InvalidArgument', 400],
    [
      'an unknown field',
      () =>
        Promise.resolve(
          json({ functionName: 'x', runtime: 'nodejs20', handler: 'index.handler', colour: 'red' }),
        ),
      'InvalidArgument',
      400,
    ],
    [
      'a zip beyond the limit',
      () =>
        Promise.resolve(
          json({
            functionName: 'x',
            runtime: 'nodejs20',
            handler: 'index.handler',
            code: { zipFile: Buffer.alloc(2 * 1024 * 1024, 7).toString('base64') },
          }),
        ),
      'EntityTooLarge',
      400,
    ],
  ];
  for (const [what, body, code, status] of cases) {
    test(what, async () => {
      const before = await snapshot(api);
      const res = await signedFetch('POST', '/2023-03-30/functions', await body());
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.body.Code, code);
      assert.ok(res.body.RequestId);
      assert.deepEqual(await snapshot(api), before);
    });
  }

  test('a body changed after signing is refused', async () => {
    const before = await snapshot(api);
    const res = await fetch(`${server.url}/2023-03-30/functions`, {
      method: 'POST',
      headers: {
        ...(await signedHeaders()),
      },
      body: '{"functionName":"y","runtime":"nodejs20","handler":"index.handler"}',
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { Code: string }).Code, 'SignatureNotMatch');
    assert.deepEqual(await snapshot(api), before);
  });
});

/** Headers signed for an empty body. */
async function signedHeaders(): Promise<Record<string, string>> {
  const hash = createHash('sha256').update('').digest('hex');
  const headers: Record<string, string> = {
    host: new URL(server.url).host,
    'x-acs-date': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    'x-acs-signature-nonce': randomUUID(),
    'x-acs-content-sha256': hash,
    'content-type': 'application/json',
  };
  headers.authorization = OpenApiUtil.getAuthorization(
    { pathname: '/2023-03-30/functions', method: 'POST', query: {}, headers } as never,
    'ACS3-HMAC-SHA256',
    hash,
    deployKey.id,
    deployKey.secret,
  );
  return Promise.resolve(headers);
}
