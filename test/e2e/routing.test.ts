import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 4 end to end, through a real `sluice server` and real instance processes: weighted and rule-based
// canaries over HTTP triggers and the invoke API, sticky routing, pinning, trigger auth, the HTTP event,
// explain, and repointing an alias under load without a failed request.

let server: SluiceProcess;
let api: ApiCall;
let removeDir: () => Promise<void>;

/** Reports the version that ran, as the seeds' samples do, so the body can be checked against the header. */
const VERSION_HANDLER = (n: number) =>
  `exports.handler = async (event, context) => context.service.versionId;\n// build ${n}\n`;

/** An HTTP-trigger handler: echoes its event, or answers in each of the forms the trigger understands. */
const HTTP_HANDLER = `exports.handler = async (eventBuf, context) => {
  const event = JSON.parse(eventBuf.toString('utf8'));
  switch (event.rawPath) {
    case '/created':
      return { statusCode: 201, headers: { 'x-a': 'b' }, body: 'created' };
    case '/plain':
      return 'plain text';
    case '/bad-status':
      return { statusCode: 42, body: 'nope' };
    case '/binary':
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/octet-stream' },
        body: Buffer.from([0, 1, 2, 254, 255]).toString('base64'),
        isBase64Encoded: true,
      };
    default:
      return { echo: event, versionId: context.service.versionId };
  }
};
`;

/** Creates a function and publishes versions 1 … `versions`, each with distinct code. */
async function createFunction(
  name: string,
  versions: number,
  config: Record<string, unknown> = {},
): Promise<void> {
  const created = await api('POST', '/v1/functions', {
    name,
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: (await zipOf({ 'index.js': VERSION_HANDLER(1) })).toString('base64') },
    ...config,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  for (let v = 1; v <= versions; v++) {
    if (v > 1) {
      const code = await api(
        'PUT',
        `/v1/functions/${name}/code`,
        await zipOf({ 'index.js': VERSION_HANDLER(v) }),
      );
      assert.equal(code.status, 200, JSON.stringify(code.body));
    }
    const published = await api('POST', `/v1/functions/${name}/versions`);
    assert.equal(published.status, 201, JSON.stringify(published.body));
  }
}

async function putAlias(fn: string, alias: string, spec: unknown): Promise<void> {
  const res = await api('PUT', `/v1/functions/${fn}/aliases/${alias}`, spec);
  assert.ok(res.status === 200 || res.status === 201, `${alias}: ${res.status} ${JSON.stringify(res.body)}`);
}

interface Hit {
  status: number;
  /** `x-fc-invocation-function-version`. */
  version: string | null;
  headers: Headers;
  bytes: Buffer;
  text: string;
}

interface HitOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
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
  const bytes = Buffer.from(await res.arrayBuffer());
  return {
    status: res.status,
    version: res.headers.get('x-fc-invocation-function-version'),
    headers: res.headers,
    bytes,
    text: bytes.toString('utf8'),
  };
}

/** An HTTP-trigger request: `/fn/{name}/{qualifier}{path}`. */
const trigger = (name: string, qualifier: string, path = '/any/path', options: HitOptions = {}) =>
  request(`/fn/${name}/${encodeURIComponent(qualifier)}${path}`, options);

/** An invoke-API request: `POST /v1/functions/{name}/invocations?qualifier=…`. */
const invoke = (name: string, qualifier: string, headers: Record<string, string> = {}, token = true) =>
  request(`/v1/functions/${name}/invocations?qualifier=${encodeURIComponent(qualifier)}`, {
    method: 'POST',
    body: '{}',
    headers: { 'content-type': 'application/octet-stream', ...headers },
    token,
  });

/** The version that served a successful call; the handler's own report must agree with the header. */
function served(hit: Hit): string {
  assert.equal(hit.status, 200, hit.text.slice(0, 300));
  assert.ok(hit.version, 'x-fc-invocation-function-version is set');
  assert.equal(hit.text, hit.version, 'the handler ran the version the header names');
  return hit.version;
}

