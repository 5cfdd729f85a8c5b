import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { SEED_NODE_HANDLER, SEED_PYTHON_HANDLER, zipOf } from '../support/code.js';
import { SEED_CSHARP_HANDLER } from '../../src/contract/seed-handlers.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// Seeds 000/001, steps 1–3: the sample handlers run unchanged and report, through their context, the
// qualifier the caller named and the version that ran: LATEST; 1/1; alias1/1.
let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

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

interface Invocation {
  status: number;
  body: string;
  version: string | null;
  log: string;
}

async function invoke(name: string, qualifier?: string): Promise<Invocation> {
  const query = qualifier === undefined ? '' : `?qualifier=${encodeURIComponent(qualifier)}`;
  const res = await api(
    'POST',
    `/v1/functions/${name}/invocations${query}`,
    Buffer.from('{"hello":"sluice"}'),
    {
      'x-fc-log-type': 'Tail',
      'content-type': 'application/octet-stream',
    },
  );
  return {
    status: res.status,
    body: res.bytes.toString('utf8'),
    version: res.headers.get('x-fc-invocation-function-version'),
    log: Buffer.from(res.headers.get('x-fc-log-result') ?? '', 'base64').toString('utf8'),
  };
}

const samples = [
  {
    runtime: 'nodejs20',
    file: 'index.js',
    source: SEED_NODE_HANDLER,
    // The Node.js sample answers with the qualifier; its log has a space after the colon.
    expectBody: (qualifier: string) => qualifier,
    qualifierLine: (q: string) => `Qualifier from context: ${q}`,
    versionLine: (v: string) => `VersionId from context:  ${v}`,
  },
  {
    runtime: 'python3',
    file: 'index.py',
    source: SEED_PYTHON_HANDLER,
    expectBody: () => 'hello world',
    qualifierLine: (q: string) => `Qualifier from context:${q}`,
    versionLine: (v: string) => `VersionId from context:${v}`,
  },
  {
    runtime: 'csharp',
    handler: 'Desktop::Desktop.App::Handler',
    file: 'App.cs',
    source: SEED_CSHARP_HANDLER,
    expectBody: () => 'hello world',
    // Through the context's ILogger, whose lines end with the message.
    qualifierLine: (q: string) => `[INFO] Qualifier from context: ${q}\n`,
    versionLine: (v: string) => `[INFO] versionId from context: ${v}\n`,
  },
];

for (const sample of samples) {
  describe(`the seeds' ${sample.runtime} sample`, () => {
    const name = `sample_${sample.runtime}`;

    test('deployed as code and invoked on $LATEST: qualifier LATEST', async () => {
      const created = await api('POST', '/v1/functions', {
        name,
        runtime: sample.runtime,
        handler: sample.handler ?? 'index.handler',
        code: { zipFile: (await zipOf({ [sample.file]: sample.source })).toString('base64') },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const run = await invoke(name, '$LATEST');
      assert.equal(run.status, 200, run.body);
      assert.equal(run.body, sample.expectBody('LATEST'));
      assert.equal(run.version, 'LATEST');
      assert.ok(run.log.includes(sample.qualifierLine('LATEST')), run.log);
      assert.ok(run.log.includes(sample.versionLine('LATEST')), run.log);
      assert.match(
        run.log,
        /REPORT RequestId: \S+ Version: LATEST Duration: [\d.]+ ms Init Duration: [\d.]+ ms\n$/,
      );
    });

    test('published as version 1 and invoked by version: 1/1', async () => {
      assert.equal((await api('POST', `/v1/functions/${name}/versions`)).status, 201);
      const run = await invoke(name, '1');
      assert.equal(run.status, 200, run.body);
      assert.equal(run.body, sample.expectBody('1'));
      assert.equal(run.version, '1');
      assert.ok(run.log.includes(sample.qualifierLine('1')), run.log);
      assert.ok(run.log.includes(sample.versionLine('1')), run.log);
    });

    test('through alias alias1 → version 1: alias1/1', async () => {
      assert.equal((await api('PUT', `/v1/functions/${name}/aliases/alias1`, { version: '1' })).status, 201);
      const run = await invoke(name, 'alias1');
      assert.equal(run.status, 200, run.body);
      assert.equal(run.body, sample.expectBody('alias1'));
      assert.equal(run.version, '1');
      assert.ok(run.log.includes(sample.qualifierLine('alias1')), run.log);
      assert.ok(run.log.includes(sample.versionLine('1')), run.log);
      assert.doesNotMatch(run.log, /Init Duration/, 'version 1 was warm from the previous call');
    });

    test('with no qualifier, $DEFAULT → $LATEST runs', async () => {
      const run = await invoke(name);
      assert.equal(run.status, 200, run.body);
      assert.equal(run.version, 'LATEST');
      assert.ok(run.log.includes(sample.qualifierLine('$DEFAULT')), run.log);
    });

    test('a change to $LATEST is what the next invocation runs', async () => {
      const changed = sample.source
        .replace("return 'hello world'", "return 'changed'")
        .replace('return "hello world"', 'return "changed"')
        .replace('callback(null, qualifier)', "callback(null, 'changed')");
      const res = await api('PUT', `/v1/functions/${name}/code`, await zipOf({ [sample.file]: changed }));
      assert.equal(res.status, 200);
      assert.equal((await invoke(name, '$LATEST')).body, 'changed');
      assert.equal((await invoke(name, '1')).body, sample.expectBody('1'), 'version 1 is unchanged');
    });
  });
}

test('an unknown function, version or alias is a 404, and a bad qualifier a 400', async () => {
  for (const [path, status, code] of [
    ['/v1/functions/nope/invocations', 404, 'FunctionNotFound'],
    ['/v1/functions/sample_nodejs20/invocations?qualifier=9', 404, 'VersionNotFound'],
    ['/v1/functions/sample_nodejs20/invocations?qualifier=nope', 404, 'AliasNotFound'],
    ['/v1/functions/sample_nodejs20/invocations?qualifier=%24latest', 400, 'InvalidArgument'],
  ] as const) {
    const res = await api('POST', path, Buffer.from(''));
    assert.equal(res.status, status, path);
    assert.equal(res.headers.get('x-fc-error-type'), code, path);
  }
  const anonymous = apiClient(server.url, undefined);
  assert.equal(
    (await anonymous('POST', '/v1/functions/sample_nodejs20/invocations', Buffer.from(''))).status,
    401,
  );
});
