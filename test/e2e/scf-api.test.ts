import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
// CommonJS modules whose classes are their exports: imported whole, as Node gives them.
import tencentScf from 'tencentcloud-sdk-nodejs-scf';
import signModule from 'tencentcloud-sdk-nodejs-common/tencentcloud/common/sign.js';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';

// Issue 24: seed 004's grayscale scheme scripted against Sluice with Tencent's official SCF SDK, as against SCF.

const Sign = signModule.default;
type ScfClient = InstanceType<typeof tencentScf.scf.v20180416.Client>;

interface AccessKey {
  id: string;
  secret: string;
}

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;
let deployKey: AccessKey;
let invokeKey: AccessKey;
let scf: ScfClient;

/** Function B of seed 004, in SCF's handler form: it answers the version that ran, as SCF's context says. */
const handler = (n: number) =>
  `exports.main_handler = async (event, context) => { console.log('code ${n}', JSON.stringify(event)); return context.function_version; };\n`;

async function createAccessKey(name: string, scope: string): Promise<AccessKey> {
  const res = await api('POST', '/v1/access-keys', { name, scope });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const body = res.body as { id: string; secret: string };
  return { id: body.id, secret: body.secret };
}

function client(key: AccessKey): ScfClient {
  return new tencentScf.scf.v20180416.Client({
    credential: { secretId: key.id, secretKey: key.secret },
    region: 'ap-guangzhou',
    profile: { httpProfile: { endpoint: new URL(server.url).host, protocol: 'http://' } },
  });
}

/** What the SDK raises for an error answer: SCF's code. */
async function scfError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    return (error as { code: string }).code;
  }
  assert.fail('the call succeeded');
}

interface Result {
  RetMsg: string;
  ErrMsg: string;
  InvokeResult: number;
  FunctionRequestId: string;
  FunctionVersion: string;
  Log: string;
  Duration: number;
}

async function invoke(c: ScfClient, qualifier: string, routingKey?: Record<string, string>): Promise<Result> {
  const res = await c.Invoke({
    FunctionName: 'B',
    Qualifier: qualifier,
    ClientContext: JSON.stringify({ hello: 'world' }),
    ...(routingKey && { RoutingKey: JSON.stringify(routingKey) }),
  });
  return res.Result as unknown as Result;
}

/** The versions that ran of `n` invocations of `qualifier`, four at a time. */
async function versionsOf(qualifier: string, n: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const result = await invoke(scf, qualifier);
      assert.equal(result.InvokeResult, 0, result.ErrMsg);
      assert.equal(result.RetMsg, result.FunctionVersion, 'the handler saw the version that Result names');
      counts.set(result.RetMsg, (counts.get(result.RetMsg) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return counts;
}

/** A request signed by the SDK's own signer, sent as its HTTP layer sends one. */
async function signedPost(action: string, payload: object, key: AccessKey, timestamp: number) {
  const host = new URL(server.url).host;
  const body = JSON.stringify(payload);
  const authorization = Sign.sign3({
    method: 'POST',
    url: `http://${host}/`,
    payload,
    timestamp,
    service: host.split('.')[0] ?? '',
    secretId: key.id,
    secretKey: key.secret,
    multipart: false,
    boundary: '',
    headers: { 'Content-Type': 'application/json' },
  });
  const res = await fetch(`${server.url}/`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-TC-Action': action,
      'X-TC-Version': '2018-04-16',
      'X-TC-Region': 'ap-guangzhou',
      'X-TC-Timestamp': String(timestamp),
      Authorization: authorization,
    },
    body,
  });
  return { status: res.status, body: (await res.json()) as { Response: Record<string, unknown> } };
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  deployKey = await createAccessKey('ci-deploy', 'deploy');
  invokeKey = await createAccessKey('app-invoke', 'invoke');
  scf = client(deployKey);
});

after(async () => {
  await server.stop();
  await removeDir();
});