function assertError(hit: Hit, status: number, code: string): void {
  assert.equal(hit.status, status, hit.text.slice(0, 300));
  const body = JSON.parse(hit.text) as { error?: { code?: string } };
  assert.equal(body.error?.code, code, hit.text.slice(0, 300));
}

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

/** Waits until `check` holds, polling; the deadline is generous, for a machine busy with other tests. */
async function until(what: string, check: () => boolean): Promise<void> {
  await waitFor(check, { timeout: 30_000, what, interval: 2 });
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  // `split` answers the version that ran; one instance takes 20 calls at once, so two instances carry the load.
  await createFunction('split', 2, { instanceConcurrency: 20 });
  await createFunction('open', 2);
  const http = await api('POST', '/v1/functions', {
    name: 'httpev',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: (await zipOf({ 'index.js': HTTP_HANDLER })).toString('base64') },
  });
  assert.equal(http.status, 201, JSON.stringify(http.body));
  const bob = { source: 'header', name: 'User', op: '=', value: 'Bob' };
  await putAlias('split', 'w30', { version: '1', canary: { version: '2', weight: 0.3 } });
  await putAlias('split', 'bob', { version: '1', canary: { version: '2', rules: [bob] } });
  await putAlias('split', 'keyed', {
    version: '1',
    canary: { version: '2', rules: [{ source: 'key', name: 'userId', op: 'in', value: ['42', '43'] }] },
  });
  await putAlias('split', 'sticky', {
    version: '1',
    canary: { version: '2', weight: 0.5, sticky: { source: 'header', name: 'X-User' } },
  });
  await putAlias('split', 'zero', { version: '1', canary: { version: '2', weight: 0 } });
  await putAlias('split', 'only1', { version: '1' });
  await putAlias('split', 'live', { version: '1' });
  await putAlias('open', 'zero', { version: '1', canary: { version: '2', weight: 0 } });
  // Warm both versions, so that the timed parts below measure routing rather than cold starts.
  assert.equal(served(await invoke('split', '1')), '1');
  assert.equal(served(await invoke('split', '2')), '2');
});

after(async () => {
  await server.stop();
  await removeDir();
});

describe('weighted canary over the HTTP trigger', () => {
  test('30 % on version 2: 2 000 requests land within 4σ of 30 %', async (t) => {
    const N = 2000;
    const started = performance.now();
    const versions = await bounded(N, 20, async () => served(await trigger('split', 'w30')));
    const seconds = (performance.now() - started) / 1000;
    const canary = versions.filter((v) => v === '2').length;
    assert.equal(canary + versions.filter((v) => v === '1').length, N, 'only versions 1 and 2 served');
    const sigma = Math.sqrt((0.3 * 0.7) / N);
    const share = canary / N;
    t.diagnostic(
      `version 2 served ${canary}/${N} = ${(share * 100).toFixed(2)} % (30 % ± ${(4 * sigma * 100).toFixed(2)}); ` +
        `${Math.round(N / seconds)} requests/s at 20 concurrent`,
    );
    assert.ok(Math.abs(share - 0.3) <= 4 * sigma, `share ${share} is within 4σ of 0.3`);
  });
});

