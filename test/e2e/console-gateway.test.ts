import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';
import { zipOf } from '../support/code.js';
import { waitFor } from '../support/wait-for.js';

// API gateway editing in the console, in Chromium: seed 004's scheme — an API whose stages release, prepub
// and dev bind function B's aliases release and prepub and its $DEFAULT — set up from the API Gateway page
// alone (bad input refused under its field first, nothing saved), with a route override and a stage variable;
// a stage edited, then restored from its history; a route that a stage uses refused; a stage and the API
// deleted. Function B and its aliases are made through the API; what the page saved is checked through the
// API and by calling the stages.

const t = new ConsoleTest();
const { id } = t;

interface Stage {
  function: string;
  qualifier: string;
  variables: Record<string, string>;
  routes: Record<string, { function: string; qualifier: string }>;
  revision: number;
}

const stage = async (name: string) => (await t.api('GET', `/v1/apis/shop/stages/${name}`)).body as Stage;

/** Calls a stage's URL; the handler answers the version that ran and the stage variables it got. */
async function call(path: string): Promise<{ version: string; variables: unknown }> {
  const res = await t.api('GET', `/gw/shop/${path}`);
  assert.equal(res.status, 200, `${path}: ${res.bytes.toString()}`);
  return JSON.parse(res.bytes.toString()) as { version: string; variables: unknown };
}

/** Chooses the function and qualifier of the stage (or override) picker `prefix`. */
async function bind(prefix: string, qualifier: string): Promise<void> {
  await id(`${prefix}-function`).selectOption('B');
  await id(`${prefix}-qualifier`).locator(`option[value="${qualifier}"]`).waitFor({ state: 'attached' });
  await id(`${prefix}-qualifier`).selectOption(qualifier);
}

