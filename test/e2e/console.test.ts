import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';
import { waitFor } from '../support/wait-for.js';

// The web console in a real browser (Debian's Chromium driven by playwright-core): the seeds' console flows
// — create from the Node.js sample, Deploy, Test Function on $LATEST, a version, an alias, a canary by
// weight watched in Monitoring, rollback, a canary by rule — and bad input refused inline with nothing saved.
// Every check of what was saved goes through the API, not the page.

const FN = 'canary-demo';

let page: Page;
const t = new ConsoleTest();

const id = (testid: string): Locator => page.getByTestId(testid);
const shot = (name: string) => t.browser.shot(name);

async function apiJson<T>(path: string): Promise<T> {
  const res = await t.api('GET', path);
  assert.equal(res.status, 200, `GET ${path}: ${res.bytes.toString()}`);
  return res.body as T;
}

interface Alias {
  version: string;
  revision: number;
  canary?: { version: string; weight?: number; match?: string; rules?: unknown[] };
}

const alias1 = () => apiJson<Alias>(`/v1/functions/${FN}/aliases/alias1`);

/** Appends a line to the open file in the code editor. */
async function appendCode(line: string): Promise<void> {
  await id('code-editor').locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.press('Enter');
  await page.keyboard.type(line);
}

async function openTab(tab: string): Promise<void> {
  await id(`tab-${tab}`).click();
  await page.waitForURL(new RegExp(`/${tab}`));
}

async function testFunction(): Promise<{ qualifier: string; version: string; log: string }> {
  const shown = id('test-request-id');
  const before = (await shown.count()) > 0 ? ((await shown.textContent()) ?? '') : '';
  await id('test-button').click();
  await waitForText(id('test-status'), /Succeeded|Failed/);
  const requestId = await waitForText(id('test-request-id'), /[0-9a-f-]{36}/);
  assert.notEqual(requestId, before, 'Test Function showed the previous result');
  return {
    qualifier: (await id('test-qualifier').textContent()) ?? '',
    version: (await id('test-version').textContent()) ?? '',
    log: (await id('test-log').textContent()) ?? '',
  };
}

