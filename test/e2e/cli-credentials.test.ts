import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiClient } from '../support/api-client.js';
import { runSluice, type CliRun } from '../support/cli.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// `sluice token` and `sluice key` as a person and a script use them, against a real server.
let server: SluiceProcess;
let removeDir: () => Promise<void>;
let work: string;

function sluice(args: string[], token = server.token): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: token };
  // Only the server and token given here: none of the caller's own.
  delete env.SLUICE_TOKEN_FILE;
  delete env.SLUICE_URL;
  return runSluice(args, work, env);
}

async function ok(args: string[], token?: string): Promise<string> {
  const run = await sluice(args, token);
  assert.equal(run.code, 0, `sluice ${args.join(' ')}:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-credentials-'));
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

test('token create shows the token once, list shows it without, revoke ends it', async () => {
  const shown = await ok(['token', 'create', 'ci', '--scope', 'deploy', '--function-prefix', 'shop-']);
  const token = /token:\s+(sluice_\S+)/.exec(shown)?.[1] ?? '';
  const id = /id:\s+(tk_\S+)/.exec(shown)?.[1] ?? '';
  assert.ok(token && id, shown);
  assert.match(shown, /shown this once/);
  const listed = await ok(['token', 'list']);
  assert.match(listed, new RegExp(`${id}\\s+ci\\s+deploy\\s+shop-`));
  assert.ok(!listed.includes(token));
  assert.equal((await apiClient(server.url, token)('GET', '/v1/functions')).status, 200);
  // The new token itself is no admin: it cannot list the credentials.
  const refused = await sluice(['token', 'list'], token);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /scope deploy; this needs admin/);
  assert.match(await ok(['token', 'revoke', id]), new RegExp(`revoked token ${id}`));
  assert.equal((await apiClient(server.url, token)('GET', '/v1/functions')).status, 401);
});

test('key create shows the secret once; --json is for scripts; delete removes the key', async () => {
  const created = JSON.parse(await ok(['key', 'create', 'sdk', '--scope', 'invoke', '--json'])) as {
    id: string;
    secret: string;
  };
  assert.match(created.id, /^AK/);
  const listed = JSON.parse(await ok(['key', 'list', '--json'])) as { id: string; name: string }[];
  assert.deepEqual(
    listed.map((k) => [k.id, k.name]),
    [[created.id, 'sdk']],
  );
  assert.ok(!JSON.stringify(listed).includes(created.secret));
  assert.match(await ok(['key', 'delete', created.id]), /deleted access key/);
  assert.match(await ok(['key', 'list']), /no access keys/);
});

test('mistakes end in one line on stderr and change nothing', async () => {
  const before = await ok(['token', 'list', '--json']);
  const cases: [string[], number, RegExp][] = [
    [['token', 'create', 'x'], 2, /--scope is required/],
    [['token', 'create', 'x', '--scope', 'root'], 2, /--scope must be admin, deploy or invoke, not "root"/],
    [['token', 'create', '--scope', 'invoke'], 2, /NAME/],
    [['token', 'create', 'bad name', '--scope', 'invoke'], 1, /name/],
    [['token', 'create', 'x', '--scope', 'invoke', '--function-prefix', 'a/b'], 1, /functionPrefix/],
    [['token', 'create', 'admin', '--scope', 'invoke'], 1, /exists already/],
    [['token', 'revoke', 'tk_NOSUCH'], 1, /no token has id tk_NOSUCH/],
    [['token', 'revoke'], 2, /ID/],
    [['key', 'delete', 'AKNOSUCH'], 1, /no access key has id AKNOSUCH/],
    [['key', 'create', 'k', '--scope', 'deploy', '--secret', 'mine'], 2, /unknown option --secret/],
  ];
  for (const [args, code, pattern] of cases) {
    const run = await sluice(args);
    assert.equal(run.code, code, `sluice ${args.join(' ')}:\n${run.stderr}`);
    const lines = run.stderr.split('\n').filter(Boolean);
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0] as string, /^sluice: /);
    assert.match(lines[0] as string, pattern, args.join(' '));
  }
  assert.equal(await ok(['token', 'list', '--json']), before);
});
