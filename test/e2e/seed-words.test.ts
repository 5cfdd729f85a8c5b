import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { runSluice, type CliRun } from '../support/cli.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { snapshot } from '../support/state.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

// Issue 20: the seeds' words, exactly, through a real server, real instances and the real `sluice` command.
// Seed 004's `invoke.headers.User exact Bob` met by the invoke API's RoutingKey; Function Compute's `LATEST`;
// `scf deploy --inputs.traffic=0.1`; both version headers; `/fn/{name}` serving $DEFAULT.

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;
let dataDir: string;
let work: string;

/** Answers `versionId|qualifier` from its context, as the seeds' samples read them; a `boom` makes it throw. */
const HANDLER = (build: string) => `exports.handler = async (event, context) => {
  if (String(event).includes('boom')) throw new Error('boom');
  return context.service.versionId + '|' + context.service.qualifier;
};
// build ${build}
`;

function sluice(...args: string[]): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
  delete env.SLUICE_TOKEN_FILE;
  return runSluice(args, work, env);
}

async function ok(...args: string[]): Promise<string> {
  const run = await sluice(...args);
  assert.equal(run.code, 0, `sluice ${args.join(' ')} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

interface Hit {
  status: number;
  /** `x-fc-invocation-function-version`, which must agree with `x-fc-invocation-service-version`. */
  version: string | null;
  /** What the handler's context said: `versionId|qualifier`. */
  text: string;
  body: unknown;
  requestId: string | null;
}

async function request(
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string> } = {},
) {
  const res = await fetch(server.url + path, {
    ...init,
    headers: { authorization: `Bearer ${server.token}`, ...init.headers },
  });
  const text = await res.text();
  const version = res.headers.get('x-fc-invocation-function-version');
  assert.equal(res.headers.get('x-fc-invocation-service-version'), version, `both version headers: ${path}`);
  let body: unknown;
  if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return {
    status: res.status,
    version,
    text,
    body,
    requestId: res.headers.get('x-fc-request-id'),
  } satisfies Hit;
}

/** `POST /v1/functions/{fn}/invocations?{query}`. */
const invoke = (fn: string, query = '', headers: Record<string, string> = {}, payload = '{}') =>
  request(`/v1/functions/${fn}/invocations${query ? `?${query}` : ''}`, {
    method: 'POST',
    body: payload,
    headers: { 'content-type': 'application/octet-stream', ...headers },
  });

/** The version that served a successful call, checked against what the handler itself saw. */
function served(hit: Hit, qualifier?: string): string {
  assert.equal(hit.status, 200, hit.text.slice(0, 300));
  assert.ok(hit.version !== null, 'the version header is sent');
  const [versionId, seen] = hit.text.split('|');
  assert.equal(versionId, hit.version, 'the handler ran the version the headers name');
  if (qualifier !== undefined) assert.equal(seen, qualifier, 'the qualifier in the context');
  return hit.version;
}

const routingKey = (key: Record<string, string>) => `routingKey=${encodeURIComponent(JSON.stringify(key))}`;

async function putAlias(fn: string, alias: string, spec: unknown): Promise<void> {
  const res = await api('PUT', `/v1/functions/${fn}/aliases/${alias}`, spec);
  assert.ok(res.status === 200 || res.status === 201, `${alias}: ${res.status} ${JSON.stringify(res.body)}`);
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  dataDir = dir.dataDir;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  work = await mkdtemp(join(tmpdir(), 'sluice-seed-words-'));
  // Seed 004: function B, aliases release and prepub at $LATEST, versions 1–4 published in sequence.
  const created = await api('POST', '/v1/functions', {
    name: 'B',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: (await zipOf({ 'index.js': HANDLER('0') })).toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await putAlias('B', 'release', { version: '$LATEST' });
  await putAlias('B', 'prepub', { version: '$LATEST' });
  for (let n = 1; n <= 4; n++) {
    assert.equal(
      (await api('PUT', '/v1/functions/B/code', await zipOf({ 'index.js': HANDLER(String(n)) }))).status,
      200,
    );
    assert.equal((await api('POST', '/v1/functions/B/versions')).status, 201);
  }
  assert.equal(
    (await api('PUT', '/v1/functions/B/code', await zipOf({ 'index.js': HANDLER('next') }))).status,
    200,
  );
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

describe("seed 004: `invoke.headers.User exact Bob` meets the invoke API's RoutingKey", () => {
  before(async () => {
    // The seed's words, typed into the CLI: prepub → 3, Bob → 4.
    await ok(
      'alias',
      'update',
      'B',
      'prepub',
      '--version',
      '3',
      '--canary',
      '4',
      '--rule',
      'invoke.headers.User exact Bob',
    );
  });

  test('RoutingKey {"User":"Bob"} gets version 4, {"User":"Alice"} and none get version 3: header or query', async () => {
    const cases: [key: Record<string, string> | undefined, version: string][] = [
      [{ User: 'Bob' }, '4'],
      [{ user: 'Bob' }, '4'],
      [{ User: 'Alice' }, '3'],
      [{ Region: 'eu' }, '3'],
      [undefined, '3'],
    ];
    for (const [key, version] of cases) {
      const what = JSON.stringify(key ?? null);
      const headers: Record<string, string> = key ? { 'x-sluice-routing-key': JSON.stringify(key) } : {};
      assert.equal(
        served(await invoke('B', 'qualifier=prepub', headers), 'prepub'),
        version,
        `header ${what}`,
      );
      const query = key ? `qualifier=prepub&${routingKey(key)}` : 'qualifier=prepub';
      assert.equal(served(await invoke('B', query), 'prepub'), version, `query ${what}`);
    }
  });

  test('a header the request carries wins over the routing key', async () => {
    const alice = await invoke('B', `qualifier=prepub&${routingKey({ User: 'Bob' })}`, { User: 'Alice' });
    assert.equal(served(alice), '3');
    const bob = await invoke('B', `qualifier=prepub&${routingKey({ User: 'Alice' })}`, { User: 'Bob' });
    assert.equal(served(bob), '4');
  });

  test('explain says the value came from the routing key, or from the header', async () => {
    const explain = async (body: unknown) => {
      const res = await api('POST', '/v1/functions/B/aliases/prepub/explain', body);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { version: string; target: string; conditions: Record<string, unknown>[] };
    };
    const rule = { source: 'header', name: 'User', op: '=', value: 'Bob' };
    const bob = await explain({ routingKey: { User: 'Bob' } });
    assert.equal(bob.version, '4');
    assert.equal(bob.target, 'canary');
    assert.deepEqual(bob.conditions, [{ condition: rule, value: 'Bob', from: 'routingKey', holds: true }]);
    const alice = await explain({ routingKey: { User: 'Alice' } });
    assert.equal(alice.version, '3');
    assert.deepEqual(alice.conditions, [
      { condition: rule, value: 'Alice', from: 'routingKey', holds: false },
    ]);
    const header = await explain({ headers: { User: 'Alice' }, routingKey: { User: 'Bob' } });
    assert.equal(header.version, '3');
    assert.deepEqual(header.conditions, [{ condition: rule, value: 'Alice', from: 'header', holds: false }]);
    const nobody = await explain({});
    assert.deepEqual(nobody.conditions, [{ condition: rule, holds: false }]);
  });

  test('the CLI: invoke --routing-key and explain --routing-key agree with the API', async () => {
    const invoked = async (key: string) =>
      (
        JSON.parse(await ok('invoke', 'B', '--qualifier', 'prepub', '--routing-key', key, '--json')) as {
          version: string;
        }
      ).version;
    assert.equal(await invoked('{"User":"Bob"}'), '4');
    assert.equal(await invoked('{"User":"Alice"}'), '3');
    const explained = JSON.parse(
      await ok('explain', 'B', 'prepub', '--routing-key', '{"User":"Bob"}', '--json'),
    ) as {
      version: string;
    };
    assert.equal(explained.version, '4');
    assert.match(
      await ok('explain', 'B', 'prepub', '--routing-key', '{"User":"Bob"}'),
      /→ version 4, the canary[\s\S]*holds +header:User = Bob +\(User is "Bob" in the routing key, for want of the header\)/,
    );
    assert.match(await ok('explain', 'B', 'prepub', '--key', 'User=Alice'), /→ version 3, the primary/);
  });

  test('HTTP triggers and stages read x-sluice-routing-key the same way', async () => {
    const headers = { 'x-sluice-routing-key': '{"User":"Bob"}' };
    assert.equal(served(await request('/fn/B/prepub/x', { headers })), '4');
    await ok('api', 'create', 'A', '--route', 'ANY /{proxy+}');
    await ok('api', 'stage', 'set', 'A', 'prepub', '--function', 'B', '--qualifier', 'prepub');
    assert.equal(served(await request('/gw/A/prepub/x', { headers })), '4');
    assert.equal(served(await request('/gw/A/prepub/x')), '3');
  });

  test('a malformed routing key is a 400 InvalidArgument naming where it was, and runs nothing', async () => {
    const bad: [query: string, headers: Record<string, string>, path: string][] = [
      [`qualifier=prepub&routingKey=${encodeURIComponent('{"User":')}`, {}, 'routingKey'],
      [`qualifier=prepub&routingKey=${encodeURIComponent('["Bob"]')}`, {}, 'routingKey'],
      [`qualifier=prepub&routingKey=${encodeURIComponent('{"User":7}')}`, {}, 'routingKey.User'],
      [`qualifier=prepub&${routingKey({ User: 'Bob', user: 'Eve' })}`, {}, 'routingKey.user'],
      [`qualifier=prepub&${routingKey({ User: 'Bob' })}&${routingKey({ User: 'Bob' })}`, {}, 'routingKey'],
      [
        `qualifier=prepub&${routingKey({ User: 'Bob' })}`,
        { 'x-sluice-routing-key': '{"User":"Bob"}' },
        'routingKey',
      ],
      ['qualifier=prepub', { 'x-sluice-routing-key': 'User=Bob' }, 'x-sluice-routing-key'],
    ];
    for (const [query, headers, path] of bad) {
      const hit = await invoke('B', query, headers);
      assert.equal(hit.status, 400, `${query} ${JSON.stringify(headers)}: ${hit.text}`);
      const error = (hit.body as { error: { code: string; details: { path: string }[] } }).error;
      assert.equal(error.code, 'InvalidArgument');
      assert.deepEqual(
        error.details.map((d) => d.path),
        [path],
        hit.text,
      );
      assert.equal(hit.version, null, 'no version ran');
    }
    const explained = await api('POST', '/v1/functions/B/aliases/prepub/explain', {
      routingKey: { User: 'Bob', USER: 'Eve' },
    });
    assert.equal(explained.status, 400);
    assert.equal(errorCode(explained), 'InvalidArgument');
  });
});

describe('LATEST is $LATEST', () => {
  test('qualifier=LATEST runs $LATEST on the invoke API, an HTTP trigger, a stage, explain and the CLI', async () => {
    assert.equal(served(await invoke('B', 'qualifier=LATEST'), 'LATEST'), 'LATEST');
    assert.equal(served(await invoke('B', 'qualifier=%24LATEST'), 'LATEST'), 'LATEST');
    assert.equal(served(await request('/fn/B/LATEST/')), 'LATEST');
    assert.equal(served(await request('/fn/B/LATEST/some/path')), 'LATEST');
    const stage = await api('PUT', '/v1/apis/A/stages/dev', { function: 'B', qualifier: 'LATEST' });
    assert.equal(stage.status, 201, JSON.stringify(stage.body));
    assert.equal((stage.body as { qualifier: string }).qualifier, '$LATEST', 'stored as $LATEST');
    assert.equal(served(await request('/gw/A/dev/x')), 'LATEST');
    const explained = await api('POST', '/v1/functions/B/aliases/LATEST/explain', {});
    assert.equal(explained.status, 200, JSON.stringify(explained.body));
    assert.deepEqual(explained.body, {
      alias: null,
      revision: null,
      version: '$LATEST',
      target: 'primary',
      reason: 'named',
    });
    assert.match(await ok('explain', 'B', 'LATEST'), /B:LATEST → \$LATEST: named directly/);
    const cli = JSON.parse(await ok('invoke', 'B', '--qualifier', 'LATEST', '--json')) as {
      version: string;
      result: string;
    };
    assert.equal(cli.version, 'LATEST');
    assert.equal(cli.result, 'LATEST|LATEST');
    const code = await api('GET', '/v1/functions/B/code?qualifier=LATEST');
    assert.equal(code.status, 200);
    await putAlias('B', 'onlatest', { version: 'LATEST', canary: { version: '4', weight: 0 } });
    const alias = await api('GET', '/v1/functions/B/aliases/onlatest');
    assert.equal((alias.body as { version: string }).version, '$LATEST', 'an alias at LATEST is at $LATEST');
  });

  test('the logs of $LATEST are found by qualifier and by version, written either way', async () => {
    const hit = await invoke('B', 'qualifier=LATEST');
    assert.equal(served(hit, 'LATEST'), 'LATEST');
    const found = async (query: string) => {
      const logs = await api('GET', `/v1/functions/B/logs?requestId=${hit.requestId}&${query}`);
      assert.equal(logs.status, 200, JSON.stringify(logs.body));
      return (logs.body as { logs: unknown[] }).logs.length;
    };
    // Logs are stored a flush later (0.2 s); the deadline only bounds a failure on a loaded machine.
    const deadline = Date.now() + 10_000;
    while ((await found('')) === 0) {
      assert.ok(Date.now() < deadline, 'the invocation was logged');
      await delay(50);
    }
    for (const query of ['qualifier=LATEST', 'qualifier=%24LATEST', 'version=LATEST', 'version=%24LATEST']) {
      assert.equal(await found(query), 1, query);
    }
    const bad = await api('GET', '/v1/functions/B/logs?qualifier=latest');
    assert.equal(bad.status, 400, 'latest in another case names nothing here either');
  });

  test('latest in another case names nothing: a clear 400, not another alias', async () => {
    for (const qualifier of ['latest', 'Latest']) {
      const hit = await invoke('B', `qualifier=${qualifier}`);
      assert.equal(hit.status, 400, hit.text);
      assert.match(hit.text, /write LATEST or \$LATEST/);
    }
  });

  test('an alias named latest from before LATEST meant $LATEST can be read, and deleted, not written', async () => {
    // Made as an older Sluice could: straight into the store, whose names the API checks, not the store.
    const store = SqliteStore.open(dataDir);
    try {
      await store.putAlias(
        'B',
        'latest',
        { version: 1, description: 'old' },
        { actor: 'old', now: new Date().toISOString() },
      );
    } finally {
      await store.close();
    }
    const read = await api('GET', '/v1/functions/B/aliases/latest');
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal((await api('GET', '/v1/functions/B/aliases/latest/history')).status, 200);
    const write = await api('PUT', '/v1/functions/B/aliases/latest', { version: '2' });
    assert.equal(write.status, 400, 'not written to');
    assert.equal((await api('DELETE', '/v1/functions/B/aliases/latest')).status, 204);
    assert.equal(errorCode(await api('GET', '/v1/functions/B/aliases/latest')), 'AliasNotFound');
  });

  test('an alias named LATEST, latest or Latest is refused, and nothing changes', async () => {
    const before = await snapshot(api);
    for (const name of ['LATEST', 'latest', 'Latest']) {
      const res = await api('PUT', `/v1/functions/B/aliases/${name}`, { version: '1' });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'InvalidArgument');
      assert.match(JSON.stringify(res.body), /reserved/);
      const cli = await sluice('alias', 'create', 'B', name, '--version', '1');
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stderr, /InvalidArgument: alias name "(LATEST|latest|Latest)" is reserved/);
    }
    const deploy = await sluice('deploy', join(work, 'nowhere'), '--alias', 'latest', '--traffic', '0.1');
    assert.equal(deploy.code, 2, deploy.stderr);
    assert.match(deploy.stderr, /--alias: alias name "latest" is reserved/);
    assert.deepEqual(await snapshot(api), before);
  });
});

describe('the version headers and the unqualified HTTP trigger', () => {
  test('/fn/B and /fn/B/ serve $DEFAULT, as an unqualified invoke does', async () => {
    await putAlias('B', '$DEFAULT', { version: '2' });
    assert.equal(served(await invoke('B'), '$DEFAULT'), '2');
    assert.equal(served(await request('/fn/B'), '$DEFAULT'), '2');
    assert.equal(served(await request('/fn/B/', { method: 'POST', body: 'x' }), '$DEFAULT'), '2');
    assert.equal(served(await request('/fn/B/2/'), '2'), '2');
    await putAlias('B', '$DEFAULT', { version: '$LATEST' });
    assert.equal(served(await request('/fn/B')), 'LATEST');
  });

  test("both headers on a handler's failure too, on every entry point", async () => {
    for (const path of ['/v1/functions/B/invocations?qualifier=1', '/fn/B/1/', '/gw/A/dev/x']) {
      const hit = await request(path, { method: 'POST', body: 'boom' });
      assert.equal(hit.status, 502, hit.text);
      assert.ok(hit.version === '1' || hit.version === 'LATEST', `${path}: ${hit.version}`);
    }
  });
});

describe('scf deploy --inputs.traffic=0.1, as typed', () => {
  let dir: string;

  /** `count` unqualified invocations, 20 at a time; answers how many ran $LATEST. */
  async function latestShare(count: number): Promise<number> {
    let latest = 0;
    let next = 0;
    const worker = async () => {
      while (next < count) {
        next++;
        const version = served(await invoke('express', '', {}), '$DEFAULT');
        assert.ok(version === 'LATEST' || version === '1', version);
        if (version === 'LATEST') latest++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    return latest;
  }

  test('a function with no version yet is refused, and neither created nor changed', async () => {
    dir = join(work, 'express');
    await ok('init', dir, '--runtime', 'nodejs20');
    await writeFile(join(dir, 'index.js'), HANDLER('v1'));
    await appendFile(join(dir, 'sluice.yaml'), 'instanceConcurrency: 20\n');
    const before = await snapshot(api);
    const refused = await sluice('deploy', dir, '--inputs.traffic=0.1');
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /function express does not exist yet, so \$DEFAULT has none to keep beside \$LATEST/,
    );
    assert.deepEqual(await snapshot(api), before);
    await ok('deploy', dir);
    const created = await snapshot(api);
    const again = await sluice('deploy', dir, '--traffic', '10%');
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /function express has no published version yet/);
    assert.deepEqual(await snapshot(api), created);
  });

  test('bad traffic is a usage error that changes nothing', async () => {
    await ok('deploy', dir, '--publish');
    await appendFile(join(dir, 'index.js'), '// the next release\n');
    const before = await snapshot(api);
    for (const args of [
      ['--inputs.traffic=1.5'],
      ['--traffic', '-0.1'],
      ['--inputs.traffic=abc'],
      ['--traffic', '0.00001'],
      ['--traffic', '0.1', '--inputs.traffic=0.2'],
      ['--inputs.traffic=0.1', '--publish'],
      ['--rollout'],
    ]) {
      const run = await sluice('deploy', dir, ...args);
      assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    }
    assert.deepEqual(await snapshot(api), before);
  });

  test('$DEFAULT: 90 % on the newest version, 10 % on $LATEST, nothing published; 2 000 calls within 4σ', async () => {
    const out = await ok('deploy', dir, '--inputs.traffic=0.1');
    assert.match(out, /uploaded .* to express \$LATEST/);
    assert.match(out, /alias express\/\$DEFAULT: 1 90% · \$LATEST 10%/);
    const alias = (await api('GET', '/v1/functions/express/aliases/$DEFAULT')).body as Record<
      string,
      unknown
    >;
    assert.equal(alias.version, '1');
    assert.deepEqual(alias.canary, { version: '$LATEST', weight: 0.1 });
    const versions = (await api('GET', '/v1/functions/express/versions')).body as { versions: unknown[] };
    assert.equal(versions.versions.length, 1, 'nothing new is published');
    const n = 2000;
    const latest = await latestShare(n);
    const sigma = Math.sqrt((0.1 * 0.9) / n);
    assert.ok(
      Math.abs(latest / n - 0.1) <= 4 * sigma,
      `$LATEST ran ${latest} of ${n}, expected 10 % ± ${(400 * sigma).toFixed(2)} %`,
    );
    const same = await ok('deploy', dir, '--traffic', '0.1');
    assert.match(same, /alias unchanged: express\/\$DEFAULT/);
  });

  test('--traffic 1 points $DEFAULT at $LATEST', async () => {
    const out = await ok('deploy', dir, '--traffic', '1');
    assert.match(out, /alias express\/\$DEFAULT: \$LATEST 100%/);
    const alias = (await api('GET', '/v1/functions/express/aliases/$DEFAULT')).body as Record<
      string,
      unknown
    >;
    assert.equal(alias.version, '$LATEST');
    assert.equal(alias.canary, undefined);
    for (let i = 0; i < 5; i++) assert.equal(served(await invoke('express')), 'LATEST');
  });
});

describe("the handler's context, whole, in every runtime (the README's table)", () => {
  const NODE = `exports.handler = async (event, context) => {
  const { function: f, service: s } = context;
  return JSON.stringify({
    requestId: context.requestId, credentials: context.credentials,
    function: [f.name, f.handler, f.memory, f.memorySize, f.timeout],
    service: [s.name, s.qualifier, s.versionId], region: context.region, accountId: context.accountId,
    remaining: context.getRemainingTimeInMillis(), keys: Object.keys(context).sort(),
  });
};
`;
  const PYTHON = `import json

def handler(event, context):
    f, s = context.function, context.service
    return json.dumps({
        'requestId': context.request_id, 'credentials': vars(context.credentials),
        'function': [f.name, f.handler, f.memory, f.memory_size, f.timeout],
        'service': [s.name, s.qualifier, s.version_id], 'region': context.region, 'accountId': context.account_id,
        'remaining': context.get_remaining_time_in_millis(),
        'keys': sorted(k for k in vars(context) if not k.startswith('_')),
    })
`;
  const runtimes = [
    [
      'nodejs20',
      'index.js',
      NODE,
      ['accountId', 'credentials', 'function', 'getRemainingTimeInMillis', 'region', 'requestId', 'service'],
    ],
    [
      'python3',
      'index.py',
      PYTHON,
      ['account_id', 'credentials', 'function', 'region', 'request_id', 'service'],
    ],
  ] as const;

  for (const [runtime, file, source, keys] of runtimes) {
    test(runtime, async () => {
      const name = `ctx_${runtime}`;
      const created = await api('POST', '/v1/functions', {
        name,
        runtime,
        handler: 'index.handler',
        memorySize: 256,
        timeout: 5,
        code: { zipFile: (await zipOf({ [file]: source })).toString('base64') },
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      assert.equal((await api('POST', `/v1/functions/${name}/versions`)).status, 201);
      for (const [qualifier, shown, version] of [
        ['LATEST', 'LATEST', 'LATEST'],
        ['1', '1', '1'],
        ['', '$DEFAULT', 'LATEST'],
      ] as const) {
        const res = await fetch(
          `${server.url}/v1/functions/${name}/invocations${qualifier ? `?qualifier=${qualifier}` : ''}`,
          { method: 'POST', headers: { authorization: `Bearer ${server.token}` }, body: '{}' },
        );
        const context = JSON.parse(await res.text()) as Record<string, unknown>;
        assert.equal(res.status, 200, JSON.stringify(context));
        assert.equal(context.requestId, res.headers.get('x-fc-request-id'));
        assert.deepEqual(context.credentials, {});
        assert.deepEqual(context.function, [name, 'index.handler', 256, 256, 5]);
        assert.deepEqual(context.service, [name, shown, version]);
        assert.equal(context.region, 'local');
        assert.equal(context.accountId, 'sluice');
        const remaining = context.remaining as number;
        assert.ok(remaining > 3000 && remaining <= 5000, `remaining ${remaining} ms of 5 s`);
        assert.deepEqual(context.keys, keys, 'nothing more, nothing less than the README says');
      }
    });
  }
});
