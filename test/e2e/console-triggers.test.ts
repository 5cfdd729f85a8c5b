import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';
import { zipOf } from '../support/code.js';
import { waitFor } from '../support/wait-for.js';

// Triggers and asynchronous invocations in the console, in Chromium, through the page alone: a timer created
// (a bad name and schedule refused under their fields first, nothing stored), bound to alias live; its firings
// listed as asynchronous invocations of live's version and one followed to its record; the timer edited,
// disabled and enabled; the alias it invokes refused deletion, the page naming the trigger; Test Function
// invoking asynchronously and leading to the record; a failed invocation found by its status; the timer
// deleted. Function jobs, its version and alias are made through the API; what the page saved is read back
// through the API.

const FN = 'jobs';
const t = new ConsoleTest();
const { id } = t;

/** Answers the version and qualifier that ran and the event it got; throws when the event asks it to. */
const HANDLER = `exports.handler = async (event, context) => {
  const e = JSON.parse(event.toString() || '{}');
  if (e.fail) throw new Error('asked to fail');
  return { version: context.service.versionId, qualifier: context.service.qualifier, event: e };
};
`;

interface Trigger {
  schedule: string;
  qualifier: string;
  payload: string;
  enabled: boolean;
}
interface Invocation {
  requestId: string;
  status: string;
  source: string;
  version: string | null;
}

async function ok(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await t.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.bytes.toString()}`);
  return res.body;
}

const trigger = async () => (await ok('GET', `/v1/functions/${FN}/triggers/tick`)) as Trigger;

async function invocations(): Promise<Invocation[]> {
  return (
    (await ok('GET', `/v1/functions/${FN}/async-invocations?limit=100`)) as { invocations: Invocation[] }
  ).invocations;
}

async function goTo(hash: string, ready: string): Promise<void> {
  await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/${hash}`);
  await id(ready).first().waitFor();
}

/** Replaces the Test Function event with `text`. */
async function setEvent(text: string): Promise<void> {
  await id('event-editor').locator('.cm-content').click();
  await t.browser.page.keyboard.press('Control+A');
  await t.browser.page.keyboard.type(text);
}

