import assert from 'node:assert/strict';
import { errorCode, type ApiCall, type ApiResult } from './api-client.js';
import { waitFor } from './wait-for.js';

/** An invocation's answer, the log tail it carried, and how long it took. */
export type TailedResult = ApiResult & { log: string; ms: number };

export type TailInvoke = (
  fn: string,
  payload: unknown,
  options?: { qualifier?: string; headers?: Record<string, string> },
) => Promise<TailedResult>;

/** Invokes through the API asking for the log's tail (x-fc-log-type: Tail), as the runtime suites do. */
export function tailInvoker(api: ApiCall): TailInvoke {
  return async (fn, payload, options = {}) => {
    const query =
      options.qualifier === undefined ? '' : `?qualifier=${encodeURIComponent(options.qualifier)}`;
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const started = performance.now();
    const res = await api('POST', `/v1/functions/${fn}/invocations${query}`, Buffer.from(body), {
      'content-type': 'application/octet-stream',
      'x-fc-log-type': 'Tail',
      ...options.headers,
    });
    const log = Buffer.from(res.headers.get('x-fc-log-result') ?? '', 'base64').toString('utf8');
    return { ...res, log, ms: performance.now() - started };
  };
}

/**
 * A fault a handler causes on `{op}`, and the error every runtime answers it with. The handler answers
 * `{op: 'whoami'}` with `{instance}`, an id its instance draws at start.
 */
export interface Fault {
  fn: string;
  op: string;
  status: number;
  code: string;
  errorType?: string;
  message?: RegExp;
  within?: [number, number];
}

/** Checks one fault: its answer, its log, and that the function recovers (on the same instance only after a throw). */
export async function checkFault(invoke: TailInvoke, f: Fault): Promise<void> {
  const before = (await invoke(f.fn, { op: 'whoami' })).body as { instance: string };
  const res = await invoke(f.fn, { op: f.op });
  assert.equal(res.status, f.status, res.bytes.toString());
  assert.equal(errorCode(res), f.code, res.bytes.toString());
  assert.equal(res.headers.get('x-fc-error-type'), f.code);
  assert.ok(res.log.includes(`ERROR ${f.code}`), res.log);
  const { error } = res.body as { error: { message: string; details?: Record<string, unknown> } };
  if (f.message) assert.match(error.message, f.message);
  if (f.errorType) {
    const details = error.details ?? assert.fail('details are given');
    assert.equal(details.errorType, f.errorType);
    const stack = details.stackTrace;
    assert.ok(Array.isArray(stack) && stack.length > 0, 'the stack trace is given');
  }
  if (f.within) assert.ok(res.ms >= f.within[0] && res.ms <= f.within[1], `answered in ${res.ms} ms`);
  const next = await invoke(f.fn, { op: 'whoami' });
  assert.equal(next.status, 200, next.bytes.toString());
  const kept = f.code === 'UnhandledInvocationError';
  const same = (next.body as { instance: string }).instance === before.instance;
  assert.equal(same, kept, kept ? 'the same instance answers next' : 'a new instance answers next');
}

/**
 * Publishes versions 1 and 2 of `fn` and checks that an alias `live` routes it as any other function: half
 * by weight, and by a rule that sends the header User: Bob to the canary. The handler answers `whoami` and
 * `context`.
 */
export async function checkCanary(api: ApiCall, invoke: TailInvoke, fn: string): Promise<void> {
  const v1 = await api('POST', `/v1/functions/${fn}/versions`);
  assert.equal(v1.status, 201, JSON.stringify(v1.body));
  await api('PATCH', `/v1/functions/${fn}`, { description: 'the next release' });
  const v2 = await api('POST', `/v1/functions/${fn}/versions`);
  assert.equal(v2.status, 201, JSON.stringify(v2.body));
  const [one, two] = [v1, v2].map((v) => (v.body as { versionId: string }).versionId) as [string, string];
  const weighted = await api('PUT', `/v1/functions/${fn}/aliases/live`, {
    version: one,
    canary: { version: two, weight: 0.5 },
  });
  assert.equal(weighted.status, 201, JSON.stringify(weighted.body));
  const seen = new Set<string | null>();
  for (let i = 0; i < 40 && seen.size < 2; i++)
    seen.add(
      (await invoke(fn, { op: 'whoami' }, { qualifier: 'live' })).headers.get(
        'x-fc-invocation-function-version',
      ),
    );
  assert.deepEqual([...seen].sort(), [one, two].sort());
  const ruled = await api('PUT', `/v1/functions/${fn}/aliases/live`, {
    version: one,
    canary: { version: two, rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }] },
  });
  assert.equal(ruled.status, 200, JSON.stringify(ruled.body));
  for (const [user, version] of [
    ['Bob', two],
    ['Eve', one],
  ] as const) {
    const res = await invoke(fn, { op: 'context' }, { qualifier: 'live', headers: { User: user } });
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal(res.headers.get('x-fc-invocation-function-version'), version);
  }
}

/**
 * Seeds 000 and 001's walk, through the `sluice` command only: `sluice init` writes the runtime's sample, then
 * `$LATEST`, a published version 1, and `alias1` on it each answer 'hello world' from the version the seed says.
 * `logSays` checks the sample's own lines in the invocation's log (given its request id) and in `sluice invoke
 * --log`'s output (without one).
 */
export async function walkSeedRelease(
  cli: (args: string[]) => Promise<{ code: number | null; stdout: string; stderr: string }>,
  invoke: TailInvoke,
  name: string,
  runtime: string,
  logSays: (log: string, seen: string, version: string, requestId?: string) => void,
): Promise<void> {
  const init = await cli(['init', name, '--runtime', runtime]);
  assert.equal(init.code, 0, init.stderr);
  const deployed = await cli(['deploy', name]);
  assert.equal(deployed.code, 0, deployed.stderr);
  const cases: [qualifier: string, seen: string, version: string][] = [
    ['$LATEST', 'LATEST', 'LATEST'],
    ['1', '1', '1'],
    ['alias1', 'alias1', '1'],
  ];
  for (const [qualifier, seen, version] of cases) {
    if (qualifier === '1') assert.equal((await cli(['deploy', name, '--publish'])).code, 0);
    if (qualifier === 'alias1')
      assert.equal((await cli(['alias', 'create', name, 'alias1', '--version', '1'])).code, 0);
    const run = await invoke(name, '{}', { qualifier });
    assert.equal(run.status, 200, run.bytes.toString());
    assert.equal(run.bytes.toString(), 'hello world');
    assert.equal(run.headers.get('x-fc-invocation-function-version'), version);
    logSays(run.log, seen, version, run.headers.get('x-fc-request-id') ?? assert.fail('a request id'));
    assert.match(run.log, new RegExp(`REPORT RequestId: \\S+ Version: ${version} `));
    const viaCli = await cli(['invoke', name, '--qualifier', qualifier, '--log']);
    assert.equal(viaCli.stdout, 'hello world');
    assert.match(viaCli.stderr, new RegExp(`version ${version} ran`));
    logSays(viaCli.stderr, seen, version);
  }
}

/** Once a standby of `runtime` waits on the server at `url`, as its metrics say. */
export function standbyReady(server: { url: string; token: string }, runtime: string): Promise<true> {
  const ready = `sluice_standby_instances{runtime="${runtime}",network="host",state="ready"} 1`;
  return waitFor(
    async () => {
      const res = await fetch(`${server.url}/metrics`, {
        headers: { authorization: `Bearer ${server.token}` },
      });
      return (await res.text()).includes(ready);
    },
    { timeout: 30_000, what: `a standby of ${runtime}, waiting` },
  );
}
