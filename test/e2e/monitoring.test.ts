import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inspect, isDeepStrictEqual } from 'node:util';
import { after, before, test } from 'node:test';
import parsePrometheus from 'parse-prometheus-text-format';
import type { MetricRow } from '../../src/core/telemetry.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 7 end to end, through a real `sluice server` and real instance processes: a canary at 20 % whose
// version 2 fails one call in four, watched through the metrics API, /metrics and the logs (stored and
// followed live), every number compared with what this test counted itself; timeouts and throttles; and all
// of it again after a restart on the same data directory.

const N = 1000;
const CONCURRENCY = 8;
const WEIGHT = 0.2;

/** Logs its call number and fails, in version 2, on every call whose number is a multiple of 4. */
const CANARY_HANDLER = (version: number) => `exports.handler = async (event, context) => {
  const { n, marker } = JSON.parse(event.toString('utf8'));
  console.log('call #' + n + '# on version ' + context.service.versionId + (marker ? ' ' + marker : ''));
  if (${version} === 2 && n % 4 === 0) throw new Error('version 2 fails call #' + n + '#');
  return { n, version: context.service.versionId };
};
`;

/** Succeeds, fails, or sleeps past the function's timeout, as the payload says. */
const MIXED_HANDLER = `exports.handler = async (event) => {
  const { op } = JSON.parse(event.toString('utf8'));
  if (op === 'throw') throw new Error('asked to fail');
  if (op === 'sleep') await new Promise((resolve) => setTimeout(resolve, 3000));
  return op;
};
`;

type Outcome = 'success' | 'functionError' | 'platformError' | 'throttled';

/** How the test itself classifies an answer: by status and `x-fc-error-type`, without the server's help. */
function outcomeOf(status: number, errorType: string | null): Outcome {
  if (status === 200 && errorType === null) return 'success';
  const known: Record<string, [number, Outcome]> = {
    UnhandledInvocationError: [502, 'functionError'],
    FunctionTimeout: [504, 'platformError'],
    TooManyRequests: [429, 'throttled'],
  };
  const entry = known[errorType ?? ''];
  assert.ok(entry, `an unexpected answer: ${status} ${errorType}`);
  assert.equal(status, entry[0], `${errorType} answers ${entry[0]}`);
  return entry[1];
}

interface Tally {
  invocations: number;
  functionErrors: number;
  platformErrors: number;
  throttles: number;
}

const emptyTally = (): Tally => ({ invocations: 0, functionErrors: 0, platformErrors: 0, throttles: 0 });

/** What the test saw, per version and qualifier. */
class Counts {
  private readonly bySeries = new Map<string, Tally>();

  add(version: string, qualifier: string, outcome: Outcome): void {
    const key = `${version}\u0000${qualifier}`;
    const tally = this.bySeries.get(key) ?? emptyTally();
    this.bySeries.set(key, tally);
    tally.invocations++;
    if (outcome === 'functionError') tally.functionErrors++;
    if (outcome === 'platformError') tally.platformErrors++;
    if (outcome === 'throttled') tally.throttles++;
  }

  /** The tally of the series matching `version` and `qualifier` (either may be left open), added up. */
  of(version?: string, qualifier?: string): Tally {
    const sum = emptyTally();
    for (const [key, t] of this.bySeries) {
      const [v, q] = key.split('\u0000');
      if ((version === undefined || v === version) && (qualifier === undefined || q === qualifier)) {
        sum.invocations += t.invocations;
        sum.functionErrors += t.functionErrors;
        sum.platformErrors += t.platformErrors;
        sum.throttles += t.throttles;
      }
    }
    return sum;
  }

  series(): { version: string; qualifier: string; tally: Tally }[] {
    return [...this.bySeries].map(([key, tally]) => {
      const [version = '', qualifier = ''] = key.split('\u0000');
      return { version, qualifier, tally };
    });
  }
}

interface Summary extends Tally {
  coldStarts: number;
  errorRate: number;
  averageMs: number | null;
  p50Ms: number | null;
  p90Ms: number | null;
  p99Ms: number | null;
}

interface MetricsBody {
  functionName: string;
  step: number;
  by: 'version' | 'qualifier';
  totals: Summary;
  series: { version?: string; qualifier?: string; share: number; totals: Summary; points: Summary[] }[];
}

