import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { ApiCall } from '../support/api-client.js';
import { REPORTING_HANDLER, type Collector } from '../support/collector.js';
import { startReportingServer, type ReportingServer } from '../support/reporting-server.js';
import { operationsBetween, quietWindow, storeOperations } from '../support/store-operations.js';
import { waitFor } from '../support/wait-for.js';

// Issue 25 item 1 and issue 18 item 4: an idle server asks nothing of its store. Nothing polls: the
// asynchronous queue sleeps until an event is due or queued, timers until their next firing, rollouts until
// one starts, the routing table until a change (the embedded store's feed never misses one).

/** The window over which an idle server must not touch its store: longer than every old poll (≤ 3.75 s). */
const QUIET_MS = 5000;

describe('an idle server with the embedded store', () => {
  let collector: Collector;
  let fixture: ReportingServer;
  let api: ApiCall;

  before(async () => {
    fixture = await startReportingServer(REPORTING_HANDLER);
    ({ collector, api } = fixture);
    // A warm instance, as an idle server that served traffic has.
    assert.equal((await api('POST', '/v1/functions/f/invocations', { warm: true })).status, 200);
  });

  after(async () => {
    await fixture.close();
  });

  it('asks nothing of its store, and runs an event queued meanwhile at once', async (t) => {
    const settling = await quietWindow(api, { windowMs: QUIET_MS, timeout: 60_000 });
    t.diagnostic(`before the first quiet window: ${JSON.stringify(settling)}`);
    const queued = await api('POST', '/v1/functions/f/invocations?async=true', { n: 1 });
    assert.equal(queued.status, 202);
    const id = queued.headers.get('x-fc-request-id');
    // No poll would ever find it: only the wake of its own enqueue runs it.
    await waitFor(() => collector.on('/ran').some((p) => p.body.id === id), {
      timeout: 10_000,
      what: 'the queued event to run',
    });
    await waitFor(
      async () =>
        ((await api('GET', `/v1/functions/f/async-invocations/${id}`)).body as { status: string }).status ===
        'succeeded',
      { timeout: 10_000, what: 'its record to say it succeeded' },
    );
    await quietWindow(api, { windowMs: QUIET_MS, timeout: 60_000 });
  });

  it('sleeps between the firings of a timer, and again once it is deleted', async () => {
    const created = await api('POST', '/v1/functions/f/triggers', {
      name: 'tick',
      kind: 'timer',
      schedule: '@every 1s',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const fired = () =>
      collector.on('/ran').filter((p) => (p.body.payload as { triggerName?: string }).triggerName === 'tick');
    await waitFor(() => fired().length >= 3, { timeout: 20_000, what: 'three firings' });
    const before = await storeOperations(api);
    const firingsBefore = fired().length;
    await delay(3000);
    const asked = operationsBetween(before, await storeOperations(api));
    const firings = fired().length - firingsBefore;
    // Each firing: the timer's move with its event, the claim, the settle, the next due time, the telemetry.
    assert.ok(
      (asked.listTriggers ?? 0) === 0 && (asked.fireTimer ?? 0) <= firings + 1,
      `a firing a second reads no trigger list and fires once: ${JSON.stringify(asked)} for ${firings} firings`,
    );
    assert.equal((await api('DELETE', '/v1/functions/f/triggers/tick')).status, 204);
    await quietWindow(api, { windowMs: QUIET_MS, timeout: 60_000 });
  });
});
