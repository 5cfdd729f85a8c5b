import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ConsoleTest, skipWithoutChromium as skip } from '../support/browser.js';
import { zipOf } from '../support/code.js';
import { waitFor } from '../support/wait-for.js';

// The console's layout at 800 and 1440 pixels wide: on every page, tab, dialog and drawer, with long names, a
// canary, rules, provisioned instances, stages with overrides and variables, a rollout, a timer, an asynchronous
// invocation and a new credential's secret on screen, nothing scrolls sideways — neither the page nor any box
// inside it (the code editor's own lines excepted). A screenshot of each is kept.

const FN = 'checkout-service-with-a-rather-long-name';
const API = 'storefront-public-api';
let rolloutId = '';
let asyncId = '';
let keysMade = 0;
const TRIGGER = 'nightly-settlement-of-the-storefront-orders';
const t = new ConsoleTest();

async function ok(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await t.api(method, path, body);
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${res.bytes.toString()}`);
  return res.body;
}

/**
 * What overflows sideways: the page itself, any box that scrolls sideways, any box that ends past the window.
 * Run in the page (a string, as the tests are compiled without the DOM's types).
 */
const OVERFLOWS = `(() => {
  const found = [];
  const root = document.scrollingElement ?? document.documentElement;
  if (root.scrollWidth > window.innerWidth)
    found.push('the page is ' + root.scrollWidth + 'px wide in a ' + window.innerWidth + 'px window');
  const name = (el) => el.tagName.toLowerCase() + '.' + String(el.className) + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '');
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.cm-scroller, svg, .toasts') || el.offsetParent === null) continue;
    const overflowX = getComputedStyle(el).overflowX;
    if ((overflowX === 'auto' || overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1)
      found.push(name(el) + ' scrolls: ' + el.scrollWidth + ' > ' + el.clientWidth);
    const right = el.getBoundingClientRect().right;
    if (right > window.innerWidth + 1) found.push(name(el) + ' ends at ' + Math.round(right) + 'px');
  }
  return [...new Set(found)].slice(0, 10);
})()`;

async function overflows(): Promise<string[]> {
  return t.browser.page.evaluate<string[]>(OVERFLOWS);
}

/** A page of function FN's `tab` (and query), with what is clicked there in turn to open a panel. */
const onTab = (name: string, tab: string, ready: string, ...open: string[]) => ({
  name,
  hash: () => `#/functions/${FN}/${tab}`,
  open,
  ready,
});

/** A page: its address, what is clicked there in turn (testids) to open a panel, and what shows it is drawn. */
const PAGES: {
  name: string;
  hash: () => string;
  open?: string[];
  act?: () => Promise<void>;
  ready: string;
}[] = [
  // Shown even when signed in, and the session's token stays.
  { name: 'signin', hash: () => '#/signin', ready: 'token-input' },
  { name: 'functions', hash: () => '#/functions', ready: `function-row-${FN}` },
  { name: 'create', hash: () => '#/functions/new', ready: 'fn-name' },
  onTab('code', 'code', 'code-editor'),
  onTab('config', 'config', 'tab-panel'),
  onTab('code-version', 'code?qualifier=2', 'readonly-notice'),
  onTab('versions', 'versions', 'version-row-2'),
  onTab('version-compare', 'versions', 'compare-result', 'compare-button'),
  onTab('aliases', 'aliases', 'alias-row-release-candidate'),
  onTab('alias-editor', 'aliases', 'rule-value-1', 'edit-alias-by-rules'),
  onTab('new-alias', 'aliases', 'alias-name', 'create-alias'),
  onTab('alias-rollback', 'aliases', 'rollback-dialog', 'rollback-alias-live'),
  onTab('alias-advanced', 'aliases', 'provisioned-status', 'edit-alias-release-candidate'),
  onTab('alias-history', 'aliases', 'history-1', 'history-alias-by-rules'),
  onTab('alias-explain', 'aliases', 'explain-run', 'explain-alias-by-rules'),
  onTab('rollouts', 'rollouts', 'rollout-table'),
  onTab('rollout-editor', 'rollouts', 'rollout-plan', 'start-rollout'),
  {
    name: 'rollout',
    hash: () => `#/functions/${FN}/rollouts?rollout=${rolloutId}`,
    ready: 'rollout-guardrails',
  },
  onTab('monitoring', 'monitoring', 'metrics-table'),
  onTab('stages', 'stages', 'stage-table'),
  onTab('triggers', 'triggers', `trigger-row-${TRIGGER}`),
  onTab('trigger-editor', 'triggers', 'trigger-schedule', `edit-trigger-${TRIGGER}`),
  onTab('new-trigger', 'triggers', 'trigger-schedule', 'create-trigger'),
  onTab('async', 'async', 'async-table'),
  {
    name: 'async-record',
    hash: () => `#/functions/${FN}/async?invocation=${asyncId}`,
    ready: 'async-attempt-1',
  },
  { name: 'apis', hash: () => '#/apis', ready: `api-${API}` },
  { name: 'stage-editor', hash: () => '#/apis', open: [`edit-stage-${API}-prepub`], ready: 'override-0' },
  { name: 'new-stage', hash: () => '#/apis', open: [`add-stage-${API}`], ready: 'stage-name' },
  {
    name: 'stage-history',
    hash: () => '#/apis',
    open: [`history-stage-${API}-prepub`],
    ready: 'stage-history-1',
  },
  { name: 'api-editor', hash: () => '#/apis', open: [`edit-api-${API}`], ready: 'route-path-1' },
  { name: 'new-api', hash: () => '#/apis', open: ['create-api'], ready: 'api-name' },
  { name: 'credentials', hash: () => '#/credentials', ready: 'list-key' },
  {
    name: 'new-credential',
    hash: () => '#/credentials',
    // A key pair's secret, long and unbroken, shown once.
    act: async () => {
      await t.browser.id('cred-kind').selectOption('key');
      // Names are unique: one key for each width.
      await t.browser.id('cred-name').fill(`deploys-of-the-${FN}-${++keysMade}`);
      await t.browser.id('cred-scope').selectOption('deploy');
      await t.browser.id('cred-prefix').fill('checkout-service-');
      await t.browser.id('cred-create').click();
    },
    ready: 'new-credential-secret',
  },
];