interface LogView {
  id: number;
  at: string;
  functionName: string;
  qualifier: string | null;
  versionId: string;
  requestId: string | null;
  durationMs: number | null;
  initDurationMs: number | null;
  outcome: string;
  errorCode: string | null;
  text: string;
}

const tallyOf = (s: Tally): Tally => ({
  invocations: s.invocations,
  functionErrors: s.functionErrors,
  platformErrors: s.platformErrors,
  throttles: s.throttles,
});

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

/**
 * Reads until `done` holds, polling, and says how long that took; fails with the last value read once the
 * deadline passes. The deadline is generous, for a machine busy with other tests: where how soon matters, the
 * caller checks the time it returns.
 */
async function eventually<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await waitFor(
    async () => {
      const value = await read();
      assert.ok(done(value), inspect(value, { depth: 5 }).slice(0, 1500));
      return { value };
    },
    { timeout: 30_000, what, interval: 50 },
  );
  return { value: value.value, ms: performance.now() - started };
}

interface Invoked {
  status: number;
  version: string;
  requestId: string;
  outcome: Outcome;
  /** performance.now() when the whole answer had arrived. */
  at: number;
}

function invoker(server: () => SluiceProcess) {
  return async (fn: string, qualifier: string, payload: unknown): Promise<Invoked> => {
    const { url, token } = server();
    const res = await fetch(
      `${url}/v1/functions/${fn}/invocations?qualifier=${encodeURIComponent(qualifier)}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        body: JSON.stringify(payload),
      },
    );
    await res.arrayBuffer();
    const version = res.headers.get('x-fc-invocation-function-version');
    const requestId = res.headers.get('x-fc-request-id');
    assert.ok(version, 'the answer names the version');
    assert.ok(requestId, 'the answer names the request');
    return {
      status: res.status,
      version,
      requestId,
      outcome: outcomeOf(res.status, res.headers.get('x-fc-error-type')),
      at: performance.now(),
    };
  };
}

/** `sluice_*_total` of each series of a function in a /metrics exposition, read with the parser. */
function prometheusCounters(text: string, fn: string): Map<string, Tally & { coldStarts: number }> {
  const families = parsePrometheus(text);
  const out = new Map<string, Tally & { coldStarts: number }>();
  const fields = {
    sluice_invocations_total: 'invocations',
    sluice_function_errors_total: 'functionErrors',
    sluice_platform_errors_total: 'platformErrors',
    sluice_throttles_total: 'throttles',
    sluice_cold_starts_total: 'coldStarts',
  } as const;
  for (const [name, field] of Object.entries(fields)) {
    const family = families.find((f) => f.name === name);
    assert.ok(family, `${name} is exposed`);
    assert.equal(family.type, 'COUNTER');
    for (const sample of family.metrics) {
      if (sample.labels?.function !== fn) continue;
      const key = `${sample.labels.version}\u0000${sample.labels.qualifier}`;
      const entry = out.get(key) ?? { ...emptyTally(), coldStarts: 0 };
      out.set(key, entry);
      entry[field] = Number(sample.value);
    }
  }
  return out;
}

/**
 * The `_count` and `+Inf` bucket of each series of a function's duration histogram. The parser keeps a
 * histogram's buckets only when it has no labels besides `le`, so its `# TYPE` line is left out and the
 * `_bucket` and `_count` lines are read as plain samples.
 */
function prometheusHistogramCounts(text: string, fn: string): Map<string, { count: number; inf: number }> {
  const name = 'sluice_invocation_duration_seconds';
  const families = parsePrometheus(text.replace(`# TYPE ${name} histogram\n`, ''));
  const out = new Map<string, { count: number; inf: number }>();
  const samples = (suffix: string) =>
    families
      .filter((f) => f.name === `${name}_${suffix}`)
      .flatMap((f) => f.metrics)
      .filter((m) => m.labels?.function === fn);
  const entry = (labels: Record<string, string> | undefined) => {
    const key = `${labels?.version}\u0000${labels?.qualifier}`;
    const e = out.get(key) ?? { count: Number.NaN, inf: Number.NaN };
    out.set(key, e);
    return e;
  };
  for (const m of samples('count')) entry(m.labels).count = Number(m.value);
  for (const m of samples('bucket')) if (m.labels?.le === '+Inf') entry(m.labels).inf = Number(m.value);
  return out;
}

interface SseEvent {
  event: string;
  data: string;
  at: number;
}

/** A Server-Sent Events stream read with fetch: its events and comments as they arrive. */
async function openStream(url: string, token: string) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
  const events: SseEvent[] = [];
  const comments: string[] = [];
  if (res.status === 200 && res.body) {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    void (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event: SseEvent = { event: 'message', data: '', at: performance.now() };
            let isEvent = false;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) {
                comments.push(line.slice(1).trim());
              } else if (line.startsWith('event: ')) {
                event.event = line.slice(7);
                isEvent = true;
              } else if (line.startsWith('data: ')) {
                event.data += line.slice(6);
                isEvent = true;
              }
            }
            if (isEvent) events.push(event);
          }
        }
      } catch {
        // Aborted by close().
      }
    })();
  }
  return {
    res,
    events,
    comments,
    logs: () => events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data) as LogView),
    close: () => {
      controller.abort();
    },
  };
}

