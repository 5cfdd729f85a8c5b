import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';
import { zipOf } from '../support/code.js';
import { waitFor } from '../support/wait-for.js';

// Progressive rollouts in the console, in Chromium: a rollout started from the form (bad input refused under
// its fields first, nothing started), watched live while the test sends traffic, and rolled back by the
// guardrail when the new version fails; another paused, resumed and aborted; a third promoted; the past
// rollouts listed with their outcome; one ended by a Roll back on the aliases page. The function and its
// versions are made through the API; everything about rollouts goes through the page, and every check of what
// happened goes through the API.

const FN = 'shop';
const t = new ConsoleTest();
const { id } = t;

/** Version 1 answers, version 2 fails every call, version 3 answers. */
const HANDLERS = ["return 'v1';", "throw new Error('v2 is broken');", "return 'v3';"];

interface Rollout {
  id: string;
  status: string;
  step: number;
  reason: string | null;
}
interface Alias {
  version: string;
  canary?: unknown;
}

const rollouts = async () =>
  ((await t.api('GET', `/v1/functions/${FN}/aliases/live/rollouts`)).body as { rollouts: Rollout[] })
    .rollouts;
const alias = async () => (await t.api('GET', `/v1/functions/${FN}/aliases/live`)).body as Alias;

/** Invokes the alias until `done` holds (the rollout reacted), a few calls at a time. */
async function trafficUntil(done: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(
    async () => {
      await Promise.all(
        Array.from({ length: 4 }, () =>
          t.api('POST', `/v1/functions/${FN}/invocations?qualifier=live`, Buffer.from('{}'), {
            'content-type': 'application/octet-stream',
          }),
        ),
      );
      await sleep(100);
      return done();
    },
    { timeout: 90_000, what, interval: 0 },
  );
}