describe("seed 004's scheme through the official SCF SDK", () => {
  test('function B, aliases release and prepub at $LATEST, versions 1 to 4 published', async () => {
    const zip = async (n: number) => (await zipOf({ 'index.js': handler(n) })).toString('base64');
    await scf.CreateFunction({
      FunctionName: 'B',
      Runtime: 'Nodejs18.15',
      Handler: 'index.main_handler',
      Code: { ZipFile: await zip(1) },
      MemorySize: 128,
      Timeout: 10,
    });
    for (const name of ['release', 'prepub'])
      await scf.CreateAlias({ FunctionName: 'B', Name: name, FunctionVersion: '$LATEST' });
    for (let n = 1; n <= 4; n++) {
      if (n > 1) await scf.UpdateFunctionCode({ FunctionName: 'B', ZipFile: await zip(n) });
      const published = await scf.PublishVersion({ FunctionName: 'B', Description: `v${n}` });
      assert.equal(published.FunctionVersion, String(n));
    }
    const fn = await scf.GetFunction({ FunctionName: 'B' });
    assert.equal(fn.Runtime, 'Nodejs18.15');
    assert.equal(fn.Handler, 'index.main_handler');
    const versions = await scf.ListVersionByFunction({ FunctionName: 'B', Limit: 2, Offset: 1 });
    assert.deepEqual(versions.FunctionVersion, ['$LATEST', '2', '3']);
    assert.equal(versions.TotalCount, 4);
    const latest = await invoke(scf, 'release');
    assert.equal(latest.RetMsg, '$LATEST');
    assert.equal(latest.FunctionVersion, '$LATEST');
    // As in SCF: Invoke without a Qualifier runs $LATEST, InvokeFunction the default alias, which follows it.
    await scf.UpdateAlias({ FunctionName: 'B', Name: '$DEFAULT', FunctionVersion: '2' });
    const plain = (await scf.Invoke({ FunctionName: 'B' })).Result as unknown as Result;
    assert.equal(plain.RetMsg, '$LATEST');
    const byDefault = (await scf.InvokeFunction({ FunctionName: 'B', Event: '{}' }))
      .Result as unknown as Result;
    assert.equal(byDefault.RetMsg, '2');
    assert.equal(byDefault.FunctionVersion, '2');
  });

  test('prepub at version 3 routes Bob to version 4 by rule: with RoutingKey User Bob, and only then', async () => {
    await scf.UpdateAlias({
      FunctionName: 'B',
      Name: 'prepub',
      FunctionVersion: '3',
      RoutingConfig: {
        AddtionVersionMatchs: [
          { Version: '4', Key: 'invoke.headers.User', Method: 'exact', Expression: 'Bob' },
        ],
      },
    });
    const alias = await scf.GetAlias({ FunctionName: 'B', Name: 'prepub' });
    assert.equal(alias.FunctionVersion, '3');
    assert.deepEqual(alias.RoutingConfig?.AddtionVersionMatchs, [
      { Version: '4', Key: 'invoke.headers.User', Method: 'exact', Expression: 'Bob' },
    ]);
    for (let i = 0; i < 20; i++) {
      assert.equal((await invoke(scf, 'prepub', { User: 'Bob' })).RetMsg, '4');
      assert.equal((await invoke(scf, 'prepub')).RetMsg, '3');
      assert.equal((await invoke(scf, 'prepub', { User: 'Alice' })).RetMsg, '3');
    }
    const tailed = await scf.Invoke({
      FunctionName: 'B',
      Qualifier: 'prepub',
      RoutingKey: '{"User":"Bob"}',
      ClientContext: '{"n":1}',
      LogType: 'Tail',
    });
    assert.match(tailed.Result?.Log ?? '', /code 4 \{"n":1\}/);
    assert.match(tailed.Result?.Log ?? '', /REPORT RequestId: \S+ Version: 4/);
  });

  test('release at version 1 sends 10 % to version 2, then 50 %, then all traffic back to 1', async () => {
    const N = 2000;
    const sigma = (p: number) => Math.sqrt(N * p * (1 - p));
    for (const weight of [0.1, 0.5]) {
      await scf.UpdateAlias({
        FunctionName: 'B',
        Name: 'release',
        FunctionVersion: '1',
        RoutingConfig: { AdditionalVersionWeights: [{ Version: '2', Weight: weight }] },
      });
      const counts = await versionsOf('release', N);
      const canary = counts.get('2') ?? 0;
      assert.equal(canary + (counts.get('1') ?? 0), N, JSON.stringify([...counts]));
      assert.ok(
        Math.abs(canary - N * weight) <= 4 * sigma(weight),
        `at ${weight}, version 2 ran ${canary} times of ${N}`,
      );
    }
    await scf.UpdateAlias({ FunctionName: 'B', Name: 'release', FunctionVersion: '1' });
    const alias = await scf.GetAlias({ FunctionName: 'B', Name: 'release' });
    assert.deepEqual(alias.RoutingConfig, { AdditionalVersionWeights: [], AddtionVersionMatchs: [] });
    assert.deepEqual([...(await versionsOf('release', 50))], [['1', 50]]);
    const history = (await api('GET', '/v1/functions/B/aliases/release/history')).body as {
      history: { actor: string }[];
    };
    assert.ok(
      history.history.every((h) => h.actor.includes(deployKey.id)),
      JSON.stringify(history.history),
    );
  });
});