describe('console: API gateway editing', { skip }, () => {
  before(async () => {
    await t.start();
    assert.equal(
      (await t.api('POST', '/v1/functions', { name: 'B', runtime: 'nodejs20', handler: 'index.handler' }))
        .status,
      201,
    );
    for (const n of [1, 2, 3]) {
      const handler = `exports.handler = async (event, context) => ({ statusCode: 200,
        body: JSON.stringify({ version: context.service.versionId, variables: JSON.parse(event).stageVariables, n: ${n} }) });`;
      assert.equal(
        (await t.api('PUT', '/v1/functions/B/code', await zipOf({ 'index.js': handler }))).status,
        200,
      );
      assert.equal((await t.api('POST', '/v1/functions/B/versions')).status, 201);
    }
    for (const [alias, version] of [
      ['release', '1'],
      ['prepub', '2'],
    ])
      assert.equal((await t.api('PUT', `/v1/functions/B/aliases/${alias}`, { version })).status, 201);
    await t.openBrowser('gateway', '#/apis');
  });

  after(() => t.close());

  test('create an API: a bad name and a path without / are refused under their fields, then fixed', async () => {
    await waitForText(id('empty'), 'No APIs yet');
    await id('create-api').click();
    await id('api-name').fill('9shop');
    await id('add-route').click();
    await id('route-method-1').selectOption('GET');
    await id('route-path-1').fill('users/{id}');
    await id('api-save').click();
    await waitForText(id('error-name'), 'Starts with a letter');
    await waitForText(id('error-route-path-1'), 'must start with /');
    await t.browser.shot('api-refused');
    assert.deepEqual((await t.api('GET', '/v1/apis')).body, { apis: [] }, 'an invalid API was created');

    await id('api-name').fill('shop');
    await id('error-name').waitFor({ state: 'hidden' });
    await waitForText(id('error-route-path-1'), 'must start with /');
    await id('route-path-1').fill('/users/{id}');
    await id('error-route-path-1').waitFor({ state: 'hidden' });
    await id('api-description').fill('seed 004');
    await id('api-save').click();
    await waitForText(id('routes-shop'), 'GET /users/{id}');
    const created = (await t.api('GET', '/v1/apis/shop')).body as { routes: unknown; description: string };
    assert.deepEqual(created.routes, [
      { method: 'ANY', path: '/{proxy+}' },
      { method: 'GET', path: '/users/{id}' },
    ]);
    assert.equal(created.description, 'seed 004');
  });

  test('three stages bound from the page: release and prepub to aliases (with an override), dev to $DEFAULT', async () => {
    await id('add-stage-shop').click();
    await id('stage-name').fill('release');
    await bind('stage', 'release');
    await id('stage-save').click();
    await id('stage-shop-release').waitFor();

    await id('add-stage-shop').click();
    await id('stage-name').fill('release');
    await id('stage-save').click();
    await waitForText(id('error-name'), 'has a stage release already');
    await waitForText(id('error-function'), 'Choose the function');
    await id('stage-name').fill('prepub');
    await id('error-name').waitFor({ state: 'hidden' });
    await bind('stage', 'prepub');
    await id('error-function').waitFor({ state: 'hidden' });
    await id('add-override').click();
    await id('override-route-0').selectOption('GET /users/{id}');
    await bind('override-0', '3');
    await t.browser.shot('stage-override');
    await id('stage-save').click();
    await id('stage-shop-prepub').waitFor();

    // A stage someone else creates while the panel is open is not overwritten: the page says so.
    await id('add-stage-shop').click();
    await id('stage-name').fill('canary');
    await bind('stage', '3');
    const theirs = await t.api('PUT', '/v1/apis/shop/stages/canary', { function: 'B', qualifier: 'release' });
    assert.equal(theirs.status, 201);
    await id('stage-save').click();
    await waitForText(id('error-name'), 'has had a stage canary since this page was drawn');
    await t.browser.shot('stage-created-meanwhile');
    const kept = await stage('canary');
    assert.deepEqual([kept.qualifier, kept.revision], ['release', 1], 'the other stage was overwritten');
    await id('stage-cancel').click();
    assert.equal((await t.api('DELETE', '/v1/apis/shop/stages/canary')).status, 204);

    await id('add-stage-shop').click();
    await id('stage-name').fill('dev');
    await bind('stage', '$DEFAULT');
    await id('add-variable').click();
    await id('variable-name-0').fill('1env');
    await id('variable-value-0').fill('dev');
    await id('stage-save').click();
    await waitForText(id('error-variable-0'), 'starts with a letter');
    assert.equal((await t.api('GET', '/v1/apis/shop/stages/dev')).status, 404, 'an invalid stage was saved');
    await id('variable-name-0').fill('env');
    await id('error-variable-0').waitFor({ state: 'hidden' });
    await id('stage-save').click();
    await waitForText(id('stage-shop-dev'), 'env=dev');
    await t.browser.shot('three-stages');

    const release = await stage('release');
    assert.deepEqual([release.function, release.qualifier, release.routes], ['B', 'release', {}]);
    const prepub = await stage('prepub');
    assert.deepEqual(
      [prepub.qualifier, prepub.routes],
      ['prepub', { 'GET /users/{id}': { function: 'B', qualifier: '3' } }],
    );
    const dev = await stage('dev');
    assert.deepEqual([dev.qualifier, dev.variables], ['$DEFAULT', { env: 'dev' }]);
    // Each stage serves what it binds.
    assert.equal((await call('release/anything')).version, '1');
    assert.equal((await call('prepub/anything')).version, '2');
    assert.equal((await call('prepub/users/7')).version, '3');
    assert.deepEqual(await call('dev/anything'), { version: 'LATEST', variables: { env: 'dev' }, n: 3 });
  });

  test('a stage edited, then restored to its first revision from the history', async () => {
    await id('edit-stage-shop-release').click();
    await id('stage-qualifier').locator('option[value="2"]').waitFor({ state: 'attached' });
    await id('stage-qualifier').selectOption('2');
    await id('stage-save').click();
    await waitForText(id('stage-shop-release'), 'B:2');
    assert.equal((await call('release/x')).version, '2');

    await id('history-stage-shop-release').click();
    await id('stage-history-2').waitFor();
    await id('stage-restore-1').click();
    await waitForText(id('restore-after'), 'B:release');
    await t.browser.shot('stage-restore');
    await id('confirm-ok').click();
    await id('stage-history-3').waitFor();
    await t.browser.page.keyboard.press('Escape');
    await waitForText(id('stage-shop-release'), 'B:release');
    const restored = await stage('release');
    assert.deepEqual([restored.qualifier, restored.revision], ['release', 3]);
    assert.equal((await call('release/x')).version, '1');
  });

  test('a route a stage overrides is not removed; a stage and then the API are deleted', async () => {
    await id('edit-api-shop').click();
    await id('route-remove-1').click();
    await id('api-save').click();
    await waitForText(id('api-form-error'), 'prepub');
    await t.browser.shot('route-in-use');
    await id('api-cancel').click();
    assert.equal(((await t.api('GET', '/v1/apis/shop')).body as { routes: unknown[] }).routes.length, 2);

    // A route no stage uses: added, then removed.
    const routes = async () => ((await t.api('GET', '/v1/apis/shop')).body as { routes: unknown[] }).routes;
    const before = await routes();
    await id('edit-api-shop').click();
    await id('add-route').click();
    await id('route-method-2').selectOption('POST');
    await id('route-path-2').fill('/orders');
    await id('api-save').click();
    await waitForText(id('routes-shop'), 'POST /orders');
    assert.equal((await routes()).length, 3);
    await id('edit-api-shop').click();
    await id('route-remove-2').click();
    await id('api-save').click();
    await id('api-editor').waitFor({ state: 'detached' });
    await waitFor(async () => !((await id('routes-shop').textContent()) ?? '').includes('/orders'), {
      timeout: 10_000,
      what: 'POST /orders gone from the page',
    });
    assert.deepEqual(await routes(), before);

    await id('delete-stage-shop-dev').click();
    await id('confirm-ok').click();
    await id('stage-shop-dev').waitFor({ state: 'detached' });
    assert.equal((await t.api('GET', '/v1/apis/shop/stages/dev')).status, 404);

    await id('delete-api-shop').click();
    await id('confirm-ok').click();
    await waitForText(id('empty'), 'No APIs yet');
    assert.equal((await t.api('GET', '/v1/apis/shop')).status, 404);
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
});