async function openRollouts(): Promise<void> {
  await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/rollouts?qualifier=live`);
  await id('start-rollout').waitFor();
}

/** Fills the start form: a strategy and its share, the interval, a max error rate and min invocations. */
async function fillForm(
  to: string,
  strategy: 'canary' | 'linear' | 'steps',
  share: string,
  interval: string,
): Promise<void> {
  await id('rollout-to').selectOption(to);
  await id(`rollout-strategy-${strategy}`).check();
  const shareField = { canary: 'rollout-weight', linear: 'rollout-increment', steps: 'rollout-steps' };
  await id(shareField[strategy]).fill(share);
  await id('rollout-interval').fill(interval);
  await id('rollout-max-error-rate').fill('10');
  await id('rollout-min-invocations').fill('5');
}

/** Starts a rollout to version `to` from the page, in steps of 10 % and 50 % ten minutes apart. */
async function startInSteps(to: string): Promise<void> {
  await openRollouts();
  await id('start-rollout').click();
  await fillForm(to, 'steps', '10, 50', '10m');
  await id('rollout-start').click();
  await waitForText(id('rollout-summary'), 'Step 1 of 3: 10 %');
}

describe('console: rollouts', { skip }, () => {
  before(async () => {
    await t.start();
    const created = await t.api('POST', '/v1/functions', {
      name: FN,
      runtime: 'nodejs20',
      handler: 'index.handler',
      instanceConcurrency: 10,
    });
    assert.equal(created.status, 201, created.bytes.toString());
    for (const body of HANDLERS) {
      const code = await zipOf({ 'index.js': `exports.handler = async () => { ${body} };` });
      assert.equal((await t.api('PUT', `/v1/functions/${FN}/code`, code)).status, 200);
      assert.equal((await t.api('POST', `/v1/functions/${FN}/versions`)).status, 201);
    }
    assert.equal((await t.api('PUT', `/v1/functions/${FN}/aliases/live`, { version: '1' })).status, 201);
    await t.openBrowser('rollouts', '#/functions');
  });

  after(() => t.close());

  test('the form refuses falling steps and a bad interval under their fields, and starts nothing', async () => {
    await openRollouts();
    await waitForText(id('empty'), 'No rollouts yet');
    await id('start-rollout').click();
    await waitForText(id('rollout-plan'), '10 % for 5 min → 100 %');
    await fillForm('2', 'steps', '50, 20', '2 minutes');
    await id('rollout-start').click();
    await waitForText(id('error-steps'), 'must rise');
    await waitForText(id('error-interval'), 'duration');
    await t.browser.shot('form-refused');
    assert.deepEqual(await rollouts(), [], 'a rollout was started');
    // Each message goes as soon as its field is right.
    await id('rollout-steps').fill('20, 50');
    await id('error-steps').waitFor({ state: 'hidden' });
    await waitForText(id('error-interval'), 'duration');
    await id('rollout-interval').fill('1m');
    await id('error-interval').waitFor({ state: 'hidden' });
    await waitForText(id('rollout-plan'), '20 % for 1 min → 50 % for 1 min → 100 %');
    await id('rollout-cancel').click();
    assert.deepEqual(await rollouts(), []);
  });

  test('a rollout to a failing version is watched live and rolled back by its guardrail', async () => {
    await id('start-rollout').click();
    await fillForm('2', 'canary', '50', '10m');
    await waitForText(id('rollout-plan'), '50 % for 10 min → 100 %');
    await t.browser.shot('form-canary');
    await id('rollout-start').click();
    await t.browser.page.waitForURL(/rollout=/);
    await waitForText(id('rollout-summary'), 'Step 1 of 2: 50 %');
    const started = (await rollouts()).at(0);
    assert.ok(started, 'no rollout was started');
    assert.equal(started.status, 'running');

    await trafficUntil(async () => (await rollouts()).at(0)?.status !== 'running', 'the rollout to end');
    const ended = (await rollouts()).at(0);
    assert.ok(ended);
    assert.equal(ended.status, 'rolled-back');
    assert.match(ended.reason ?? '', /error rate 100\.00 % above the limit of 10\.00 %/);
    assert.equal((await alias()).version, '1');
    assert.equal((await alias()).canary, undefined, 'the alias still has a canary');

    // The page follows by itself: the outcome, the guardrail breached, the chart against its limit, the log.
    await waitForText(id('rollout-outcome'), 'Rolled back');
    await waitForText(id('rollout-outcome'), 'error rate 100.00 %');
    await waitForText(id('guardrail-maxErrorRate'), 'breached');
    await id('rollout-chart-errors-limit-maxErrorRate').waitFor();
    await id('rollout-chart-errors').locator('[data-series="2"] path').waitFor({ state: 'attached' });
    // The primary's figures beside the target's, and the p99 of both.
    await id('rollout-chart-errors').locator('[data-series="1"] path').waitFor({ state: 'attached' });
    await id('rollout-chart-p99').locator('[data-series="1"] path').waitFor({ state: 'attached' });
    await id('rollout-event-rolled-back').waitFor();
    assert.equal(await id('rollout-pause').count(), 0, 'an ended rollout offers Pause');
    await t.browser.shot('rolled-back');
  });

  test('a rollout paused, resumed and aborted from the page; another promoted', async () => {
    await startInSteps('3');
    const current = async () => (await rollouts())[0] as Rollout;

    await id('rollout-pause').click();
    await waitFor(async () => (await current()).status === 'paused', { timeout: 10_000, what: 'paused' });
    await id('rollout-resume').waitFor();
    await t.browser.shot('paused');
    await id('rollout-resume').click();
    await waitFor(async () => (await current()).status === 'running', { timeout: 10_000, what: 'resumed' });
    await id('rollout-abort').click();
    await id('confirm-ok').click();
    await waitForText(id('rollout-outcome'), 'Aborted');
    assert.equal((await current()).status, 'aborted');
    assert.equal((await alias()).version, '1');
    assert.equal((await alias()).canary, undefined);

    await id('rollouts-back').click();
    await id('start-rollout').click();
    await fillForm('3', 'linear', '25', '10m');
    await waitForText(id('rollout-plan'), '25 % for 10 min → 50 % for 10 min → 75 % for 10 min → 100 %');
    await id('rollout-start').click();
    await waitForText(id('rollout-summary'), 'Step 1 of 4: 25 %');
    await id('rollout-promote').click();
    await id('confirm-ok').click();
    await waitForText(id('rollout-outcome'), 'Promoted');
    assert.equal((await current()).status, 'succeeded');
    assert.equal((await alias()).version, '3');
    await t.browser.shot('promoted');

    // The past rollouts of the alias, newest first, each with its outcome and reason.
    await id('rollouts-back').click();
    await id('rollout-table').waitFor();
    const rows = await id('rollout-table').locator('tbody tr').all();
    const statuses = await Promise.all(rows.map((r) => r.getAttribute('data-status')));
    assert.deepEqual(statuses, ['succeeded', 'aborted', 'rolled-back']);
    await waitForText(id('rollout-table'), 'guardrail breached');
    await t.browser.shot('history');
  });

  test('a pre-traffic check of the failing version stops the rollout before any traffic moves', async () => {
    await openRollouts();
    await id('start-rollout').click();
    await fillForm('2', 'canary', '10', '10m');
    assert.ok(await id('rollout-payload').isDisabled(), 'the payload is asked for without the check');
    await id('rollout-pretraffic').check();
    await id('rollout-payload').fill('{"smoke":true}');
    await id('rollout-max-p99').fill('2000');
    await id('rollout-start').click();
    await waitForText(id('rollout-outcome'), 'Failed');
    await waitForText(id('rollout-outcome'), 'the pre-traffic check failed, no traffic moved');
    await id('rollout-event-failed').waitFor();
    await t.browser.shot('pre-traffic-failed');
    const failed = (await rollouts()).at(0) as Rollout & { preTraffic: unknown; guardrails: unknown };
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.preTraffic, { payload: '{"smoke":true}' });
    assert.equal((failed.guardrails as { maxP99Ms?: number }).maxP99Ms, 2000);
    assert.equal((await alias()).version, '3', 'the promoted version stays');
    assert.equal((await alias()).canary, undefined, 'traffic moved to the failing version');
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });

  test('Roll back on the aliases page during a running rollout ends the rollout at once, leaving the alias as rolled back', async () => {
    await startInSteps('1');
    const running = (await rollouts()).at(0) as Rollout;
    assert.equal(running.status, 'running');
    // The page shows the plan's first step before the controller has written it to the alias.
    await waitFor(async () => (await alias()).canary !== undefined, {
      timeout: 15_000,
      what: "the rollout's first step on the alias",
    });

    await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/aliases`);
    await id('rollback-alias-live').click();
    await waitForText(id('rollback-after'), 'all traffic → 3');
    await id('confirm-ok').click();
    await waitForText(id('alias-canary-live'), '—');
    // The controller's next turn, a second away, not the step's end ten minutes away.
    await waitFor(async () => (await rollouts()).at(0)?.status !== 'running', {
      timeout: 15_000,
      what: 'the rollout to end',
    });
    const ended = (await rollouts()).at(0) as Rollout;
    assert.equal(ended.id, running.id);
    assert.equal(ended.status, 'aborted');
    assert.match(ended.reason ?? '', /changed by someone else/);
    assert.equal((await alias()).version, '3');
    assert.equal((await alias()).canary, undefined, 'the rollout put its canary back');

    await t.browser.page.goto(
      `${t.server.url}/console/#/functions/${FN}/rollouts?qualifier=live&rollout=${ended.id}`,
    );
    await waitForText(id('rollout-outcome'), 'Aborted');
    await waitForText(id('rollout-outcome'), 'changed by someone else');
    await t.browser.shot('rolled-back-by-hand');
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
});
