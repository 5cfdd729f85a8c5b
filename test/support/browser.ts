import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Locator, type Page } from 'playwright-core';
import { apiClient, type ApiCall } from './api-client.js';
import { makeDataDir, startSluice, type SluiceProcess } from './server-process.js';
import { waitFor } from './wait-for.js';

/**
 * The web console's tests drive Debian's Chromium with playwright-core: never a downloaded browser, a fresh
 * profile each run, and screenshots of each flow kept in `$SLUICE_TEST_ARTIFACTS/console/` — by default
 * test-artifacts/console/ in the checkout, gitignored — which .ci/run names when it ends, for CI to keep.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** A reason to skip the console's tests: Chromium missing on a developer's machine (never in CI). */
export const skipWithoutChromium =
  !existsSync(CHROMIUM) && process.env.CI === undefined
    ? `${CHROMIUM} is missing (apt-get install chromium)`
    : false;

export const ARTIFACTS = join(
  process.env.SLUICE_TEST_ARTIFACTS ?? fileURLToPath(new URL('../../../test-artifacts/', import.meta.url)),
  'console',
);

export interface Browser {
  page: Page;
  /** The element with this data-testid. */
  id: (testid: string) => Locator;
  /** A full-page screenshot, `<prefix>-NN-<name>.png`, numbered in the order the flow takes them. */
  shot: (name: string) => Promise<void>;
  /** What the page reported as errors (uncaught exceptions, console.error), for a test to assert empty. */
  errors: string[];
  close: () => Promise<void>;
}

/** Opens Chromium on a fresh profile; `prefix` names this test file's screenshots. */
async function openBrowser(prefix: string, viewport = { width: 1280, height: 800 }): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: .ci/run installs it with apt-get install chromium`);
  await mkdir(ARTIFACTS, { recursive: true });
  // The screenshots of an earlier run of this file go: what is there is this run's.
  for (const file of await readdir(ARTIFACTS))
    if (file.startsWith(`${prefix}-`)) await rm(join(ARTIFACTS, file), { force: true });
  const profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    viewport,
    // No background traffic to hosts this machine cannot reach.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    // A refused call (401, 404, 409) is logged by the browser itself; the console shows it to the user.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
      errors.push(`console.error: ${message.text()}`);
    }
  });
  let shots = 0;
  return {
    page,
    id: (testid) => page.getByTestId(testid),
    shot: async (name) => {
      await page.evaluate('window.scrollTo(0, 0)');
      shots++;
      await page.screenshot({
        path: join(ARTIFACTS, `${prefix}-${String(shots).padStart(2, '0')}-${name}.png`),
        fullPage: true,
      });
    },
    errors,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Waits until the locator's text matches; the deadline is generous, for a machine busy with other tests. */
export function waitForText(locator: Locator, expected: string | RegExp, timeout = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const last = (await locator.textContent({ timeout: 1000 }).catch(() => null)) ?? '';
      const matches = typeof expected === 'string' ? last.includes(expected) : expected.test(last);
      assert.ok(matches, `last saw "${last}"`);
      return last;
    },
    { timeout, what: `${String(expected)} in ${locator.toString()}`, interval: 100 },
  );
}

/** Signs in to the console at `url` with `token` and waits to leave the sign-in page. */
async function signIn(browser: Browser, url: string, token: string, hash = '#/functions'): Promise<void> {
  await browser.page.goto(`${url}/console/${hash}`);
  await browser.id('token-input').fill(token);
  await browser.id('signin-button').click();
  await browser.page.waitForURL((u) => !u.hash.startsWith('#/signin'));
}

/**
 * A console test file's server (on a data directory of its own), client of its API and browser: `start` them in
 * its `before`, make what the test needs through the API, then `openBrowser`, so that the page opens on it;
 * `close` in its `after` undoes them, the last made first. Each is there once made.
 */
export class ConsoleTest {
  server!: SluiceProcess;
  api!: ApiCall;
  browser!: Browser;
  readonly #cleanups: (() => Promise<unknown>)[] = [];

  /** The element with this data-testid, in the browser. */
  readonly id = (testid: string): Locator => this.browser.id(testid);

  async start(): Promise<void> {
    const dir = await makeDataDir();
    this.#cleanups.push(dir.remove);
    const server = await startSluice(dir.dataDir);
    this.#cleanups.push(() => server.stop());
    this.server = server;
    this.api = apiClient(server.url, server.token);
  }

  /** Opens Chromium (`prefix` names the screenshots) and, given `hash`, signs in and lands there. */
  async openBrowser(prefix: string, hash?: string): Promise<void> {
    const browser = await openBrowser(prefix);
    this.#cleanups.push(() => browser.close());
    this.browser = browser;
    if (hash !== undefined) await signIn(browser, this.server.url, this.server.token, hash);
  }

  async close(): Promise<void> {
    for (const cleanup of this.#cleanups.splice(0).reverse()) await cleanup();
  }
}
