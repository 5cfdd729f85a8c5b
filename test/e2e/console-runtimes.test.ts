import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { strFromU8, unzipSync } from 'fflate';
import { SAMPLE_HANDLERS } from '../../src/contract/seed-handlers.js';
import { ConsoleTest, skipWithoutChromium as skip, waitForText } from '../support/browser.js';

// Create function in the console, in Chromium, for every runtime: the handler and the file follow the runtime,
// the starter is the runtime's sample — the very text `sluice init` writes — and, created from the page alone,
// each sample runs on $LATEST and reports the qualifier and the version in its log. A new line indents as the
// language has it (four spaces for Python, two for JavaScript).

const t = new ConsoleTest();
const { id } = t;

/** What each runtime's sample writes to the log on $LATEST. */
const LOGGED: Record<keyof typeof SAMPLE_HANDLERS, string> = {
  nodejs20: 'Qualifier from context: LATEST',
  python3: 'Qualifier from context:LATEST',
  'php8.2': 'LATESTLATEST',
  csharp: 'Qualifier from context: LATEST',
  custom: 'Qualifier from context: LATEST',
};

/** The editor's text, line by line as CodeMirror draws it. */
const editorText = () => id('starter-editor').locator('.cm-content').innerText();

describe('console: Create function for every runtime, from its sample', { skip }, () => {
  before(async () => {
    await t.start();
    await t.openBrowser('runtimes', '#/functions/new');
  });

  after(() => t.close());

  for (const [runtime, sample] of Object.entries(SAMPLE_HANDLERS)) {
    test(`${runtime}: the sample's handler, file and text, created and tested on $LATEST`, async () => {
      const name = `sample-${runtime.replace('.', '')}`;
      await t.browser.page.goto(`${t.server.url}/console/#/functions/new`);
      await id('fn-name').fill(name);
      await id('fn-runtime').selectOption(runtime);
      assert.equal(await id('fn-handler').inputValue(), sample.handler);
      await waitForText(id('starter-file'), sample.file);
      assert.equal(
        await id('starter-hello').isVisible(),
        runtime === 'nodejs20' || runtime === 'python3',
        'Hello world is offered where it is written',
      );
      await t.browser.shot(`${runtime}-create`);
      await id('fn-create').click();
      await t.browser.page.waitForURL(new RegExp(`/functions/${name}/code`));

      const code = await t.api('GET', `/v1/functions/${name}/code`);
      assert.equal(code.status, 200);
      assert.deepEqual(
        Object.entries(unzipSync(new Uint8Array(code.bytes))).map(([path, bytes]) => [
          path,
          strFromU8(bytes),
        ]),
        [[sample.file, sample.source]],
        'the package holds the sample, as sluice init writes it',
      );
      await id('test-button').click();
      // C# compiles the sources at the first start: more than the usual moment on a busy machine.
      await waitForText(id('test-status'), 'Succeeded', 90_000);
      assert.equal(await id('test-version').textContent(), 'LATEST');
      assert.equal(await id('test-qualifier').textContent(), 'LATEST');
      await waitForText(id('test-log'), LOGGED[runtime as keyof typeof SAMPLE_HANDLERS]);
      await t.browser.shot(`${runtime}-tested`);
    });
  }

  test('a new line indents as the language has it: four spaces in Python, two in JavaScript', async () => {
    await t.browser.page.goto(`${t.server.url}/console/#/functions/new`);
    for (const [runtime, indent] of [
      ['python3', '    '],
      ['nodejs20', '  '],
    ] as const) {
      await id('fn-runtime').selectOption(runtime);
      await id('starter-seed').check();
      await id('starter-empty').check();
      await id('starter-editor').locator('.cm-content').click();
      await t.browser.page.keyboard.press('Tab');
      await t.browser.page.keyboard.type('x');
      assert.equal(await editorText(), `${indent}x`, runtime);
    }
    assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
  });
});