describe('rule-based canaries', () => {
  test('header:User = Bob sends Bob to the canary and everyone else to the primary (HTTP trigger)', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ User: 'Bob' }, '2'],
      [{ user: 'Bob' }, '2'],
      [{ USER: 'Bob' }, '2'],
      [{ User: 'Alice' }, '1'],
      [{ User: 'bob' }, '1'],
      [{ 'X-User': 'Bob' }, '1'],
      [{}, '1'],
    ];
    for (const [headers, expected] of cases) {
      for (let i = 0; i < 5; i++) {
        assert.equal(
          served(await trigger('split', 'bob', '/any/path', { headers })),
          expected,
          JSON.stringify(headers),
        );
      }
    }
    // A query parameter or cookie named User is not the header.
    assert.equal(
      served(await trigger('split', 'bob', '/any/path?User=Bob', { headers: { cookie: 'User=Bob' } })),
      '1',
    );
  });

  test('key:userId in ["42","43"] through the invoke API and x-sluice-routing-key', async () => {
    const cases: [string | undefined, string][] = [
      ['{"userId":"42"}', '2'],
      ['{"userId":"43","other":"x"}', '2'],
      ['{"userId":"44"}', '1'],
      ['{"userid":"42"}', '1'],
      ['{"other":"42"}', '1'],
      ['{}', '1'],
      [undefined, '1'],
    ];
    for (const [key, expected] of cases) {
      for (let i = 0; i < 3; i++) {
        const headers: Record<string, string> = key === undefined ? {} : { 'x-sluice-routing-key': key };
        assert.equal(served(await invoke('split', 'keyed', headers)), expected, String(key));
      }
    }
    // The same routing key reaches HTTP triggers too.
    assert.equal(
      served(
        await trigger('split', 'keyed', '/x', { headers: { 'x-sluice-routing-key': '{"userId":"42"}' } }),
      ),
      '2',
    );
  });

  test('a malformed routing key is a 400 InvalidArgument', async () => {
    for (const key of ['not json', '{"userId":42}', '["42"]', '{"userId":{"id":"42"}}', 'null']) {
      const hit = await invoke('split', 'keyed', { 'x-sluice-routing-key': key });
      assertError(hit, 400, 'InvalidArgument');
      assert.equal(hit.headers.get('x-fc-error-type'), 'InvalidArgument');
    }
  });
});

