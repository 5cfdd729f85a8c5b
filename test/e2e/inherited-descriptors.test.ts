import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { createFunctions, zipOf } from '../support/code.js';
import { makeDataDir, OWN_INSTANCE_UIDS_FLAG, spawnServer } from '../support/server-process.js';

// A descriptor left open across exec by what started the server (a shell's `exec 37<file`, a supervisor's)
// would reach every process the server spawns: a function must not find it among its own.

/** Lists what the function's process holds open, by where each descriptor leads. */
const HANDLER = `const fs = require('fs');
exports.handler = async () =>
  fs.readdirSync('/proc/self/fd').map((fd) => { try { return fs.readlinkSync('/proc/self/fd/' + fd); } catch { return ''; } });`;

for (const isolation of ['auto', 'none']) {
  describe(`descriptors inherited by the server, isolation ${isolation}`, () => {
    let dir: string;
    let secret: string;
    let data: Awaited<ReturnType<typeof makeDataDir>>;
    let server: Awaited<ReturnType<typeof spawnServer>>;

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'sluice-inherited-'));
      secret = join(dir, 'operator-secret');
      await writeFile(secret, 'not for functions');
      data = await makeDataDir();
      // bash opens 37 without close-on-exec, as a shell's redirection does, then becomes the server.
      const wrapper = ['bash', '-c', `exec 37<'${secret}'; exec "$@"`, 'sluice'];
      server = await spawnServer(
        ['--data-dir', data.dataDir, '--isolation', isolation, ...OWN_INSTANCE_UIDS_FLAG],
        process.env,
        undefined,
        wrapper,
      );
    });

    after(async () => {
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
      await data.remove();
      await rm(dir, { recursive: true, force: true });
    });

    it('closes it at start, says so, and no function holds it', async () => {
      assert.match(
        server.output(),
        /Closed descriptors [\d, ]*\b37\b[\d, ]*, left open by what started the server/,
      );
      const token = (await import('node:fs')).readFileSync(join(data.dataDir, 'admin-token'), 'utf8').trim();
      const api = apiClient(server.url, token);
      await createFunctions(api, [['fds', await zipOf({ 'index.js': HANDLER }), { runtime: 'nodejs20' }]]);
      const res = await api('POST', '/v1/functions/fds/invocations');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const open = res.body as string[];
      assert.ok(open.length >= 3, `the function listed its descriptors: ${JSON.stringify(open)}`);
      assert.ok(!open.some((target) => target.includes('operator-secret')), JSON.stringify(open));
    });
  });
}
