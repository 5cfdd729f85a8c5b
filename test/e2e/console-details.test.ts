import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';
import { zipOf } from '../support/code.js';

// The small things that made the console look unfinished, in Chromium: the Monitoring tab follows the
// *Version or alias* selector, chart time labels never repeat and no figure reads "0.00 ms", a field's error
// goes once it is fixed, an error banner goes at the next action, and the Aliases tab follows changes made
// elsewhere. Function, versions and alias are made through the API, and their traffic too.

const FN = 'watched';
const t = new ConsoleTest();
const { id } = t;

async function ok(method: string, path: string, body?: unknown): Promise<void> {
  const res = await t.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.bytes.toString()}`);
}

async function invoke(qualifier: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const res = await t.api(
      'POST',
      `/v1/functions/${FN}/invocations?qualifier=${qualifier}`,
      Buffer.from('{}'),
      {
        'content-type': 'application/octet-stream',
      },
    );
    assert.equal(res.status, 200, res.bytes.toString());
  }
}

/** Selects in the *Version or alias* selector and waits for the tab to be drawn for it. */
async function choose(qualifier: string, scope: string): Promise<void> {
  await id('qualifier-select').selectOption(qualifier);
  await t.browser.page.waitForURL(new RegExp(`qualifier=${encodeURIComponent(qualifier)}`));
  await waitForText(id('metrics-scope'), scope);
}

describe('console: the small things', { skip }, () => {
  before(async () => {
    await t.start();
    await ok('POST', '/v1/functions', { name: FN, runtime: 'nodejs20', handler: 'index.handler' });
    for (const n of [1, 2]) {
      await ok(
        'PUT',
        `/v1/functions/${FN}/code`,
        await zipOf({ 'index.js': `exports.handler = async () => ${n};` }),
      );
      await ok('POST', `/v1/functions/${FN}/versions`, { description: `release ${n}` });
    }
    await ok('PUT', `/v1/functions/${FN}/aliases/live`, { version: '1' });
    // Traffic of three kinds: through live (version 1 only), version 2 by its number, and $LATEST.
    await invoke('live', 3);
    await invoke('2', 2);
    await invoke('LATEST', 2);
    await t.openBrowser('details', '#/functions');
  });

  after(() => t.close());

  test('Monitoring follows the Version or alias selector: figures and logs', async () => {
    await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/monitoring`);
    await waitForText(id('metrics-scope'), 'Every version and qualifier');
    for (const key of ['1', '2', 'LATEST']) await id(`metrics-row-${key}`).waitFor({ timeout: 20_000 });
    assert.equal(await id('logs-qualifier').inputValue(), '');

    await choose('live', 'Traffic through alias live');
    await id('metrics-row-1').waitFor({ timeout: 20_000 });
    assert.equal(await id('metrics-row-2').count(), 0, "version 2's traffic shown under alias live");
    assert.equal(await id('metrics-row-LATEST').count(), 0, "$LATEST's traffic shown under alias live");
    assert.equal(await id('logs-qualifier').inputValue(), 'live', 'the logs are not those of live');
    await t.browser.shot('monitoring-alias');

    await choose('2', 'Invocations of version 2');
    await id('metrics-row-2').waitFor({ timeout: 20_000 });
    assert.equal(await id('metrics-row-1').count(), 0, "version 1's traffic shown under version 2");
    assert.equal(await id('logs-version').inputValue(), '2', 'the logs are not those of version 2');
    await t.browser.shot('monitoring-version');
  });

  test('chart time labels never repeat, and no figure reads "0.00 ms", in every range', async () => {
    await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/monitoring?qualifier=%24LATEST`);
    await id('metrics-row-LATEST').waitFor({ timeout: 20_000 });
    const ranges = await id('metrics-range')
      .locator('option')
      .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value));
    assert.ok(ranges.length >= 4, `ranges: ${ranges.join(', ')}`);
    for (const range of ranges) {
      const loaded = t.browser.page.waitForResponse((r) => r.url().includes(`since=${range}&`));
      await id('metrics-range').selectOption(range);
      await loaded;
      await id('chart-latency').locator('svg').waitFor();
      // Each chart's time labels, read after the redraw that follows the figures.
      const charts = await t.browser.page.evaluate<{ chart: string; labels: string[] }[]>(`
        new Promise((done) => requestAnimationFrame(() => done(
          [...document.querySelectorAll('figure.chart')].filter((f) => f.querySelector('svg')).map((f) => ({
            chart: f.dataset.testid,
            labels: [...f.querySelectorAll('text.axis-time')].map((t) => t.textContent),
          })),
        )))`);
      assert.ok(charts.length >= 2, `${range}: ${charts.length} charts drawn`);
      for (const { chart, labels } of charts) {
        assert.ok(labels.length >= 2, `${range} ${chart}: time labels ${labels.join(' | ')}`);
        assert.equal(new Set(labels).size, labels.length, `${range} ${chart}: ${labels.join(' | ')}`);
      }
      // The figures (the logs below them quote the runtime's own REPORT lines).
      const text = (
        await t.browser.page.locator('figure.chart, [data-testid="metrics-table"]').allInnerTexts()
      ).join('\n');
      assert.doesNotMatch(text, /\b0\.0+ ?ms/, `${range}: a zero shown with decimals`);
      assert.doesNotMatch(text, /\d\.\d*0 ms/, `${range}: a figure with a trailing zero`);
    }
    await t.browser.shot('monitoring-ranges');
  });

  test("a field's error goes once it is fixed, the others staying", async () => {
    await t.browser.page.goto(`${t.server.url}/console/#/functions/new`);
    await id('fn-name').fill('9 lives');
    await id('fn-memory').fill('100');
    await id('fn-create').click();
    await waitForText(id('error-name'), 'must start with a letter or underscore');
    await waitForText(id('error-memorySize'), 'multiple of 64');
    await id('fn-name').fill('nine-lives');
    await id('error-name').waitFor({ state: 'hidden' });
    await waitForText(id('error-memorySize'), 'multiple of 64');
    await t.browser.shot('create-one-fixed');
    await id('fn-memory').fill('128');
    await id('error-memorySize').waitFor({ state: 'hidden' });
    assert.equal((await t.api('GET', '/v1/functions/nine-lives')).status, 404, 'created before Create');
  });

  test('an error banner goes at the next action', async () => {
    await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/versions`);
    // $LATEST is version 2: publishing again is refused.
    await id('publish-button').click();
    await waitForText(id('publish-error'), 'Nothing to publish');
    await t.browser.shot('publish-refused');
    await id('compare-button').click();
    await id('compare-result').locator('*').first().waitFor();
    await id('publish-error').waitFor({ state: 'detached' });

    // Version 1 is live's: its deletion is refused, and the refusal goes at the next click.
    await id('delete-version-1').click();
    await id('confirm-ok').click();
    await waitForText(id('version-error'), 'live');
    await id('compare-button').click();
    await id('version-error').waitFor({ state: 'detached' });

    // A refused deploy (the function deleted meanwhile) goes at the next click, here Test Function's.
    await ok('POST', '/v1/functions', { name: 'doomed', runtime: 'nodejs20', handler: 'index.handler' });
    await ok(
      'PUT',
      '/v1/functions/doomed/code',
      await zipOf({ 'index.js': 'exports.handler = async () => 1;' }),
    );
    await t.browser.page.goto(`${t.server.url}/console/#/functions/doomed/code`);
    await id('code-editor').locator('.cm-content').click();
    await t.browser.page.keyboard.type('// a change');
    await ok('DELETE', '/v1/functions/doomed');
    await id('deploy-button').click();
    await waitForText(id('deploy-error'), 'FunctionNotFound');
    await t.browser.shot('deploy-refused');
    await id('test-button').click();
    await id('deploy-error').waitFor({ state: 'detached' });
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
  test('the Aliases tab follows changes made elsewhere, as a rollout makes them, but never under an open dialog', async () => {
    const live = (canary?: { version: string; weight: number }) =>
      ok('PUT', `/v1/functions/${FN}/aliases/live`, { version: '1', ...(canary && { canary }) });
    // A page of its own: the last test left an editor with changes, which holds the page where it is.
    await t.browser.page.goto('about:blank');
    await t.browser.page.goto(`${t.server.url}/console/#/functions/${FN}/aliases`);
    await waitForText(id('alias-canary-live'), '—');
    await live({ version: '2', weight: 0.1 });
    await waitForText(id('alias-canary-live'), '10 %', 15_000);

    // Under the editor, the tab is left as it is: what was typed there stays.
    await id('edit-alias-live').click();
    await id('alias-description').fill('typed while it changed');
    await live({ version: '2', weight: 0.2 });
    await sleep(7000);
    assert.equal(await id('alias-description').inputValue(), 'typed while it changed');
    assert.match((await id('alias-canary-live').textContent()) ?? '', /10 %/);
    await t.browser.page.keyboard.press('Escape');
    await waitForText(id('alias-canary-live'), '20 %', 15_000);
    await live();
    await waitForText(id('alias-canary-live'), '—', 15_000);
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
});