describe('repointing under load', () => {
  // [the alias, the version the next request must run (undefined: either)]
  const CONFIGS: [unknown, string | undefined][] = [
    [{ version: '2' }, '2'],
    [{ version: '1' }, '1'],
    [{ version: '1', canary: { version: '2', weight: 1 } }, '2'],
    [{ version: '2', canary: { version: '1', weight: 0.5 } }, undefined],
    [{ version: '2', canary: { version: '1', weight: 1 } }, '1'],
    [{ version: '2', canary: { version: '1', weight: 0 } }, '2'],
    [{ version: '1', canary: { version: '2', weight: 0.1 } }, undefined],
  ];

  /** The version every request must run under config `k` (-1: the alias as created), or undefined if either. */
  const expectedAt = (k: number) =>
    k < 0 ? '1' : (CONFIGS[k % CONFIGS.length] as [unknown, string | undefined])[1];

  test('20 repoints while ~200 requests per second flow: no request fails; each repoint applies at once', async (t) => {
    const RATE = 200;
    const MAX_IN_FLIGHT = 100;
    interface LoadResult {
      status: number;
      version: string | null;
      body: string;
      /** The configurations that may have routed it: from the last one applied when it was sent … */
      from: number;
      /** … to the last one begun when it came back. */
      to: number;
    }
    const results: LoadResult[] = [];
    const failures: string[] = [];
    const pending = new Set<Promise<void>>();
    let applied = -1;
    let begun = -1;
    let fired = 0;
    const started = performance.now();
    const fire = () => {
      const due = Math.floor(((performance.now() - started) * RATE) / 1000);
      while (fired < due && pending.size < MAX_IN_FLIGHT) {
        fired++;
        const from = applied;
        const p: Promise<void> = trigger('split', 'live', `/load/${fired}`)
          .then(
            (hit) => {
              results.push({ status: hit.status, version: hit.version, body: hit.text, from, to: begun });
            },
            (error: unknown) => {
              failures.push(String(error));
            },
          )
          .finally(() => {
            pending.delete(p);
          });
        pending.add(p);
      }
    };
    const timer = setInterval(fire, 2);
    const completed = () => results.length + failures.length;
    try {
      for (let i = 0; i < 20; i++) {
        const [spec, expected] = CONFIGS[i % CONFIGS.length] as [unknown, string | undefined];
        begun = i;
        const res = await api('PUT', '/v1/functions/split/aliases/live', spec);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        applied = i;
        const next = served(await trigger('split', 'live', '/check'));
        if (expected)
          assert.equal(next, expected, `the request after repoint ${i + 1} (${JSON.stringify(spec)})`);
        else assert.ok(next === '1' || next === '2');
        // Let the load run on this configuration for a while before the next repoint.
        const mark = completed();
        await until('the load to go on', () => completed() >= mark + 40);
      }
    } finally {
      clearInterval(timer);
      await Promise.all(pending);
    }
    const seconds = (performance.now() - started) / 1000;
    const bad = results.filter(
      (r) => r.status !== 200 || (r.version !== '1' && r.version !== '2') || r.body !== r.version,
    );
    // A request that only one configuration can have routed, and that one sends everything to one version,
    // must have run that version.
    let checked = 0;
    const misrouted = results.filter((r) => {
      const allowed = new Set<string | undefined>();
      for (let k = r.from; k <= r.to; k++) allowed.add(expectedAt(k));
      if (allowed.has(undefined) || allowed.size !== 1) return false;
      checked++;
      return !allowed.has(r.version ?? '');
    });
    t.diagnostic(
      `${results.length} requests in ${seconds.toFixed(1)} s (${Math.round(results.length / seconds)}/s) across 20 repoints; ` +
        `${results.filter((r) => r.version === '1').length} on 1, ${results.filter((r) => r.version === '2').length} on 2; ` +
        `${checked} checked against a single all-on-one-version configuration`,
    );
    assert.deepEqual(failures, [], 'no request failed at the network level');
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} requests failed or ran an unexpected version`);
    assert.deepEqual(
      misrouted.slice(0, 5),
      [],
      `${misrouted.length} requests ran a version their alias did not name`,
    );
    assert.ok(checked >= 200, `enough requests fell within one configuration: ${checked}`);
    assert.ok(results.length >= 500, `enough load flowed: ${results.length} requests`);
    assert.ok(
      results.length / seconds >= 120,
      `the load ran near 200/s: ${(results.length / seconds).toFixed(0)}/s`,
    );
    assert.ok(results.some((r) => r.version === '1') && results.some((r) => r.version === '2'));
  });
});

describe('the HTTP event and the HTTP answer', () => {
  interface Echo {
    echo: {
      rawPath: string;
      headers: Record<string, string>;
      queryParameters: Record<string, string>;
      body: string;
      isBase64Encoded: boolean;
      requestContext: { http: { method: string; path: string }; functionName: string; qualifier: string };
    };
    versionId: string;
  }

  const echo = async (path: string, options: HitOptions): Promise<Echo['echo']> => {
    const hit = await trigger('httpev', '$LATEST', path, options);
    assert.equal(hit.status, 200, hit.text);
    assert.equal(hit.version, 'LATEST');
    return (JSON.parse(hit.text) as Echo).echo;
  };

  test('a text body: method, rawPath, headers, first of repeated query parameters, body, not base64', async () => {
    const event = await echo('/echo/deep/path?a=1&a=2&b=two', {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', 'X-Custom': 'Val' },
      body: 'hello body',
    });
    assert.equal(event.requestContext.http.method, 'PUT');
    assert.equal(event.rawPath, '/echo/deep/path');
    assert.equal(event.headers['x-custom'], 'Val');
    assert.equal(event.headers['content-type'], 'text/plain');
    assert.deepEqual(event.queryParameters, { a: '1', b: 'two' });
    assert.equal(event.body, 'hello body');
    assert.equal(event.isBase64Encoded, false);
    assert.equal(event.requestContext.functionName, 'httpev');
  });

  test('a JSON body is text; a binary body arrives base64-encoded; no path is /', async () => {
    const json = await echo('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    assert.equal(json.body, '{"a":1}');
    assert.equal(json.isBase64Encoded, false);
    const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xfe, 0x80, 10]), randomBytes(256)]);
    const binary = await echo('/echo', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(binary.isBase64Encoded, true);
    assert.deepEqual(Buffer.from(binary.body, 'base64'), bytes);
    const root = await echo('', { method: 'GET' });
    assert.equal(root.rawPath, '/');
    assert.equal(root.requestContext.http.method, 'GET');
    assert.equal(root.body, '');
  });

  test('{statusCode: 201, headers, body} is the response; a plain string is a 200 text', async () => {
    const created = await trigger('httpev', '$LATEST', '/created');
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('x-a'), 'b');
    assert.equal(created.text, 'created');
    assert.equal(created.version, 'LATEST');
    const plain = await trigger('httpev', '$LATEST', '/plain');
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(plain.text, 'plain text');
    const binary = await trigger('httpev', '$LATEST', '/binary');
    assert.equal(binary.status, 200);
    assert.deepEqual(binary.bytes, Buffer.from([0, 1, 2, 254, 255]), 'isBase64Encoded answers decoded bytes');
  });

  test('an invalid statusCode is a 502', async () => {
    const hit = await trigger('httpev', '$LATEST', '/bad-status');
    assertError(hit, 502, 'InvalidFunctionResponse');
    // The function keeps working.
    assert.equal((await trigger('httpev', '$LATEST', '/created')).status, 201);
  });
});

describe('trigger auth and pinning', () => {
  test('a trigger needs a token by default; anonymous after PUT trigger; the invoke API always needs one', async () => {
    assertError(await trigger('open', 'zero', '/x', { token: false }), 401, 'Unauthorized');
    assert.equal(served(await trigger('open', 'zero', '/x')), '1');
    const bad = await api('PUT', '/v1/functions/open/trigger', { authType: 'public' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    const open = await api('PUT', '/v1/functions/open/trigger', { authType: 'anonymous' });
    assert.equal(open.status, 200, JSON.stringify(open.body));
    assert.equal(served(await trigger('open', 'zero', '/x', { token: false })), '1');
    assert.equal(served(await trigger('open', '$LATEST', '/x', { token: false })), 'LATEST');
    assertError(await invoke('open', 'zero', {}, false), 401, 'Unauthorized');
    assert.equal(served(await invoke('open', 'zero')), '1');
    // An anonymous caller cannot pin a version.
    assertError(
      await trigger('open', 'zero', '/x', { token: false, headers: { 'x-sluice-version': '2' } }),
      403,
      'Forbidden',
    );
    // Back to token: anonymous callers are refused again.
    assert.equal((await api('PUT', '/v1/functions/open/trigger', { authType: 'token' })).status, 200);
    assertError(await trigger('open', 'zero', '/x', { token: false }), 401, 'Unauthorized');
  });

  test('x-sluice-version pins a version of the alias, even one at weight 0', async () => {
    for (let i = 0; i < 20; i++)
      assert.equal(served(await invoke('split', 'zero')), '1', 'weight 0: all on 1');
    for (let i = 0; i < 3; i++) {
      assert.equal(served(await invoke('split', 'zero', { 'x-sluice-version': '2' })), '2');
      assert.equal(served(await invoke('split', 'zero', { 'x-sluice-version': '1' })), '1');
      assert.equal(
        served(await trigger('split', 'zero', '/x', { headers: { 'x-sluice-version': '2' } })),
        '2',
      );
    }
    // Version 2 exists but is not in the alias; a version that does not exist; no version at all.
    for (const [qualifier, pin] of [
      ['only1', '2'],
      ['zero', '3'],
      ['zero', '$LATEST'],
      ['zero', 'abc'],
      ['1', '1'],
    ] as const) {
      assertError(await invoke('split', qualifier, { 'x-sluice-version': pin }), 400, 'InvalidArgument');
    }
  });
});

describe('explain', () => {
  interface Explained {
    alias: string;
    version: string;
    target: 'primary' | 'canary';
    reason: string;
    weight?: number;
    draw?: number;
    sticky?: { source: string; name: string; value: string; bucket: number };
    conditions?: { condition: Record<string, unknown>; value?: string; holds: boolean }[];
  }

  const explain = async (alias: string, body: unknown): Promise<Explained> => {
    const res = await api('POST', `/v1/functions/split/aliases/${alias}/explain`, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Explained;
  };

  test('rules: the version the real request gets, with the matching condition named', async () => {
    const bob = await explain('bob', { headers: { User: 'Bob' } });
    assert.equal(bob.version, '2');
    assert.equal(bob.target, 'canary');
    assert.equal(bob.reason, 'rules');
    assert.deepEqual(bob.conditions, [
      {
        condition: { source: 'header', name: 'User', op: '=', value: 'Bob' },
        value: 'Bob',
        from: 'header',
        holds: true,
      },
    ]);
    assert.equal(served(await trigger('split', 'bob', '/x', { headers: { User: 'Bob' } })), bob.version);
    for (const headers of [{ User: 'Alice' }, {}] as Record<string, string>[]) {
      const other = await explain('bob', { headers });
      assert.equal(other.version, '1');
      assert.equal(other.conditions?.[0]?.holds, false);
      assert.equal(served(await trigger('split', 'bob', '/x', { headers })), other.version);
    }
    const keyed = await explain('keyed', { routingKey: { userId: '42' } });
    assert.equal(keyed.version, '2');
    assert.equal(keyed.conditions?.[0]?.value, '42');
    assert.equal(
      served(await invoke('split', 'keyed', { 'x-sluice-routing-key': '{"userId":"42"}' })),
      keyed.version,
    );
    const nobody = await explain('keyed', { routingKey: { userId: '7' } });
    assert.equal(nobody.version, '1');
    assert.equal(
      served(await invoke('split', 'keyed', { 'x-sluice-routing-key': '{"userId":"7"}' })),
      nobody.version,
    );
  });

  test('sticky: the version each key really gets, with its bucket', async () => {
    const sides = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const user = `user-${i}`;
      const explained = await explain('sticky', { headers: { 'X-User': user } });
      assert.equal(explained.reason, 'weight');
      const sticky = explained.sticky ?? assert.fail('the sticky key is reported');
      assert.equal(sticky.value, user);
      const bucket = sticky.bucket;
      assert.ok(Number.isInteger(bucket) && bucket >= 0 && bucket < 10_000, `bucket ${bucket}`);
      assert.equal(explained.version, bucket < 5000 ? '2' : '1', 'the bucket decides at weight 0.5');
      for (let j = 0; j < 3; j++) {
        assert.equal(
          served(await trigger('split', 'sticky', '/x', { headers: { 'x-user': user } })),
          explained.version,
          user,
        );
      }
      sides.add(explained.version);
    }
    assert.deepEqual([...sides].sort(), ['1', '2'], 'the 20 keys fall on both sides');
  });

  test('weight: the draw and the version agree', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const explained = await explain('w30', {});
      assert.equal(explained.reason, 'weight');
      assert.equal(explained.weight, 0.3);
      const draw = explained.draw ?? assert.fail('a draw is reported');
      assert.ok(draw >= 0 && draw < 1);
      assert.equal(explained.version, draw < 0.3 ? '2' : '1');
      seen.add(explained.version);
    }
    assert.deepEqual([...seen].sort(), ['1', '2']);
    const single = await explain('only1', { headers: { User: 'Bob' } });
    assert.equal(single.version, '1');
  });

  test('a bad body is a 400; a missing alias or function a 404', async () => {
    for (const body of [
      'not json',
      [],
      'text',
      { headers: 'x' },
      { headers: { User: 1 } },
      { headers: null },
      { cookies: ['a'] },
      { routingKey: { userId: 42 } },
      { extra: {} },
    ]) {
      const res = await api(
        'POST',
        '/v1/functions/split/aliases/bob/explain',
        body === 'text' ? '"text"' : body,
      );
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.ok(
        ['InvalidArgument', 'MalformedRequest'].includes(errorCode(res) ?? ''),
        JSON.stringify(res.body),
      );
    }
    const missing = await api('POST', '/v1/functions/split/aliases/nope/explain', {});
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing), 'AliasNotFound');
    const noFunction = await api('POST', '/v1/functions/nope/aliases/bob/explain', {});
    assert.equal(noFunction.status, 404);
    assert.equal(errorCode(noFunction), 'FunctionNotFound');
  });
});