describe('refused, and nothing changes', () => {
  test('a wrong secret, a stale timestamp, an unknown key, a scope too narrow', async () => {
    const before = await snapshot(api);
    const wrong = client({ id: deployKey.id, secret: `${deployKey.secret}x` });
    assert.equal(
      await scfError(wrong.UpdateAlias({ FunctionName: 'B', Name: 'release', FunctionVersion: '2' })),
      'AuthFailure.SignatureFailure',
    );
    assert.equal(
      await scfError(client({ id: 'AKIDnobody', secret: 'x' }).DeleteFunction({ FunctionName: 'B' })),
      'AuthFailure.SecretIdNotFound',
    );
    const stale = await signedPost(
      'DeleteFunction',
      { FunctionName: 'B' },
      deployKey,
      Math.floor(Date.now() / 1000) - 6 * 60,
    );
    assert.equal(stale.status, 200, 'SCF answers every error with 200');
    assert.equal((stale.body.Response.Error as { Code: string }).Code, 'AuthFailure.SignatureExpire');
    const invoker = client(invokeKey);
    assert.equal((await invoke(invoker, 'prepub', { User: 'Bob' })).RetMsg, '4', 'an invoke key invokes');
    assert.equal(
      await scfError(invoker.PublishVersion({ FunctionName: 'B' })),
      'UnauthorizedOperation',
      'and writes nothing',
    );
    assert.deepEqual(await snapshot(api), before);
  });

  test("bad parameters answer SCF's codes and store nothing", async () => {
    const before = await snapshot(api);
    const Code = {
      ZipFile: (await zipOf({ 'index.py': 'def main_handler(e, c):\n    return 1\n' })).toString('base64'),
    };
    const cases: [string, () => Promise<unknown>][] = [
      ['ResourceNotFound.Function', () => scf.GetFunction({ FunctionName: 'nobody' })],
      ['ResourceNotFound.Alias', () => scf.GetAlias({ FunctionName: 'B', Name: 'nobody' })],
      ['ResourceInUse.Function', () => scf.CreateFunction({ FunctionName: 'B', Runtime: 'Python3.9', Code })],
      [
        'InvalidParameterValue.MemorySize',
        () => scf.UpdateFunctionConfiguration({ FunctionName: 'B', MemorySize: 100 }),
      ],
      [
        'InvalidParameterValue.Runtime',
        () => scf.CreateFunction({ FunctionName: 'C', Runtime: 'Go1', Code }),
      ],
      ['UnknownParameter', () => scf.CreateFunction({ FunctionName: 'C', Code, Role: 'admin' })],
      ['MissingParameter', () => scf.GetAlias({ FunctionName: 'B' } as never)],
      [
        'InvalidParameterValue.RoutingConfig',
        () =>
          scf.UpdateAlias({
            FunctionName: 'B',
            Name: 'prepub',
            FunctionVersion: '3',
            RoutingConfig: {
              AdditionalVersionWeights: [{ Version: '2', Weight: 0.1 }],
              AddtionVersionMatchs: [
                { Version: '4', Key: 'invoke.headers.User', Method: 'exact', Expression: 'B' },
              ],
            },
          }),
      ],
      [
        'InvalidParameterValue.RoutingConfig',
        () =>
          scf.UpdateAlias({
            FunctionName: 'B',
            Name: 'prepub',
            FunctionVersion: '3',
            RoutingConfig: {
              AddtionVersionMatchs: [
                { Version: '4', Key: 'invoke.cookies.x', Method: 'exact', Expression: 'B' },
              ],
            },
          }),
      ],
      ['InvalidParameterValue.RoutingKey', () => scf.Invoke({ FunctionName: 'B', RoutingKey: 'User=Bob' })],
      ['UnsupportedOperation', () => scf.ListTriggers({ FunctionName: 'B' })],
      ['ResourceNotFound.Version', () => scf.DeleteFunctionVersion({ FunctionName: 'B', Qualifier: '9' })],
    ];
    for (const [code, call] of cases) assert.equal(await scfError(call()), code);
    const malformed = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'X-TC-Action': 'GetFunction', 'X-TC-Version': '2018-04-16' },
      body: '{',
    });
    assert.equal(malformed.status, 200);
    const error = ((await malformed.json()) as { Response: { Error: { Code: string } } }).Response.Error;
    assert.equal(error.Code, 'AuthFailure.InvalidAuthorization');
    assert.deepEqual(await snapshot(api), before);
  });

  test("a function's failure is a result with SCF's error code, not an API error", async () => {
    const failing = `exports.main_handler = async () => { throw new TypeError('boom'); };\n`;
    await scf.CreateFunction({
      FunctionName: 'F',
      Runtime: 'Python3.9',
      Handler: 'index.main_handler',
      Code: {
        ZipFile: (
          await zipOf({
            'index.py': 'def main_handler(event, context):\n    raise ValueError("boom " + event["who"])\n',
            'index.js': failing,
          })
        ).toString('base64'),
      },
    });
    const res = await scf.Invoke({ FunctionName: 'F', ClientContext: '{"who":"Bob"}' });
    const result = res.Result as unknown as Result;
    assert.equal(result.InvokeResult, 430);
    const err = JSON.parse(result.ErrMsg) as { errorMessage: string; errorType: string };
    assert.equal(err.errorMessage, 'boom Bob');
    assert.equal(err.errorType, 'ValueError');
  });
});