describe('web console', { skip }, () => {
  before(async () => {
    await t.start();
    await t.openBrowser('console');
    page = t.browser.page;
  });

  after(() => t.close());

  test('sign-in refuses a wrong token, then the function list is empty', async () => {
    await page.goto(`${t.server.url}/console`);
    await id('token-input').fill('not-a-token');
    await id('signin-button').click();
    await waitForText(id('signin-error'), 'refused');
    await id('token-input').fill(t.server.token);
    await id('signin-button').click();
    await id('empty').waitFor();
    await waitForText(id('empty'), 'No functions yet');
    // The header says how this server keeps functions apart.
    await waitForText(id('isolation'), /^Sandboxed \(cgroup-v[12]\)$/);
    await shot('signin-empty-list');
  });

  test('creating a function: an invalid name is refused inline and nothing is created', async () => {
    await id('create-function').click();
    await id('fn-name').fill('9 lives');
    await id('fn-memory').fill('100');
    await id('fn-create').click();
    await waitForText(id('error-name'), 'must start with a letter or underscore');
    await waitForText(id('error-memorySize'), 'multiple of 64');
    await shot('create-invalid');
    const list = await apiJson<{ functions: unknown[] }>('/v1/functions');
    assert.deepEqual(list.functions, [], 'an invalid function was created');
  });

  test("create from the seeds' Node.js sample, Deploy, Test Function shows LATEST", async () => {
    await id('fn-name').fill(FN);
    await id('fn-memory').fill('128');
    await id('env-rows').waitFor({ state: 'attached' });
    await id('add-env').click();
    await id('env-name').fill('STAGE');
    await id('env-value').fill('demo');
    await waitForText(id('starter-editor'), "console.log('Qualifier from context:', qualifier);");
    await id('fn-create').click();
    await page.waitForURL(new RegExp(`#/functions/${FN}/code`));
    await waitForText(id('code-editor'), "context['service']['qualifier']");
    const created = await apiJson<{ codeSha256: string; environmentVariables: Record<string, string> }>(
      `/v1/functions/${FN}`,
    );
    assert.deepEqual(created.environmentVariables, { STAGE: 'demo' });

    await appendCode('// release 1');
    await id('deploy-button').click();
    await waitForText(id('deploy-status'), 'Deployed to $LATEST');
    const deployed = await apiJson<{ codeSha256: string }>(`/v1/functions/${FN}`);
    assert.notEqual(deployed.codeSha256, created.codeSha256, 'Deploy did not change the code');

    const run = await testFunction();
    assert.equal(run.qualifier, 'LATEST');
    assert.equal(run.version, 'LATEST');
    assert.match(run.log, /Qualifier from context: LATEST/);
    assert.match(await waitForText(id('test-response'), 'LATEST'), /LATEST/);
    await shot('code-latest-tested');
  });

  test('publish version 1; publishing again shows "nothing changed" as the error it is', async () => {
    await openTab('versions');
    await id('publish-description').fill('release 1');
    await id('publish-button').click();
    await id('version-row-1').waitFor();
    await id('publish-button').click();
    await waitForText(id('publish-error'), 'Nothing to publish');
    await shot('versions');
    const { versions } = await apiJson<{ versions: { versionId: string }[] }>(`/v1/functions/${FN}/versions`);
    assert.deepEqual(
      versions.map((v) => v.versionId),
      ['1'],
    );

    // Version 1 from the selector: read-only code, and Test Function invokes it.
    await id('qualifier-select').selectOption('1');
    await page.waitForURL(/qualifier=1/);
    await openTab('code');
    await id('readonly-notice').waitFor();
    assert.equal(await id('deploy-button').count(), 0, 'a version offers Deploy');
    const run = await testFunction();
    assert.deepEqual([run.qualifier, run.version], ['1', '1']);
    assert.match(run.log, /VersionId from context: {2}1/);
  });

  test('alias1 → 1 (an invalid name refused first), tested as alias1/1', async () => {
    await openTab('aliases');
    await id('create-alias').click();
    await id('alias-name').fill('1alias');
    await id('alias-primary').selectOption('1');
    await id('alias-save').click();
    await waitForText(id('error-name'), 'must start with a letter');
    const before = await apiJson<{ aliases: { name: string }[] }>(`/v1/functions/${FN}/aliases`);
    assert.deepEqual(
      before.aliases.map((a) => a.name),
      ['$DEFAULT'],
      'an invalid alias was saved',
    );

    await id('alias-name').fill('alias1');
    await id('alias-save').click();
    await id('alias-row-alias1').waitFor();
    await waitForText(id('alias-primary-alias1'), '1');
    const created = await alias1();
    assert.equal(created.version, '1');
    assert.equal(created.revision, 1);
    assert.equal(created.canary, undefined);

    await id('test-alias-alias1').click();
    await page.waitForURL(/qualifier=alias1/);
    await id('readonly-notice').waitFor();
    const run = await testFunction();
    assert.deepEqual([run.qualifier, run.version], ['alias1', '1']);
    assert.match(run.log, /Qualifier from context: alias1/);
    assert.match(run.log, /VersionId from context: {2}1/);
    await shot('alias1-tested');
  });

  test('version 2 as canary: weight 101 refused inline, then 30 %', async () => {
    await id('qualifier-select').selectOption('$LATEST');
    await page.waitForURL((url) => !url.hash.includes('qualifier='));
    await waitForText(id('code-editor'), '// release 1');
    await appendCode('// release 2');
    await id('deploy-button').click();
    await waitForText(id('deploy-status'), 'Deployed to $LATEST');
    await openTab('versions');
    await id('publish-description').fill('release 2');
    await id('publish-button').click();
    await id('version-row-2').waitFor();
    // Compare version 1 with version 2: the configuration and the changed file.
    await id('compare-a').selectOption('1');
    await id('compare-b').selectOption('2');
    await id('compare-button').click();
    await waitForText(id('diff-index.js'), 'changed');
    await waitForText(id('diff-index.js'), '// release 2');
    await shot('compare-versions');

    await openTab('aliases');
    await id('edit-alias-alias1').click();
    await id('canary-enabled').check();
    await id('canary-version').selectOption('2');
    await id('weight-input').fill('101');
    await id('alias-save').click();
    await waitForText(id('error-canary.weight'), 'between 0 and 100');
    await shot('alias-weight-101');
    const unchanged = await alias1();
    assert.equal(unchanged.revision, 1, 'weight 101 was saved');
    assert.equal(unchanged.canary, undefined);

    await id('weight-input').fill('30');
    assert.equal(await id('weight-slider').inputValue(), '30', 'the slider does not follow the number');
    await waitForText(id('split-preview'), 'Canary 2: 30 %');
    await shot('alias-canary-30');
    await id('alias-save').click();
    await waitForText(id('alias-canary-alias1'), '30 %');
    // The split in the table, both versions' share in percent.
    await waitForText(id('alias-traffic-alias1'), /1 · 70 %\s+2 · 30 %/);
    const saved = await alias1();
    assert.deepEqual(saved.canary, { version: '2', weight: 0.3 });
    assert.equal(saved.revision, 2);
  });

  test('traffic on alias1 shows both versions in Monitoring, with logs by version and live follow', async () => {
    const invoke = (headers: Record<string, string> = {}) =>
      t.api('POST', `/v1/functions/${FN}/invocations?qualifier=alias1`, Buffer.from('{}'), {
        'content-type': 'application/octet-stream',
        ...headers,
      });
    const seen = new Set<string>();
    for (let round = 0; round < 20 && seen.size < 2; round++) {
      const results = await Promise.all(Array.from({ length: 6 }, () => invoke()));
      for (const r of results) {
        assert.equal(r.status, 200);
        seen.add(r.headers.get('x-fc-invocation-function-version') ?? '');
      }
    }
    assert.deepEqual([...seen].sort(), ['1', '2'], 'a 30 % canary never served both versions');

    await openTab('monitoring');
    await id('metrics-range').selectOption('5m');
    await id('share-1').waitFor({ timeout: 20_000 });
    await id('share-2').waitFor({ timeout: 20_000 });
    await id('metrics-row-1').waitFor();
    await id('metrics-row-2').waitFor();
    await id('chart-invocations-legend-2').waitFor();
    await id('chart-latency').waitFor();
    await id('latency-p50').click();
    await waitForText(id('chart-latency'), 'Duration p50');

    // Logs: every invocation's, then only version 2's.
    await id('log-row').first().waitFor();
    await id('logs-version').selectOption('2');
    await waitForText(id('logs-status'), /\d+ logs?/);
    const versions: (string | null)[] = [];
    for (const row of await id('log-row').all()) versions.push(await row.getAttribute('data-version'));
    assert.ok(
      versions.length > 0 && versions.every((v) => v === '2'),
      `filtered logs: ${versions.join(',')}`,
    );

    // Live follow: a new invocation of version 2 arrives without a reload.
    await id('logs-follow').check();
    await waitForText(id('logs-status'), 'Following live');
    const count = await id('log-row').count();
    const pinned = await invoke({ 'x-sluice-version': '2' });
    assert.equal(pinned.headers.get('x-fc-invocation-function-version'), '2');
    await waitFor(async () => (await id('log-row').count()) > count, {
      timeout: 30_000,
      what: 'the followed log to show the new invocation',
      interval: 100,
    });
    await id('logs-follow').uncheck();
    await shot('monitoring');
  });

  test('one-click rollback with confirmation, recorded in the history with its diff', async () => {
    await openTab('aliases');
    await id('rollback-alias-alias1').click();
    await waitForText(id('rollback-after'), 'all traffic → 1');
    await shot('rollback-confirm');
    await id('confirm-ok').click();
    await waitForText(id('alias-canary-alias1'), '—');
    const rolled = await alias1();
    assert.equal(rolled.canary, undefined);
    assert.equal(rolled.revision, 3);

    await id('history-alias-alias1').click();
    await id('history-3').waitFor();
    await waitForText(id('history-3'), 'rollback');
    await id('history-2').locator('summary').click();
    await waitForText(id('history-2'), '"weight": 0.3');
    await shot('alias-history');
    await page.keyboard.press('Escape');
    await id('alias-history').waitFor({ state: 'detached' });
  });

  test('rule-based canary with a header rule: a rule without a value is refused, then it routes', async () => {
    await id('edit-alias-alias1').click();
    await id('canary-enabled').check();
    await id('canary-version').selectOption('2');
    await id('mode-rules').check();
    await id('rule-source-0').selectOption('header');
    await id('rule-name-0').fill('x-test-uid');
    await id('rule-op-0').selectOption('=');
    await id('alias-save').click();
    await waitForText(id('error-rule-value-0'), 'Enter a value');
    assert.equal((await alias1()).revision, 3, 'a rule without a value was saved');

    await id('rule-value-0').fill('tester');
    await shot('alias-rules');
    await id('alias-save').click();
    await waitForText(id('alias-canary-alias1'), 'rules');
    const saved = await alias1();
    assert.deepEqual(saved.canary, {
      version: '2',
      match: 'all',
      rules: [{ source: 'header', name: 'x-test-uid', op: '=', value: 'tester' }],
    });

    // The router's own account of a request with the header.
    await id('explain-alias-alias1').click();
    await id('explain-headers').fill('X-Test-Uid: tester');
    await id('explain-run').click();
    await waitForText(id('explain-version'), 'Version 2 (canary)');
    await shot('explain');
    await page.keyboard.press('Escape');

    await id('test-alias-alias1').click();
    await page.waitForURL(/qualifier=alias1/);
    await page.locator('details.options summary').click();
    await id('test-headers').fill('x-test-uid: tester');
    const canary = await testFunction();
    assert.deepEqual([canary.qualifier, canary.version], ['alias1', '2']);
    await id('test-headers').fill('x-test-uid: someone-else');
    const primary = await testFunction();
    assert.deepEqual([primary.qualifier, primary.version], ['alias1', '1']);
    await shot('rule-canary-tested');
  });

  test('a version in use is not deleted, and the error names the alias', async () => {
    await openTab('versions');
    await id('delete-version-1').click();
    await id('confirm-ok').click();
    await waitForText(id('version-error'), 'alias1');
    await shot('version-in-use');
    assert.equal((await t.api('GET', `/v1/functions/${FN}/versions/1`)).status, 200);
  });

  test("the alias panel's Advanced section: provisioned instances and their canary ratio", async () => {
    const provisioned = () => t.api('GET', `/v1/functions/${FN}/provisioned/alias1`);
    await openTab('aliases');
    await id('edit-alias-alias1').click();
    await id('alias-advanced').locator('summary').click();
    await id('provisioned-target').fill('ten');
    await id('provisioned-ratio').fill('101');
    await id('alias-save').click();
    await waitForText(id('error-target'), 'whole number');
    await waitForText(id('error-canaryRatio'), 'from 0 to 100');
    await shot('alias-advanced-refused');
    assert.equal((await provisioned()).status, 404, 'nothing was provisioned');

    await id('provisioned-target').fill('4');
    await id('provisioned-ratio').fill('25');
    await id('alias-save').click();
    await id('alias-editor').waitFor({ state: 'detached' });
    const saved = await apiJson<{ target: number; canaryRatio: number }>(
      `/v1/functions/${FN}/provisioned/alias1`,
    );
    assert.deepEqual([saved.target, saved.canaryRatio], [4, 0.25]);

    // Opened again, the section shows what is set, and how much of it is ready.
    await id('edit-alias-alias1').click();
    await waitFor(async () => (await id('provisioned-target').inputValue()) === '4', {
      timeout: 10_000,
      what: 'the target read back',
    });
    assert.equal(await id('provisioned-ratio').inputValue(), '25');
    await waitForText(id('provisioned-status'), 'ready');
    await shot('alias-advanced');
    await id('provisioned-follow').check();
    assert.ok(await id('provisioned-ratio').isDisabled());
    await id('alias-save').click();
    await id('alias-editor').waitFor({ state: 'detached' });
    assert.equal(
      (await apiJson<{ canaryRatio: unknown }>(`/v1/functions/${FN}/provisioned/alias1`)).canaryRatio,
      'weight',
    );

    // Cleared, they are released.
    await id('edit-alias-alias1').click();
    await waitFor(async () => (await id('provisioned-target').inputValue()) === '4', {
      timeout: 10_000,
      what: 'the target read back',
    });
    await id('provisioned-target').fill('');
    await id('alias-save').click();
    await id('alias-editor').waitFor({ state: 'detached' });
    assert.equal((await provisioned()).status, 404);
  });

  test('stages: the API gateway stage bound to alias1', async () => {
    const created = await t.api('POST', '/v1/apis', {
      name: 'shop',
      routes: [{ method: 'ANY', path: '/{proxy+}' }],
    });
    assert.equal(created.status, 201, created.bytes.toString());
    const stage = await t.api('PUT', '/v1/apis/shop/stages/release', { function: FN, qualifier: 'alias1' });
    assert.ok(stage.status === 201 || stage.status === 200, stage.bytes.toString());
    await openTab('stages');
    await waitForText(id('stage-row-shop-release'), 'alias1');
    await shot('stages');
    await id('nav-apis').click();
    await waitForText(id('stage-shop-release'), `${FN}:alias1`);
    await shot('api-gateway');
  });

  test('triggers: a timer bound to alias1, with what alias1 serves now', async () => {
    const created = await t.api('POST', `/v1/functions/${FN}/triggers`, {
      name: 'nightly',
      kind: 'timer',
      schedule: '0 3 * * *',
      qualifier: 'alias1',
    });
    assert.equal(created.status, 201, created.bytes.toString());
    await page.goto(`${t.server.url}/console/#/functions/${FN}/triggers`);
    await waitForText(id('trigger-row-nightly'), 'alias1');
    await waitForText(id('trigger-row-nightly'), '0 3 * * *');
    await shot('triggers');
    assert.equal((await t.api('DELETE', `/v1/functions/${FN}/triggers/nightly`)).status, 204);
  });

  test('writing code: Tab indents in the editor; Test Function with unsaved changes asks to deploy first', async () => {
    await page.goto(`${t.server.url}/console/#/functions/${FN}/code`);
    await waitForText(id('code-editor'), "context['service']['qualifier']");
    const focusedIn = () => page.evaluate("document.activeElement?.closest('[data-testid]')?.dataset.testid");
    await id('code-editor').locator('.cm-content').click();
    await page.keyboard.press('Control+End');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    await page.keyboard.type('// tabbed');
    assert.equal(await focusedIn(), 'code-editor', 'Tab left the editor');
    // Escape then Tab leaves it, as CodeMirror has it for keyboard users — at once after typing too, when the
    // autocompletion's pending query took the Escape — for the next field in the page's order, the Test
    // event's editor (a CodeMirror editor too, so "in an editor" would not tell them apart).
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    assert.equal(await focusedIn(), 'event-editor', 'Escape then Tab did not leave the code editor');
    const text = await id('code-editor').locator('.cm-content').innerText();
    assert.ok(text.split('\n').includes('  // tabbed'), JSON.stringify(text));
    // Back in it, any other key ends the Escape's effect (CodeMirror gives it two seconds): Tab indents again.
    await id('code-editor').locator('.cm-content').click();
    await page.keyboard.press('End');
    await page.keyboard.press('Tab');
    assert.equal(await focusedIn(), 'code-editor', 'a Tab without Escape left the editor');
    await page.keyboard.press('Control+z');

    const deployedBefore = (await apiJson<{ codeSha256: string }>(`/v1/functions/${FN}`)).codeSha256;
    await id('test-button').click();
    await id('test-unsaved-dialog').waitFor();
    await id('test-unsaved-cancel').click();
    assert.equal(await id('test-unsaved-dialog').count(), 0);
    assert.equal((await apiJson<{ codeSha256: string }>(`/v1/functions/${FN}`)).codeSha256, deployedBefore);

    const shown = id('test-request-id');
    const before = (await shown.count()) > 0 ? ((await shown.textContent()) ?? '') : '';
    await id('test-button').click();
    await id('test-unsaved-deploy').click();
    await waitForText(id('test-status'), /Succeeded|Failed/);
    assert.notEqual(await waitForText(id('test-request-id'), /[0-9a-f-]{36}/), before);
    const deployed = await apiJson<{ codeSha256: string }>(`/v1/functions/${FN}`);
    assert.notEqual(deployed.codeSha256, deployedBefore, 'the changes were deployed before the test');
    // Deployed, nothing is left unsaved: the next test runs at once.
    await id('test-button').click();
    await waitForText(id('test-status'), /Succeeded|Failed/);
    assert.equal(await id('test-unsaved-dialog').count(), 0);
  });

  test('readable errors: an unknown function, then the server gone', async () => {
    await page.goto(`${t.server.url}/console/#/functions/no-such-function/code`);
    await waitForText(id('error'), 'FunctionNotFound');
    await shot('not-found');
    await page.goto(`${t.server.url}/console/#/functions`);
    await id(`function-row-${FN}`).waitFor();
    await id('function-search').fill('zzz');
    await waitForText(id('empty'), 'No matching functions');
    await id('function-search').fill('canary');
    await id(`function-row-${FN}`).waitFor();
    await shot('function-list');

    await t.server.stop();
    await id('function-search').fill('canary-');
    await waitForText(id('error'), 'Cannot reach the Sluice server');
    await shot('server-down');
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
});
