import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';
import { runSluice, type CliRun } from '../support/cli.js';
import { waitFor } from '../support/wait-for.js';

// A progressive rollout from the terminal: `deploy --rollout`, `rollout status|list|start|abort`.
let server: SluiceProcess;
let removeDir: () => Promise<void>;
let work: string;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-rollout-'));
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

function sluice(...args: string[]): Promise<CliRun> {
  return runSluice(args, work, { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token });
}

async function ok(...args: string[]): Promise<string> {
  const run = await sluice(...args);
  assert.equal(run.code, 0, `sluice ${args.join(' ')} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

test('deploy --rollout moves an alias to the new version step by step', async () => {
  await ok('init', 'app', '--runtime', 'nodejs20', '--name', 'app');
  await ok('deploy', 'app', '--publish');
  await ok('alias', 'create', 'app', 'live', '--version', '1');
  await appendFile(join(work, 'app', 'index.js'), '\n// version 2\n');
  const deployed = JSON.parse(
    await ok(
      'deploy',
      'app',
      '--alias',
      'live',
      '--rollout',
      '--steps',
      '50%',
      '--interval',
      '1s',
      '--min-invocations',
      '3',
      '--json',
    ),
  ) as { version: { versionId: string }; rollout: string };
  assert.equal(deployed.version.versionId, '2');
  const id = deployed.rollout;
  assert.match(id, /^[0-9a-f-]{36}$/);
  // Traffic in rounds of ten until the rollout ends; generous, for a machine busy with other tests.
  const status = await waitFor(
    async () => {
      await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`${server.url}/v1/functions/app/invocations?qualifier=live`, {
            method: 'POST',
            headers: { authorization: `Bearer ${server.token}` },
          }).then((r) => r.arrayBuffer()),
        ),
      );
      const now = (JSON.parse(await ok('rollout', 'status', id, '--json')) as { status: string }).status;
      return now !== 'running' && now;
    },
    { timeout: 90_000, what: 'the rollout to end', interval: 200 },
  );
  assert.equal(status, 'succeeded');
  const text = await ok('rollout', 'status', id);
  assert.match(text, /succeeded/);
  assert.match(text, /promoted/);
  assert.match(await ok('rollout', 'list', 'app', 'live'), new RegExp(id));
  const alias = JSON.parse(await ok('alias', 'get', 'app', 'live', '--json')) as {
    version: string;
    canary?: unknown;
  };
  assert.equal(alias.version, '2');
  assert.equal(alias.canary, undefined);
});

test('rollout start and abort from the terminal, and its usage errors', async () => {
  await appendFile(join(work, 'app', 'index.js'), '\n// version 3\n');
  await ok('deploy', 'app', '--publish');
  const started = JSON.parse(
    await ok('rollout', 'start', 'app', 'live', '--to', '3', '--weight', '10%', '--interval', '1h', '--json'),
  ) as {
    id: string;
  };
  const aborted = JSON.parse(await ok('rollout', 'abort', started.id, '--json')) as { status: string };
  assert.equal(aborted.status, 'aborted');
  const alias = JSON.parse(await ok('alias', 'get', 'app', 'live', '--json')) as {
    version: string;
    canary?: unknown;
  };
  assert.equal(alias.version, '2');
  assert.equal(alias.canary, undefined);
  for (const [args, pattern] of [
    [['rollout', 'start', 'app', 'live'], /--to V is required/],
    [['rollout', 'start', 'app', 'live', '--to', '3', '--weight', '150%'], /--weight/],
    [['rollout', 'start', 'app', 'live', '--to', '3', '--interval', 'soon'], /--interval/],
    [['rollout', 'start', 'app', 'live', '--to', '3', '--strategy', 'big-bang'], /--strategy/],
    [['deploy', 'app', '--alias', 'live', '--rollout', '--traffic', '0.1'], /either --traffic/],
  ] as const) {
    const run = await sluice(...args);
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, pattern);
    assert.equal(run.stderr.trim().split('\n').length <= 2, true, 'a short error');
  }
});