describe('console: layout at 800 and 1440 pixels', { skip }, () => {
  before(async () => {
    await t.start();
    await ok('POST', '/v1/functions', {
      name: FN,
      runtime: 'nodejs20',
      handler: 'index.handler',
      description: 'Takes the orders of the storefront and hands them to the payment provider',
      environmentVariables: { PAYMENT_PROVIDER_ENDPOINT: 'https://payments.example.com/v2/charges' },
    });
    for (const n of [1, 2, 3]) {
      await ok(
        'PUT',
        `/v1/functions/${FN}/code`,
        await zipOf({ 'index.js': `exports.handler = async () => ${n};` }),
      );
      await ok('POST', `/v1/functions/${FN}/versions`, {
        description: `release ${n} of the checkout service`,
      });
    }
    await ok('PUT', `/v1/functions/${FN}/aliases/release-candidate`, {
      version: '1',
      description: 'What the storefront calls in production',
      canary: { version: '2', weight: 0.2575, sticky: { source: 'header', name: 'x-storefront-user-id' } },
    });
    // Seed 001's Advanced section: provisioned instances, half of them for the canary.
    await ok('PUT', `/v1/functions/${FN}/provisioned/release-candidate`, { target: 2, canaryRatio: 0.5 });
    await ok('PUT', `/v1/functions/${FN}/aliases/by-rules`, {
      version: '1',
      canary: {
        version: '2',
        match: 'any',
        rules: [
          { source: 'header', name: 'x-storefront-beta-tester', op: '=', value: 'yes-please-and-thank-you' },
          {
            source: 'cookie',
            name: 'session-region',
            op: 'in',
            value: ['eu-west-1', 'eu-central-1', 'us-east-2'],
          },
        ],
      },
    });
    await ok('PUT', `/v1/functions/${FN}/aliases/live`, { version: '1' });
    rolloutId = (
      (await ok('POST', `/v1/functions/${FN}/aliases/live/rollouts`, {
        to: '3',
        steps: [0.05, 0.1, 0.25, 0.5, 0.75],
        interval: '1h',
        maxErrorRate: 0.01,
        maxErrorRateRatio: 2,
        maxP99Ms: 500,
        maxPlatformErrors: 3,
      })) as { id: string }
    ).id;
    await ok('POST', '/v1/apis', {
      name: API,
      routes: [
        { method: 'ANY', path: '/{proxy+}' },
        { method: 'GET', path: '/catalogue/categories/{category}/products/{product}' },
      ],
    });
    for (const [stage, qualifier] of [
      ['release', 'release-candidate'],
      ['prepub', 'by-rules'],
      ['dev', '$LATEST'],
    ] as const)
      await ok('PUT', `/v1/apis/${API}/stages/${stage}`, {
        function: FN,
        qualifier,
        variables: { PAYMENT_PROVIDER_ENDPOINT: 'https://payments.example.com/v2/charges' },
        routes: {
          'GET /catalogue/categories/{category}/products/{product}': { function: FN, qualifier: '3' },
        },
      });
    await ok('POST', `/v1/functions/${FN}/triggers`, {
      name: TRIGGER,
      kind: 'timer',
      schedule: '0 3 * * 1-5',
      qualifier: 'release-candidate',
      payload: JSON.stringify({ job: 'settle-the-orders-of-the-previous-day', region: 'eu-central-1' }),
      description: 'Settles the orders of the previous day with the payment provider, on working days',
    });
    const queued = await t.api('POST', `/v1/functions/${FN}/invocations?qualifier=release-candidate`, '{}', {
      'x-fc-invocation-type': 'Async',
    });
    assert.equal(queued.status, 202, queued.bytes.toString());
    asyncId = (queued.body as { requestId: string }).requestId;
    await waitFor(
      async () =>
        ((await ok('GET', `/v1/functions/${FN}/async-invocations/${asyncId}`)) as { status: string })
          .status === 'succeeded',
      { timeout: 30_000, what: 'the asynchronous invocation to succeed' },
    );
    await t.openBrowser('layout', '#/functions');
  });

  after(() => t.close());

  for (const width of [800, 1440]) {
    test(`${width} px: no page or panel scrolls sideways`, async () => {
      await t.browser.page.setViewportSize({ width, height: 900 });
      const problems: string[] = [];
      for (const p of PAGES) {
        await t.browser.page.goto(`${t.server.url}/console/${p.hash()}`);
        for (const testid of p.open ?? []) await t.browser.id(testid).click();
        await p.act?.();
        await t.browser.id(p.ready).first().waitFor();
        // Charts, lists and badges that load after the page: a moment for them to arrive.
        await t.browser.page.waitForLoadState('networkidle').catch(() => undefined);
        const found = await overflows();
        if (found.length) problems.push(`${p.name}: ${found.join('; ')}`);
        await t.browser.shot(`${width}-${p.name}`);
        if ((await t.browser.page.locator('[role="dialog"]').count()) > 0) {
          await t.browser.page.keyboard.press('Escape');
          await t.browser.page.locator('[role="dialog"]').waitFor({ state: 'detached' });
        }
      }
      assert.deepEqual(problems, [], `at ${width} px`);
      assert.deepEqual(t.browser.errors, [], 'the browser reported errors');
    });
  }
});
