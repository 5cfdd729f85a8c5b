import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { apiClient } from '../support/api-client.js';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';
import { waitFor } from '../support/wait-for.js';

// The console's Credentials page in a real browser, and the alias history naming who changed what. What was
// saved is checked through the API, not the page.

let page: Page;
const t = new ConsoleTest();
const id = (testid: string): Locator => page.getByTestId(testid);

before(async () => {
  if (skip) return;
  await t.start();
  await t.openBrowser('credentials');
  page = t.browser.page;
});

after(() => t.close());

test(
  'an admin creates a token (shown once), sees it listed, revokes it; the alias history names it',
  { skip },
  async () => {
    await page.goto(`${t.server.url}/console/#/credentials`);
    await id('token-input').fill(t.server.token);
    await id('signin-button').click();
    await id('nav-credentials').click();
    await id('cred-name').fill('ci');
    await id('cred-scope').selectOption('deploy');
    await id('cred-create').click();
    const token = (await waitForText(id('new-credential-secret'), /^sluice_/)).trim();
    const tokenId = (await id('new-credential-id').textContent())?.trim() ?? '';
    await waitForText(id('token-ci'), /ci.*deploy/);
    assert.ok(!((await id('list-token').textContent()) ?? '').includes(token), 'the list holds no token');
    await t.browser.shot('token-created');

    // A bad prefix is refused inline, and nothing is created.
    await id('cred-kind').selectOption('key');
    await id('cred-name').fill('sdk');
    await id('cred-prefix').fill('a/b');
    await id('cred-create').click();
    await waitForText(id('error-functionPrefix'), 'must be 1 to 64 letters, digits, underscores or hyphens');
    await t.browser.shot('prefix-refused');
    assert.deepEqual((await t.api('GET', '/v1/access-keys')).body, { accessKeys: [] });
    // The message goes once the prefix is right.
    await id('cred-prefix').fill('sdk-');
    await id('error-functionPrefix').waitFor({ state: 'hidden' });

    // The new token changes an alias: the history in the console names it.
    const ci = apiClient(t.server.url, token);
    assert.equal(
      (await ci('POST', '/v1/functions', { name: 'f', runtime: 'nodejs20', handler: 'index.handler' }))
        .status,
      201,
    );
    assert.equal((await ci('PUT', '/v1/functions/f/aliases/live', { version: '$LATEST' })).status, 201);
    await page.goto(`${t.server.url}/console/#/functions/f/aliases`);
    await id('history-alias-live').click();
    await waitForText(id('history-1'), new RegExp(`by ci \\(${tokenId}\\)`));
    await t.browser.shot('history-names-token');
    await page.keyboard.press('Escape');

    await page.goto(`${t.server.url}/console/#/credentials`);
    await id('remove-token-ci').click();
    await id('confirm-ok').click();
    await waitFor(async () => (await ci('GET', '/v1/functions')).status === 401, {
      timeout: 10_000,
      what: 'the revoked token to be refused',
    });
    await waitFor(async () => (await id('token-ci').count()) === 0, {
      timeout: 10_000,
      what: 'ci gone from the list',
    });
    await t.browser.shot('token-revoked');
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  },
);

test(
  'a deploy token limited to a prefix, made in the page, signs in: it works on its functions, and the console says what its scope refuses',
  { skip },
  async () => {
    await page.goto(`${t.server.url}/console/#/credentials`);
    await id('cred-name').fill('shop-deployer');
    await id('cred-scope').selectOption('deploy');
    await id('cred-prefix').fill('shop-');
    await id('cred-create').click();
    const token = (await waitForText(id('new-credential-secret'), /^sluice_/)).trim();
    await waitForText(id('token-shop-deployer'), /deploy.*shop-/);

    await id('signout').click();
    await id('token-input').fill(token);
    await id('signin-button').click();
    await page.waitForURL((u) => !u.hash.startsWith('#/signin'));

    // Inside its prefix: a function created from the page.
    await page.goto(`${t.server.url}/console/#/functions/new`);
    await id('fn-name').fill('shop-cart');
    await id('fn-create').click();
    await page.waitForURL(/#\/functions\/shop-cart/);
    assert.equal((await t.api('GET', '/v1/functions/shop-cart')).status, 200);

    // Outside it, and the credentials an admin manages: refused, and the page says why.
    await page.goto(`${t.server.url}/console/#/functions/f/code`);
    await waitForText(id('error'), 'Forbidden');
    await t.browser.shot('outside-prefix');
    await page.goto(`${t.server.url}/console/#/credentials`);
    await waitForText(id('error'), 'Forbidden');
    await t.browser.shot('credentials-refused');
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  },
);