describe('console: triggers and asynchronous invocations', { skip }, () => {
  before(async () => {
    await t.start();
    await ok('POST', '/v1/functions', { name: FN, runtime: 'nodejs20', handler: 'index.handler' });
    await ok('PUT', `/v1/functions/${FN}/code`, await zipOf({ 'index.js': HANDLER }));
    await ok('POST', `/v1/functions/${FN}/versions`, { description: 'the first release' });
    await ok('PUT', `/v1/functions/${FN}/aliases/live`, { version: '1' });
    // A failure ends at its first attempt, so that the test need not wait for retries.
    await ok('PUT', `/v1/functions/${FN}/async-config`, { maxRetries: 0 });
    await t.openBrowser('triggers', `#/functions/${FN}/triggers`);
  });

  after(() => t.close());

  test('a timer created from the page: a bad name and schedule refused under their fields, then bound to live', async () => {
    await waitForText(id('empty'), 'No trigger invokes this function');
    await id('create-trigger').click();
    await id('trigger-name').fill('9tick');
    await id('trigger-schedule').fill('every five minutes');
    await id('trigger-save').click();
    await waitForText(id('error-name'), 'Starts with a letter');
    await waitForText(id('error-schedule'), 'cron expression of five fields');
    await t.browser.shot('timer-refused');
    assert.deepEqual(await ok('GET', `/v1/functions/${FN}/triggers`), { triggers: [] });

    await id('trigger-name').fill('tick');
    await id('error-name').waitFor({ state: 'hidden' });
    await id('trigger-schedule').fill('@every 0s');
    await waitForText(id('error-schedule'), 'at least @every 1s');
    await id('trigger-schedule').fill('@every 2s');
    await id('error-schedule').waitFor({ state: 'hidden' });
    await id('trigger-qualifier').selectOption('live');
    await id('trigger-payload').fill('{"job": "sweep"}');
    await t.browser.shot('timer-form');
    await id('trigger-save').click();
    await waitForText(id('trigger-row-tick'), '@every 2s');
    await waitForText(id('trigger-row-tick'), 'live');
    const created = await trigger();
    assert.deepEqual(
      [created.schedule, created.qualifier, created.payload, created.enabled],
      ['@every 2s', 'live', '{"job": "sweep"}', true],
    );
  });

  test("its firings are listed as asynchronous invocations of live's version; one is followed to its record", async () => {
    const fired = await waitFor(
      async () => (await invocations()).find((r) => r.source === 'timer:tick' && r.status === 'succeeded'),
      { timeout: 30_000, what: 'a firing of tick to succeed' },
    );
    await t.browser.page.reload();
    await waitForText(id('trigger-row-tick'), 'ago');
    await id('trigger-invocations-tick').click();
    await id(`async-row-${fired.requestId}`).waitFor();
    await waitForText(id(`async-row-${fired.requestId}`), 'timer:tick');
    await t.browser.shot('async-list');
    await id(`async-open-${fired.requestId}`).click();
    await waitForText(id('async-record-status'), 'succeeded');
    assert.equal(await id('async-record-version').textContent(), '1');
    assert.equal(await id('async-record-qualifier').textContent(), 'live');
    await waitForText(id('async-record-source'), 'timer:tick');
    await waitForText(id('async-record-result'), '"triggerName":"tick"');
    await waitForText(id('async-record-result'), 'sweep');
    await id('async-attempt-1').waitFor();
    await t.browser.shot('async-record-timer');
  });

  test('edited to a cron schedule and disabled, then enabled again from the list', async () => {
    await goTo('triggers', 'trigger-row-tick');
    await id('edit-trigger-tick').click();
    assert.equal(await id('trigger-qualifier').inputValue(), 'live', 'the panel opens on the qualifier set');
    await id('trigger-schedule').fill('0 3 * * *');
    await id('trigger-enabled').uncheck();
    await id('trigger-save').click();
    await waitForText(id('trigger-enabled-tick'), 'no');
    await waitForText(id('trigger-row-tick'), '0 3 * * *');
    const edited = await trigger();
    assert.deepEqual(
      [edited.enabled, edited.schedule, edited.qualifier, edited.payload],
      [false, '0 3 * * *', 'live', '{"job": "sweep"}'],
    );
    await id('toggle-trigger-tick').click();
    await waitForText(id('trigger-enabled-tick'), 'yes');
    const enabled = await trigger();
    assert.deepEqual(
      [enabled.enabled, enabled.schedule, enabled.qualifier, enabled.payload],
      [true, '0 3 * * *', 'live', '{"job": "sweep"}'],
    );
    await t.browser.shot('timer-edited');
  });

  test('deleting the alias the timer invokes is refused, and the page names the trigger', async () => {
    await goTo('aliases', 'alias-row-live');
    await id('delete-alias-live').click();
    await id('confirm-ok').click();
    await waitForText(id('alias-error'), 'AliasInUse');
    await waitForText(id('in-use-triggers'), 'Triggers: tick');
    await t.browser.shot('alias-in-use');
    assert.equal(
      (await t.api('GET', `/v1/functions/${FN}/aliases/live`)).status,
      200,
      'the alias was deleted',
    );
  });

  test('Test Function invokes asynchronously and leads to the record, with the version that ran', async () => {
    await goTo('code?qualifier=live', 'code-editor');
    await id('test-async').check();
    await id('test-button').click();
    await waitForText(id('test-status'), 'Queued');
    const requestId = (await waitForText(id('test-request-id'), /[0-9a-f-]{36}/)).trim();
    await t.browser.shot('test-async-queued');
    await id('test-async-link').click();
    await waitForText(id('async-record-id'), requestId);
    await waitForText(id('async-record-status'), 'succeeded');
    assert.equal(await id('async-record-version').textContent(), '1');
    assert.equal(await id('async-record-qualifier').textContent(), 'live');
    assert.equal(await id('async-record-source').textContent(), 'async');
    await t.browser.shot('async-record-test');
    const record = (await ok('GET', `/v1/functions/${FN}/async-invocations/${requestId}`)) as Invocation;
    assert.deepEqual([record.status, record.version, record.source], ['succeeded', '1', 'async']);
  });

  test('a failed invocation is found by its status, with its error and its attempt', async () => {
    await goTo('code?qualifier=live', 'code-editor');
    await setEvent('{"fail": true}');
    await id('test-async').check();
    await id('test-button').click();
    const requestId = (await waitForText(id('test-request-id'), /[0-9a-f-]{36}/)).trim();
    await waitFor(
      async () =>
        ((await ok('GET', `/v1/functions/${FN}/async-invocations/${requestId}`)) as Invocation).status ===
        'failed',
      { timeout: 30_000, what: 'the invocation to fail' },
    );
    await goTo('async', 'async-status');
    await id('async-status').selectOption('failed');
    await t.browser.page.waitForURL(/status=failed/);
    await id(`async-row-${requestId}`).waitFor();
    const succeeded = (await invocations()).filter((r) => r.status === 'succeeded');
    assert.ok(succeeded.length > 0);
    for (const r of succeeded)
      assert.equal(await id(`async-row-${r.requestId}`).count(), 0, 'a success is listed');
    await t.browser.shot('async-failed');
    await id(`async-open-${requestId}`).click();
    await waitForText(id('async-record-status'), 'failed');
    await waitForText(id('async-record-error'), 'asked to fail');
    await id('async-attempt-1').waitFor();
    assert.equal(await id('async-attempt-2').count(), 0, 'maxRetries 0: one attempt');
    await t.browser.shot('async-record-failed');
  });

  test('the timer deleted from the page', async () => {
    await goTo('triggers', 'trigger-row-tick');
    await id('delete-trigger-tick').click();
    await id('confirm-ok').click();
    await waitForText(id('empty'), 'No trigger invokes this function');
    assert.equal((await t.api('GET', `/v1/functions/${FN}/triggers/tick`)).status, 404);
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
});
