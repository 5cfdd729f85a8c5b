import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Locator, type Page } from 'playwright-core';
import { apiClient, type ApiCall } from '../support/api-client.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// The console's Credentials page in a real browser, and the alias history naming who changed what. What was
// saved is checked through the API, not the page.

const CHROMIUM = '/usr/bin/chromium';
const skip =
  !existsSync(CHROMIUM) && process.env.CI === undefined
    ? `${CHROMIUM} is missing (apt-get install chromium)`
    : false;

let server: SluiceProcess;
let api: ApiCall;
let page: Page;
const cleanups: (() => Promise<unknown>)[] = [];
const id = (testid: string): Locator => page.getByTestId(testid);

function waitForText(locator: Locator, expected: RegExp): Promise<string> {
  return waitFor(
    async () => {
      const text = (await locator.textContent({ timeout: 1000 }).catch(() => null)) ?? '';
      assert.match(text, expected);
      return text;
    },
    { timeout: 30_000, what: `${String(expected)} in ${locator.toString()}`, interval: 100 },
  );
}

before(async () => {
  if (skip) return;
  const dir = await makeDataDir();
  cleanups.push(dir.remove);
  server = await startSluice(dir.dataDir);
  cleanups.push(() => server.stop());
  api = apiClient(server.url, server.token);
  const profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
  cleanups.push(() => rm(profile, { recursive: true, force: true }));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--no-first-run',
    ],
  });
  cleanups.push(() => browser.close());
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(15_000);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

test(
  'an admin creates a token (shown once), sees it listed, revokes it; the alias history names it',
  { skip },
  async () => {
    await page.goto(`${server.url}/console/#/credentials`);
    await id('token-input').fill(server.token);
    await id('signin-button').click();
    await id('nav-credentials').click();
    await id('cred-name').fill('ci');
    await id('cred-scope').selectOption('deploy');
    await id('cred-create').click();
    const token = (await waitForText(id('new-credential-secret'), /^sluice_/)).trim();
    const tokenId = (await id('new-credential-id').textContent())?.trim() ?? '';
    await waitForText(id('token-ci'), /ci.*deploy/);
    assert.ok(!((await id('list-token').textContent()) ?? '').includes(token), 'the list holds no token');

    // A bad prefix is refused inline, and nothing is created.
    await id('cred-kind').selectOption('key');
    await id('cred-name').fill('sdk');
    await id('cred-prefix').fill('a/b');
    await id('cred-create').click();
    await waitForText(id('cred-error'), /functionPrefix/);
    assert.deepEqual((await api('GET', '/v1/access-keys')).body, { accessKeys: [] });

    // The new token changes an alias: the history in the console names it.
    const ci = apiClient(server.url, token);
    assert.equal(
      (await ci('POST', '/v1/functions', { name: 'f', runtime: 'nodejs20', handler: 'index.handler' }))
        .status,
      201,
    );
    assert.equal((await ci('PUT', '/v1/functions/f/aliases/live', { version: '$LATEST' })).status, 201);
    await page.goto(`${server.url}/console/#/functions/f/aliases`);
    await id('history-alias-live').click();
    await waitForText(id('history-1'), new RegExp(`by ci \\(${tokenId}\\)`));
    await page.keyboard.press('Escape');

    await page.goto(`${server.url}/console/#/credentials`);
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
  },
);
