import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { apiClient, errorCode, type ApiCall } from '../support/api-client.js';
import { runSluice } from '../support/cli.js';
import { zipOf } from '../support/code.js';
import { makeDataDir, spawnServer, startSluice, type SluiceProcess } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// Issue 17, item 6 end to end: tenant pages and the console. Served from the console's origin, a function's
// page runs sandboxed (CSP) and cannot read the signed-in token; with --data-plane-port or --public-host,
// triggers and stages leave the console's origin altogether.

const CHROMIUM = '/usr/bin/chromium';
const skipBrowser =
  !existsSync(CHROMIUM) && process.env.CI === undefined
    ? `${CHROMIUM} is missing (apt-get install chromium)`
    : false;

/** A page that tries to read what the console keeps in the tab's sessionStorage, and shows what it got. */
const PAGE_HANDLER = `exports.handler = async () => ({
  statusCode: 200,
  headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "img-src 'none'" },
  body: '<!doctype html><title>pending</title><script>' +
    'try { document.title = "read:" + sessionStorage.getItem("sluice.token"); }' +
    ' catch (e) { document.title = "blocked:" + e.name; }</script>',
});
`;

async function deployPage(api: ApiCall): Promise<void> {
  const created = await api('POST', '/v1/functions', {
    name: 'page',
    runtime: 'nodejs20',
    handler: 'index.handler',
    code: { zipFile: (await zipOf({ 'index.js': PAGE_HANDLER })).toString('base64') },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal((await api('PUT', '/v1/functions/page/trigger', { authType: 'anonymous' })).status, 200);
}

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

describe("on the console's origin", () => {
  let server: SluiceProcess;
  let remove: () => Promise<void>;

  before(async () => {
    const dir = await makeDataDir();
    remove = dir.remove;
    server = await startSluice(dir.dataDir);
    await deployPage(apiClient(server.url, server.token));
  });

  after(async () => {
    await server.stop();
    await remove();
  });

  test("a function's answer carries a sandbox policy beside its own", async () => {
    const res = await get(`${server.url}/fn/page/$LATEST/`);
    assert.equal(res.status, 200);
    const policy = res.headers.get('content-security-policy') ?? '';
    assert.match(policy, /img-src 'none'/);
    assert.match(policy, /sandbox allow-scripts/);
    assert.doesNotMatch(policy, /allow-same-origin/);
  });

  test('a page reached from the signed-in console cannot read its token', { skip: skipBrowser }, async () => {
    const profile = await mkdtemp(join(tmpdir(), 'sluice-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      await page.goto(`${server.url}/console/`);
      await page.getByTestId('token-input').fill(server.token);
      await page.getByTestId('signin-button').click();
      await page.getByTestId('isolation').waitFor();
      assert.equal(await page.evaluate('sessionStorage.getItem("sluice.token")'), server.token);
      // The same tab, so the same sessionStorage, were the page of the console's origin.
      await page.goto(`${server.url}/fn/page/$LATEST/`);
      await page.waitForFunction('document.title !== "pending"');
      const title = await page.title();
      assert.match(title, /^blocked:SecurityError$/, title);
      assert.ok(!title.includes(server.token));
    } finally {
      await browser.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});

describe('with a data-plane port of its own', () => {
  let server: Awaited<ReturnType<typeof spawnServer>>;
  let api: ApiCall;
  let dataPlane: string;
  let remove: () => Promise<void>;
  let dataDir: string;

  before(async () => {
    const dir = await makeDataDir();
    remove = dir.remove;
    dataDir = dir.dataDir;
    server = await spawnServer(['--data-dir', dir.dataDir, '--data-plane-port', '0']);
    dataPlane = await waitFor(() => /served at (http:\/\/\S+)/.exec(server.output())?.[1], {
      timeout: 30_000,
      what: 'the server to say where it serves the data plane',
    });
    const token = (await readFile(join(dir.dataDir, 'admin-token'), 'utf8')).trim();
    api = apiClient(server.url, token);
    await deployPage(api);
  });

  after(async () => {
    server.child.kill('SIGTERM');
    await new Promise((resolve) => server.child.once('exit', resolve));
    await remove();
  });

  test('triggers are served there, without the sandbox policy', async () => {
    const res = await get(`${dataPlane}/fn/page/$LATEST/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), "img-src 'none'");
  });

  test("the console's port refuses triggers and stages, and says where they are", async () => {
    for (const path of ['/fn/page/$LATEST/', '/gw/shop/prod/x']) {
      const res = await get(`${server.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.match(res.text, /RouteNotFound/);
      assert.match(res.text, new RegExp(`port ${new URL(dataPlane).port}`));
    }
  });

  test('the data plane refuses the console and /v1, but serves the invoke API and health', async () => {
    assert.equal((await get(`${dataPlane}/console/`)).status, 404);
    assert.equal(errorCode(await apiClient(dataPlane, undefined)('GET', '/v1/functions')), 'RouteNotFound');
    assert.equal((await get(`${dataPlane}/healthz`)).status, 200);
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const invoked = await fetch(`${dataPlane}/v1/functions/page/invocations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    await invoked.arrayBuffer();
    assert.equal(invoked.status, 200);
  });

  test('GET /v1/server and the CLI name the data plane', async () => {
    const info = await api('GET', '/v1/server');
    assert.deepEqual((info.body as { dataPlane: unknown }).dataPlane, {
      port: Number(new URL(dataPlane).port),
    });
    const shown = await runSluice(
      ['function', 'get', 'page', '--server', server.url, '--token-file', join(dataDir, 'admin-token')],
      dataDir,
      process.env,
    );
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`${dataPlane}/fn/page/\\$DEFAULT/`));
  });
});

describe('with a public host of its own', () => {
  let server: SluiceProcess;
  let remove: () => Promise<void>;

  before(async () => {
    const dir = await makeDataDir();
    remove = dir.remove;
    server = await startSluice(dir.dataDir, ['--public-host', 'fn.example.test']);
    await deployPage(apiClient(server.url, server.token));
  });

  after(async () => {
    await server.stop();
    await remove();
  });

  test('requests for that host get triggers only; other names get the console only', async () => {
    const onHost = { host: 'fn.example.test' };
    // fetch sets Host from the URL: a raw request names the public host on the same port.
    const send = (path: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}${path}`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    assert.equal(await send('/fn/page/$LATEST/', onHost), 200);
    assert.equal(await send('/fn/page/$LATEST/', { host: 'FN.EXAMPLE.TEST:9000' }), 200);
    assert.equal(await send('/console/', onHost), 404);
    assert.equal(await send('/v1/functions', { ...onHost, authorization: `Bearer ${server.token}` }), 404);
    assert.equal(await send('/fn/page/$LATEST/', {}), 404);
    assert.equal(await send('/console/', {}), 200);
    const info = await apiClient(server.url, server.token)('GET', '/v1/server');
    assert.deepEqual((info.body as { dataPlane: unknown }).dataPlane, { publicHost: 'fn.example.test' });
  });

  test('a host name that is not one is refused at start', async () => {
    const dir = await makeDataDir();
    try {
      const run = await runSluice(
        ['server', '--port', '0', '--data-dir', dir.dataDir, '--public-host', 'http://fn/'],
        dir.dataDir,
        process.env,
      );
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /--public-host: "http:\/\/fn\/" is not a host name/);
    } finally {
      await dir.remove();
    }
  });
});
