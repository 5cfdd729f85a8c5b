import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeDataDir, spawnServer, type SpawnedServer } from '../support/server-process.js';
import { waitFor } from '../support/wait-for.js';

// How a new user finds the console: `sluice server` says where it is, and the server's own address leads there.

let dir: Awaited<ReturnType<typeof makeDataDir>>;
let server: SpawnedServer;

before(async () => {
  dir = await makeDataDir();
  server = await spawnServer(['--data-dir', dir.dataDir]);
});

after(async () => {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
  await dir.remove();
});

test('sluice server prints the console’s address when it starts', async () => {
  await waitFor(() => server.output().includes(`The web console is at ${server.url}/console/`), {
    timeout: 10_000,
    what: `the console's address in:\n${server.output()}`,
  });
});

test('GET and HEAD / lead to /console/; other methods on / are not redirected', async () => {
  for (const method of ['GET', 'HEAD']) {
    const res = await fetch(`${server.url}/`, { method, redirect: 'manual' });
    assert.equal(res.status, 302, method);
    assert.equal(res.headers.get('location'), '/console/', method);
  }
  const followed = await fetch(`${server.url}/`);
  assert.equal(followed.status, 200);
  assert.match(await followed.text(), /<div id="app">/);
  const post = await fetch(`${server.url}/`, { method: 'POST', redirect: 'manual' });
  assert.notEqual(post.status, 302);
});