let dir: { dataDir: string; remove: () => Promise<void> };
let server: SluiceProcess;
let api: ApiCall;
const invoke = invoker(() => server);
/** Every invocation of `canary` this test made, and what came back. */
const counts = new Counts();
const canaryCalls: (Invoked & { n: number })[] = [];

async function metrics(fn: string, query = 'since=30m&by=version'): Promise<MetricsBody> {
  const res = await api('GET', `/v1/functions/${fn}/metrics?${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as MetricsBody;
}

async function logs(fn: string, query: string): Promise<LogView[]> {
  const res = await api('GET', `/v1/functions/${fn}/logs?${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { logs: LogView[] }).logs;
}

/** Whether the API's totals by version and by qualifier are exactly what the test counted. */
async function apiAgrees(
  fn: string,
  expected: Counts,
): Promise<{ byVersion: MetricsBody; byQualifier: MetricsBody }> {
  const read = async () => ({
    byVersion: await metrics(fn, 'since=30m&by=version'),
    byQualifier: await metrics(fn, 'since=30m&by=qualifier'),
  });
  const agrees = ({ byVersion, byQualifier }: { byVersion: MetricsBody; byQualifier: MetricsBody }) => {
    const versions = new Set(expected.series().map((s) => s.version));
    const qualifiers = new Set(expected.series().map((s) => s.qualifier));
    return (
      isDeepStrictEqual(tallyOf(byVersion.totals), expected.of()) &&
      byVersion.series.length === versions.size &&
      byVersion.series.every((s) => isDeepStrictEqual(tallyOf(s.totals), expected.of(s.version))) &&
      byQualifier.series.length === qualifiers.size &&
      byQualifier.series.every((s) =>
        isDeepStrictEqual(tallyOf(s.totals), expected.of(undefined, s.qualifier)),
      )
    );
  };
  return (await eventually(`the metrics of ${fn} agree with the test's counts`, read, agrees)).value;
}

before(async () => {
  dir = await makeDataDir();
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);
  const created = await api('POST', '/v1/functions', {
    name: 'canary',
    runtime: 'nodejs20',
    handler: 'index.handler',
    instanceConcurrency: 10,
    code: { zipFile: (await zipOf({ 'index.js': CANARY_HANDLER(1) })).toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await api('POST', '/v1/functions/canary/versions')).status, 201);
  const code = await api('PUT', '/v1/functions/canary/code', await zipOf({ 'index.js': CANARY_HANDLER(2) }));
  assert.equal(code.status, 200, JSON.stringify(code.body));
  assert.equal((await api('POST', '/v1/functions/canary/versions')).status, 201);
  const alias = await api('PUT', '/v1/functions/canary/aliases/canary', {
    version: '1',
    canary: { version: '2', weight: WEIGHT },
  });
  assert.equal(alias.status, 201, JSON.stringify(alias.body));
});

after(async () => {
  await server.stop();
  await dir.remove();
});

test(`a canary at 20 % whose version 2 fails one call in four: the API reports what the test counted`, async (t) => {
  const started = performance.now();
  const calls = await bounded(N, CONCURRENCY, async (n) => ({
    n,
    ...(await invoke('canary', 'canary', { n })),
  }));
  const sent = performance.now();
  for (const call of calls) {
    canaryCalls.push(call);
    counts.add(call.version, 'canary', call.outcome);
    assert.ok(call.version === '1' || call.version === '2', `version ${call.version} served`);
    const fails = call.version === '2' && call.n % 4 === 0;
    assert.equal(
      call.outcome,
      fails ? 'functionError' : 'success',
      `call ${call.n} on version ${call.version}`,
    );
  }
  const mine = { all: counts.of(), v1: counts.of('1'), v2: counts.of('2') };
  assert.equal(mine.all.invocations, N);

  const { byVersion, byQualifier } = await apiAgrees('canary', counts);
  const caughtUp = performance.now() - sent;
  t.diagnostic(
    `${N} invocations in ${Math.round(sent - started)} ms; the metrics API agreed ${Math.round(caughtUp)} ms after the last answer`,
  );
  // The recorder flushes every 200 ms; 10 s leaves a busy machine room and still fails metrics that wait for
  // anything slower (a resync, a restart).
  assert.ok(caughtUp < 10_000, `the metrics caught up ${Math.round(caughtUp)} ms after the last answer`);

  const v1 = byVersion.series.find((s) => s.version === '1');
  const v2 = byVersion.series.find((s) => s.version === '2');
  assert.ok(v1 && v2, 'a series per version');
  // Version 2's share: near 20 % (within 4 σ of the binomial), and exactly the share the test saw.
  const shareSigma = Math.sqrt((WEIGHT * (1 - WEIGHT)) / N);
  assert.equal(v2.share, mine.v2.invocations / N);
  assert.equal(v1.share, mine.v1.invocations / N);
  assert.ok(
    Math.abs(v2.share - WEIGHT) <= 4 * shareSigma,
    `version 2 took ${(v2.share * 100).toFixed(1)} % (20 % ± ${(4 * shareSigma * 100).toFixed(1)})`,
  );
  // Version 2's error rate: near 25 %, and exactly the rate the test saw.
  const errorSigma = Math.sqrt((0.25 * 0.75) / mine.v2.invocations);
  assert.equal(v2.totals.errorRate, mine.v2.functionErrors / mine.v2.invocations);
  assert.ok(
    Math.abs(v2.totals.errorRate - 0.25) <= 4 * errorSigma,
    `version 2 failed ${(v2.totals.errorRate * 100).toFixed(1)} % (25 % ± ${(4 * errorSigma * 100).toFixed(1)})`,
  );
  assert.equal(v1.totals.errorRate, 0);
  assert.equal(v1.totals.functionErrors, 0);
  // Overall errors, as the test counted them.
  assert.equal(byVersion.totals.functionErrors, mine.all.functionErrors);
  assert.equal(byVersion.totals.errorRate, mine.all.functionErrors / N);
  assert.deepEqual(tallyOf(byQualifier.totals), mine.all);
  assert.deepEqual(
    byQualifier.series.map((s) => [s.qualifier, s.share]),
    [['canary', 1]],
  );

  for (const s of [v1, v2]) {
    // Every version started at least one instance; each point adds up to the totals.
    assert.ok(
      s.totals.coldStarts >= 1 && s.totals.coldStarts <= CONCURRENCY,
      `cold starts ${s.totals.coldStarts}`,
    );
    assert.equal(
      s.points.reduce((a, p) => a + p.invocations, 0),
      s.totals.invocations,
    );
    assert.equal(
      s.points.reduce((a, p) => a + p.functionErrors, 0),
      s.totals.functionErrors,
    );
    const { p50Ms, p90Ms, p99Ms } = s.totals;
    assert.ok(p50Ms !== null && p90Ms !== null && p99Ms !== null, 'latency percentiles');
    assert.ok(0 < p50Ms && p50Ms <= p90Ms && p90Ms <= p99Ms, `p50 ${p50Ms} ≤ p90 ${p90Ms} ≤ p99 ${p99Ms}`);
  }
  assert.equal(byVersion.step, 10, 'the last half hour in 10 s steps');
  assert.ok(byVersion.series.every((s) => s.points.length >= 180));
});

test('the stored logs: filters by version, request id, qualifier and text return exactly the matching ones', async () => {
  const byRequest = new Map(canaryCalls.map((c) => [c.requestId, c]));
  const v2 = canaryCalls.filter((c) => c.version === '2');
  const v1 = canaryCalls.filter((c) => c.version === '1');
  const { value: v2Logs } = await eventually(
    'every log of version 2 is stored',
    () => logs('canary', 'version=2&limit=1000'),
    (l) => l.length >= v2.length,
  );
  assert.equal(v2Logs.length, v2.length, 'one log per invocation of version 2');
  assert.deepEqual(new Set(v2Logs.map((l) => l.requestId)), new Set(v2.map((c) => c.requestId)));
  for (const log of v2Logs) {
    const call = byRequest.get(log.requestId ?? '');
    assert.ok(call, `log of an invocation this test made: ${log.requestId}`);
    assert.equal(log.versionId, '2');
    assert.equal(log.qualifier, 'canary');
    assert.equal(log.functionName, 'canary');
    assert.equal(log.outcome, call.outcome);
    assert.equal(log.errorCode, call.outcome === 'functionError' ? 'UnhandledInvocationError' : null);
    assert.ok(
      log.text.includes(`call #${call.n}# on version 2`),
      `the handler's line is in the log: ${log.text}`,
    );
    assert.ok(log.durationMs !== null && log.durationMs >= 0);
    // Stored as numbers, the REPORT line comes back whole, and says what the record's fields say.
    const init = log.initDurationMs === null ? '' : ` Init Duration: ${log.initDurationMs.toFixed(2)} ms`;
    assert.ok(
      log.text.endsWith(
        `REPORT RequestId: ${call.requestId} Version: 2 Duration: ${log.durationMs.toFixed(2)} ms${init}\n`,
      ),
      log.text,
    );
  }
  assert.ok(
    v2Logs.some((l) => l.initDurationMs !== null && l.initDurationMs > 0),
    'the invocation that started version 2 reports its Init Duration',
  );
  assert.deepEqual(
    v2Logs.map((l) => l.id),
    [...v2Logs.map((l) => l.id)].sort((a, b) => a - b),
    'newest last',
  );

  const { value: v1Logs } = await eventually(
    'every log of version 1 is stored',
    () => logs('canary', 'version=1&limit=1000'),
    (l) => l.length >= v1.length,
  );
  assert.equal(v1Logs.length, v1.length);
  assert.ok(v1Logs.every((l) => l.versionId === '1' && l.outcome === 'success'));

  const pick = v2.find((c) => c.outcome === 'functionError') ?? v2[0];
  assert.ok(pick);
  const one = await logs('canary', `requestId=${pick.requestId}`);
  assert.equal(one.length, 1, 'a request id finds exactly one log');
  assert.equal(one[0]?.requestId, pick.requestId);
  assert.ok(one[0].text.includes(`call #${pick.n}#`));
  assert.deepEqual(await logs('canary', `requestId=${randomUUID()}`), []);

  // Text search, whatever the case: "#7#" is in call 7's lines only (not in 17's or 70's).
  const seven = canaryCalls.find((c) => c.n === 7);
  const found = await logs('canary', `text=${encodeURIComponent('CALL #7# ON')}`);
  assert.deepEqual(
    found.map((l) => l.requestId),
    [seven?.requestId],
  );

  const latest = await logs('canary', 'qualifier=canary&limit=5');
  assert.equal(latest.length, 5);
  assert.ok(latest.every((l) => l.qualifier === 'canary'));
  assert.deepEqual(await logs('canary', 'qualifier=1'), [], 'nothing was invoked through qualifier 1');
  const after = await logs('canary', `qualifier=canary&after=${latest[2]?.id}&limit=1000`);
  assert.deepEqual(
    after.map((l) => l.id),
    [latest[3]?.id, latest[4]?.id],
    'after an id: the logs above it',
  );
});

test('follow=true streams a new invocation’s lines within a second, and only those of the version asked', async (t) => {
  const stream = await openStream(
    `${server.url}/v1/functions/canary/logs?follow=true&version=1&limit=3`,
    server.token,
  );
  try {
    assert.equal(stream.res.status, 200);
    assert.match(stream.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    await eventually(
      'the stream says it follows',
      () => Promise.resolve(stream.comments),
      (c) => c.includes('following'),
    );
    const recent = stream.logs();
    assert.equal(recent.length, 3, 'the newest 3 logs of version 1 come first');
    assert.ok(recent.every((l) => l.versionId === '1'));

    const other = `marker-${randomUUID()}`;
    const wanted = `marker-${randomUUID()}`;
    const onTwo = await invoke('canary', '2', { n: 1001, marker: other });
    const onOne = await invoke('canary', '1', { n: 1003, marker: wanted });
    counts.add(onTwo.version, '2', onTwo.outcome);
    counts.add(onOne.version, '1', onOne.outcome);
    assert.deepEqual([onTwo.version, onOne.version], ['2', '1']);
    assert.deepEqual([onTwo.outcome, onOne.outcome], ['success', 'success']);

    const { value: event } = await eventually(
      'the new invocation’s log is streamed',
      () => Promise.resolve(stream.events.find((e) => e.data.includes(wanted))),
      (e) => e !== undefined,
    );
    assert.ok(event);
    const lag = event.at - onOne.at;
    t.diagnostic(`streamed ${Math.round(lag)} ms after the invocation answered`);
    // Live followers hear of a log as it is recorded; 5 s is generous for a busy machine, and still fails a
    // feed that only catches up on a later poll or reconnect.
    assert.ok(lag < 5000, `streamed ${Math.round(lag)} ms after the invocation answered`);
    const log = JSON.parse(event.data) as LogView;
    assert.equal(log.requestId, onOne.requestId);
    assert.ok(log.text.includes(`call #1003# on version 1 ${wanted}`), log.text);
    assert.ok(log.text.includes(`REPORT RequestId: ${onOne.requestId}`), log.text);
    assert.ok(
      stream.logs().every((l) => l.versionId === '1'),
      'the follower of version 1 sees nothing of version 2',
    );
    assert.ok(!stream.events.some((e) => e.data.includes(other)));
  } finally {
    stream.close();
  }
});

test('/metrics takes the token, parses as the Prometheus text format and matches the API', async () => {
  const anonymous = await fetch(`${server.url}/metrics`);
  await anonymous.arrayBuffer();
  assert.equal(anonymous.status, 401);

  const { byVersion, byQualifier } = await apiAgrees('canary', counts);
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const series = prometheusCounters(text, 'canary');
  // One label set per version and qualifier invoked: canary/1, canary/2, 1/1, 2/2.
  assert.deepEqual(
    [...series.keys()].map((k) => k.replace('\u0000', '/')).sort(),
    counts
      .series()
      .map((s) => `${s.version}/${s.qualifier}`)
      .sort(),
  );
  for (const s of counts.series()) {
    const exposed = series.get(`${s.version}\u0000${s.qualifier}`);
    assert.ok(exposed);
    const { coldStarts, ...tally } = exposed;
    assert.deepEqual(tally, s.tally, `version ${s.version} through ${s.qualifier}`);
    assert.ok(coldStarts <= tally.invocations);
  }
  // Added up per version and per qualifier, they are the API's totals.
  const sum = (pick: (version: string, qualifier: string) => boolean) => {
    const out = emptyTally();
    for (const [key, v] of series) {
      const [version = '', qualifier = ''] = key.split('\u0000');
      if (!pick(version, qualifier)) continue;
      out.invocations += v.invocations;
      out.functionErrors += v.functionErrors;
      out.platformErrors += v.platformErrors;
      out.throttles += v.throttles;
    }
    return out;
  };
  for (const s of byVersion.series)
    assert.deepEqual(
      sum((v) => v === s.version),
      tallyOf(s.totals),
    );
  for (const s of byQualifier.series)
    assert.deepEqual(
      sum((_, q) => q === s.qualifier),
      tallyOf(s.totals),
    );
  assert.deepEqual(
    sum(() => true),
    tallyOf(byVersion.totals),
  );
  // Each duration histogram holds every invocation of its series.
  const histograms = prometheusHistogramCounts(text, 'canary');
  assert.equal(histograms.size, series.size);
  for (const [key, h] of histograms) {
    assert.equal(h.count, series.get(key)?.invocations, `_count of ${key}`);
    assert.equal(h.inf, h.count, `+Inf of ${key}`);
  }
});

test('counters count every invocation once, timeouts and throttles included, per outcome', async (t) => {
  // One instance and no queue: while an invocation sleeps, every other call of the function is throttled.
  const other = await makeDataDir();
  let tight: SluiceProcess | undefined = await startSluice(other.dataDir, [
    '--instances-per-function',
    '1',
    '--queue-per-function',
    '0',
  ]);
  try {
    const tightApi = apiClient(tight.url, tight.token);
    const created = await tightApi('POST', '/v1/functions', {
      name: 'mixed',
      runtime: 'nodejs20',
      handler: 'index.handler',
      timeout: 1,
      code: { zipFile: (await zipOf({ 'index.js': MIXED_HANDLER })).toString('base64') },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const call = invoker(() => tight as SluiceProcess);
    const mine = new Counts();
    const record = (r: Invoked) => {
      mine.add(r.version, 'LATEST', r.outcome);
    };
    for (let i = 0; i < 5; i++) record(await call('mixed', '$LATEST', { op: 'ok' }));
    for (let i = 0; i < 3; i++) record(await call('mixed', '$LATEST', { op: 'throw' }));
    (await Promise.all(Array.from({ length: 6 }, () => call('mixed', '$LATEST', { op: 'sleep' })))).forEach(
      record,
    );
    const seen = mine.of();
    t.diagnostic(`counted ${JSON.stringify(seen)}`);
    assert.equal(seen.invocations, 14);
    assert.equal(seen.functionErrors, 3);
    assert.ok(seen.platformErrors >= 1, 'a call timed out');
    assert.ok(seen.throttles >= 1, 'a call was throttled');

    const metricsOf = async () =>
      (await tightApi('GET', '/v1/functions/mixed/metrics?since=30m&by=version')).body as MetricsBody;
    const { value } = await eventually('the metrics agree with the test’s counts', metricsOf, (m) =>
      isDeepStrictEqual(tallyOf(m.totals), seen),
    );
    assert.equal(value.series.length, 1);
    assert.equal(value.series[0]?.version, 'LATEST');
    assert.ok(value.totals.coldStarts >= 1);
    assert.equal(value.totals.errorRate, (seen.functionErrors + seen.platformErrors) / seen.invocations);

    const res = await fetch(`${tight.url}/metrics`, { headers: { authorization: `Bearer ${tight.token}` } });
    const exposed = prometheusCounters(await res.text(), 'mixed').get('LATEST\u0000LATEST');
    assert.ok(exposed);
    assert.deepEqual(tallyOf(exposed), seen, '/metrics agrees too');

    // Stopped, the server writes what it still held; the stored rows of both resolutions hold each
    // invocation exactly once.
    await tight.stop();
    tight = undefined;
    const store = SqliteStore.open(other.dataDir);
    try {
      for (const resolution of [10, 60] as const) {
        const rows = await store.queryMetrics('mixed', resolution, 0, Math.ceil(Date.now() / 1000) + 60);
        const add = (f: (r: MetricRow) => number) => rows.reduce((a, r) => a + f(r), 0);
        assert.deepEqual(
          {
            invocations: add((r) => r.invocations),
            functionErrors: add((r) => r.functionErrors),
            platformErrors: add((r) => r.platformErrors),
            throttles: add((r) => r.throttles),
          },
          seen,
          `the ${resolution} s rows`,
        );
      }
    } finally {
      await store.close();
    }
  } finally {
    await tight?.stop();
    await other.remove();
  }
});

test('metrics of one qualifier or one version count only its traffic', async () => {
  // Version 1 named directly, beside the alias's traffic: the alias's figures leave these calls out.
  for (let n = 0; n < 3; n++) {
    const call = await invoke('canary', '1', { n: 2000 + n });
    assert.equal(call.outcome, 'success');
    counts.add(call.version, '1', call.outcome);
  }
  await apiAgrees('canary', counts);
  const throughAlias = await metrics('canary', 'since=30m&by=version&qualifier=canary');
  assert.deepEqual(tallyOf(throughAlias.totals), counts.of(undefined, 'canary'));
  for (const s of throughAlias.series)
    assert.deepEqual(tallyOf(s.totals), counts.of(s.version, 'canary'), `version ${s.version ?? ''}`);
  const ofVersion = await metrics('canary', 'since=30m&by=qualifier&version=1');
  assert.deepEqual(ofVersion.series.map((s) => [s.qualifier, tallyOf(s.totals)]).sort(), [
    ['1', counts.of('1', '1')],
    ['canary', counts.of('1', 'canary')],
  ]);
  const none = await metrics('canary', 'since=30m&version=$LATEST');
  assert.deepEqual([none.totals.invocations, none.series], [0, []]);
});

test('bad parameters are a 400 naming the parameter; an unknown function is a 404', async () => {
  const cases: [string, string][] = [
    ['metrics?since=yesterday', 'since'],
    ['metrics?until=soon', 'until'],
    ['metrics?since=1m&until=2m', 'since'],
    ['metrics?since=2024-13-45', 'since'],
    ['metrics?step=5s', 'step'],
    ['metrics?step=15s', 'step'],
    ['metrics?step=0s', 'step'],
    ['metrics?step=ten', 'step'],
    ['metrics?since=30d&step=10s', 'step'],
    ['metrics?by=alias', 'by'],
    ['metrics?bogus=1', 'bogus'],
    ['metrics?version=v1', 'version'],
    ['metrics?qualifier=1alias', 'qualifier'],
    ['logs?limit=0', 'limit'],
    ['logs?limit=1001', 'limit'],
    ['logs?limit=ten', 'limit'],
    ['logs?after=-1', 'after'],
    ['logs?after=x', 'after'],
    ['logs?follow=yes', 'follow'],
    ['logs?since=x', 'since'],
    ['logs?until=x', 'until'],
    ['logs?qux=1', 'qux'],
  ];
  for (const [query, parameter] of cases) {
    const res = await api('GET', `/v1/functions/canary/${query}`);
    assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
    assert.equal(errorCode(res), 'InvalidArgument', query);
    const { error } = res.body as { error: { message: string; details?: { path: string }[] } };
    assert.equal(
      error.details?.[0]?.path,
      parameter,
      `${query} names ${parameter}: ${JSON.stringify(error)}`,
    );
    assert.ok(error.message.includes(parameter), error.message);
  }
  for (const path of ['metrics', 'logs', 'logs?follow=true', 'metrics?since=1h&by=qualifier']) {
    const res = await api('GET', `/v1/functions/nope/${path}`);
    assert.equal(res.status, 404, path);
    assert.equal(errorCode(res), 'FunctionNotFound', path);
  }
  const anonymous = apiClient(server.url, undefined);
  assert.equal((await anonymous('GET', '/v1/functions/canary/metrics')).status, 401);
  assert.equal((await anonymous('GET', '/v1/functions/canary/logs?follow=true')).status, 401);
});

test('metrics and logs survive a restart on the same data directory, and the new process adds to them', async () => {
  const before = await apiAgrees('canary', counts);
  const v2Before = await logs('canary', 'version=2&limit=1000');
  const oneBefore = await logs('canary', `requestId=${canaryCalls[0]?.requestId}`);
  assert.equal(v2Before.length, counts.of('2').invocations);

  await server.stop();
  server = await startSluice(dir.dataDir);
  api = apiClient(server.url, server.token);

  // Written when the server stopped: there at once, to the last count and latency.
  const totals = (m: MetricsBody) => ({ totals: m.totals, series: m.series.map((s) => [s.share, s.totals]) });
  assert.deepEqual(totals(await metrics('canary', 'since=30m&by=version')), totals(before.byVersion));
  assert.deepEqual(totals(await metrics('canary', 'since=30m&by=qualifier')), totals(before.byQualifier));
  assert.deepEqual(await logs('canary', 'version=2&limit=1000'), v2Before);
  assert.deepEqual(await logs('canary', `requestId=${canaryCalls[0]?.requestId}`), oneBefore);

  // This process is a new node: its rows add to those of the one before.
  const more = await invoke('canary', 'canary', { n: 1005 });
  assert.equal(more.outcome, 'success');
  counts.add(more.version, 'canary', more.outcome);
  const after = await apiAgrees('canary', counts);
  assert.equal(after.byVersion.totals.invocations, before.byVersion.totals.invocations + 1);
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${server.token}` } });
  const exposed = prometheusCounters(await res.text(), 'canary');
  assert.deepEqual(
    [...exposed.values()].map((s) => s.invocations),
    [1],
    '/metrics counts since this process started',
  );
  const { value: latest } = await eventually(
    'the new invocation’s log is stored',
    () => logs('canary', `requestId=${more.requestId}`),
    (l) => l.length === 1,
  );
  assert.ok((latest[0]?.id ?? 0) > Math.max(...v2Before.map((l) => l.id)), 'log ids go on increasing');
});
