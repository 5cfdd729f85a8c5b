import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeDataDir, SLUICE_BIN, startSluice, type SluiceProcess } from '../support/server-process.js';
import { runSluice, type CliRun } from '../support/cli.js';
import { waitFor } from '../support/wait-for.js';

// The release workflows of seeds 004 and 001 played through the `sluice` CLI only, as a real process against
// a real server; the invoke API is called directly only for the 1 000 invocations of seed 001.
let server: SluiceProcess;
let removeDir: () => Promise<void>;
let work: string;

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
  delete env.SLUICE_TOKEN_FILE;
  delete env.SLUICE_URL;
  return env;
}

function sluice(...args: string[]): Promise<CliRun> {
  return runSluice(args, work, cliEnv());
}

/** Runs a command that must succeed; answers its stdout. */
async function ok(...args: string[]): Promise<string> {
  const run = await sluice(...args);
  assert.equal(run.code, 0, `sluice ${args.join(' ')} failed:\n${run.stderr}${run.stdout}`);
  return run.stdout;
}

async function json<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  return JSON.parse(await ok(...args, '--json')) as T;
}

interface AliasJson {
  version: string;
  revision: number;
  canary?: { version: string; weight?: number; match?: string; rules?: unknown[] };
}

/** The version that served one `sluice invoke`. */
async function served(fn: string, ...args: string[]): Promise<string> {
  return (await json<{ version: string }>('invoke', fn, ...args)).version;
}

/** The version `sluice explain` says a request would get. */
async function explained(fn: string, alias: string, ...args: string[]): Promise<string> {
  return (await json<{ version: string }>('explain', fn, alias, ...args)).version;
}

async function changeCode(dir: string, note: string): Promise<void> {
  await appendFile(join(dir, 'index.js'), `// ${note}\n`);
}

describe("seed 004's scheme through the CLI", () => {
  let dir: string;

  test('init and deploy create function B; aliases release and prepub start at $LATEST', async () => {
    dir = join(work, 'B');
    await ok('init', dir, '--runtime', 'nodejs20');
    const deployed = await json<{ created: boolean; version: unknown; function: { name: string } }>(
      'deploy',
      dir,
    );
    assert.equal(deployed.created, true);
    assert.equal(deployed.version, null);
    assert.equal(deployed.function.name, 'B');
    await ok('alias', 'create', 'B', 'release', '--version', '$LATEST');
    await ok('alias', 'create', 'B', 'prepub', '--version', 'LATEST');
    assert.equal(await served('B', '--qualifier', 'release'), 'LATEST');
    assert.equal(await explained('B', 'prepub'), '$LATEST');
    assert.equal(await served('B'), 'LATEST', '$DEFAULT → $LATEST');
  });

  test('version 1 from deploy --publish; release → 1', async () => {
    await changeCode(dir, 'version 1');
    const deployed = await json<{ version: { versionId: string; published: boolean } }>(
      'deploy',
      dir,
      '--publish',
    );
    assert.deepEqual(deployed.version, { versionId: '1', published: true });
    await ok('alias', 'update', 'B', 'release', '--version', '1');
    assert.equal(await served('B', '--qualifier', 'release'), '1');
    assert.equal(await explained('B', 'release'), '1');
  });

  test('version 2 gets 10 % of release: deploy --publish --alias release --traffic 0.1', async () => {
    await changeCode(dir, 'version 2');
    const out = await ok('deploy', dir, '--publish', '--alias', 'release', '--traffic', '0.1');
    assert.match(out, /published version 2/);
    assert.match(out, /release: 1 90% · 2 10%/);
    const alias = await json<AliasJson>('alias', 'get', 'B', 'release');
    assert.equal(alias.version, '1');
    assert.deepEqual(alias.canary, { version: '2', weight: 0.1 });
    for (let i = 0; i < 3; i++) assert.ok(['1', '2'].includes(await served('B', '--qualifier', 'release')));
    assert.equal(
      await served('B', '--qualifier', 'release', '--pin', '2'),
      '2',
      'a token holder tries the canary',
    );
    const why = await json<{ reason: string; weight: number }>('explain', 'B', 'release');
    assert.equal(why.reason, 'weight');
    assert.equal(why.weight, 0.1);
  });

  test('then 50 %: the same deploy with nothing changed keeps version 2', async () => {
    const deployed = await json<{ version: unknown; codeUploaded: boolean }>(
      'deploy',
      dir,
      '--alias',
      'release',
      '--traffic',
      '50%',
    );
    assert.deepEqual(deployed.version, { versionId: '2', published: false });
    assert.equal(deployed.codeUploaded, false);
    assert.deepEqual((await json<AliasJson>('alias', 'get', 'B', 'release')).canary, {
      version: '2',
      weight: 0.5,
    });
    assert.match(await ok('deploy', dir, '--publish'), /no change since version 2: version 2 stays/);
  });

  test('then 100 %: --traffic 1 makes version 2 the primary', async () => {
    await ok('deploy', dir, '--alias', 'release', '--traffic', '1');
    const alias = await json<AliasJson>('alias', 'get', 'B', 'release');
    assert.equal(alias.version, '2');
    assert.equal(alias.canary, undefined);
    for (let i = 0; i < 3; i++) assert.equal(await served('B', '--qualifier', 'release'), '2');
    assert.equal(await explained('B', 'release'), '2');
  });

  test('rollback: to the previous revision, then all traffic to version 1', async () => {
    await ok('alias', 'rollback', 'B', 'release');
    let alias = await json<AliasJson>('alias', 'get', 'B', 'release');
    assert.equal(alias.version, '1');
    assert.deepEqual(alias.canary, { version: '2', weight: 0.5 });
    assert.match(await ok('alias', 'rollback', 'B', 'release', '--to-primary'), /release: 1 100%/);
    alias = await json<AliasJson>('alias', 'get', 'B', 'release');
    assert.equal(alias.version, '1');
    assert.equal(alias.canary, undefined);
    for (let i = 0; i < 3; i++) assert.equal(await served('B', '--qualifier', 'release'), '1');
    assert.equal(await explained('B', 'release'), '1');
    const { history } = await json<{ history: { revision: number; action: string }[] }>(
      'alias',
      'history',
      'B',
      'release',
    );
    assert.deepEqual(
      history.map((h) => h.action),
      ['create', 'update', 'update', 'update', 'update', 'rollback', 'rollback'],
    );
    assert.match(
      await ok('alias', 'history', 'B', 'release'),
      /^REVISION +ACTION +ACTOR +AT +TRAFFIC AFTER$/m,
    );
  });

  test('version 3 from deploy --publish; prepub → 3', async () => {
    await changeCode(dir, 'version 3');
    assert.match(await ok('deploy', dir, '--publish'), /published version 3/);
    await ok('alias', 'update', 'B', 'prepub', '--version', '3');
    assert.equal(await served('B', '--qualifier', 'prepub'), '3');
    assert.equal(await served('B', '--qualifier', 'release'), '1', 'release is untouched');
  });

  test("version 4 for Bob in prepub: --rule 'header:User = Bob'", async () => {
    await changeCode(dir, 'version 4');
    assert.match(await ok('deploy', dir, '--publish', '--description', 'for Bob'), /published version 4/);
    await ok('alias', 'update', 'B', 'prepub', '--canary', '4', '--rule', 'header:User = Bob');
    const alias = await json<AliasJson>('alias', 'get', 'B', 'prepub');
    assert.equal(alias.version, '3');
    assert.deepEqual(alias.canary, {
      version: '4',
      match: 'all',
      rules: [{ source: 'header', name: 'User', op: '=', value: 'Bob' }],
    });
    assert.equal(await explained('B', 'prepub', '--header', 'User=Bob'), '4');
    assert.equal(await explained('B', 'prepub', '--header', 'user=Bob'), '4', 'header names ignore case');
    assert.equal(await explained('B', 'prepub', '--header', 'User=Alice'), '3');
    assert.equal(await explained('B', 'prepub'), '3');
    assert.match(await ok('explain', 'B', 'prepub', '--header', 'User=Bob'), /holds +header:User = Bob/);
    assert.equal(await served('B', '--qualifier', 'prepub', '--header', 'User=Bob'), '4');
    assert.equal(await served('B', '--qualifier', 'prepub'), '3');
  });

  test("the seeds' rule form is the same rule; the invoke API's routing key works the same way", async () => {
    const same = await sluice('alias', 'update', 'B', 'prepub', '--rule', 'invoke.headers.User exact Bob');
    assert.equal(same.code, 0);
    assert.match(same.stderr, /no change/);
    await ok('alias', 'update', 'B', 'prepub', '--rule', 'key:User = Bob');
    assert.equal(await served('B', '--qualifier', 'prepub', '--routing-key', '{"User":"Bob"}'), '4');
    assert.equal(await served('B', '--qualifier', 'prepub', '--routing-key', '{"User":"Eve"}'), '3');
    assert.equal(await explained('B', 'prepub', '--routing-key', '{"User":"Bob"}'), '4');
    assert.equal(await explained('B', 'prepub', '--key', 'User=Bob'), '4');
  });

  test('versions 1–4 are listed; diff shows what changed', async () => {
    const { versions } = await json<{ versions: { versionId: string; description: string }[] }>(
      'version',
      'list',
      'B',
    );
    assert.deepEqual(
      versions.map((v) => v.versionId),
      ['1', '2', '3', '4'],
    );
    assert.equal(versions[3]?.description, 'for Bob');
    const diff = await json<{ config: unknown[]; codeDiffers: boolean; files: { changed: string[] } }>(
      'version',
      'diff',
      'B',
      '3',
      '4',
    );
    assert.deepEqual(diff.config, []);
    assert.equal(diff.codeDiffers, true);
    assert.deepEqual(diff.files.changed, ['index.js']);
    const text = await ok('version', 'diff', 'B', '4', '$LATEST');
    assert.match(text, /configuration: the same/);
    assert.match(text, /code: the same/);
  });

  test('configuration from sluice.yaml: a change is applied and published', async () => {
    const yaml = join(dir, 'sluice.yaml');
    const text = (await readFile(yaml, 'utf8'))
      .replace('memorySize: 128', 'memorySize: 256')
      .replace('environment:\n', 'environment:\n  STAGE: prepub\n');
    await writeFile(yaml, text);
    const deployed = await json<{
      configChanged: string[];
      codeUploaded: boolean;
      version: { versionId: string };
    }>('deploy', dir, '--publish');
    assert.deepEqual(deployed.configChanged.sort(), ['environmentVariables', 'memorySize']);
    assert.equal(deployed.codeUploaded, false);
    assert.equal(deployed.version.versionId, '5');
    const diff = await ok('version', 'diff', 'B', '4', '5');
    assert.match(diff, /memorySize: 128 → 256/);
    assert.match(diff, /environmentVariables.STAGE: \(unset\) → "prepub"/);
  });

  test('API gateway stages bound to the aliases', async () => {
    await ok('api', 'create', 'A', '--route', 'ANY /{proxy+}');
    await ok('api', 'stage', 'set', 'A', 'release', '--function', 'B', '--qualifier', 'release');
    await ok(
      'api',
      'stage',
      'set',
      'A',
      'prepub',
      '--function',
      'B',
      '--qualifier',
      'prepub',
      '--var',
      'env=pre',
    );
    await ok('api', 'stage', 'set', 'A', 'dev', '--function', 'B');
    const { stages } = await json<{ stages: { name: string; qualifier: string; variables: object }[] }>(
      'api',
      'stage',
      'list',
      'A',
    );
    assert.deepEqual(
      stages.map((s) => [s.name, s.qualifier]),
      [
        ['dev', '$DEFAULT'],
        ['prepub', 'prepub'],
        ['release', 'release'],
      ],
    );
    assert.deepEqual(stages.find((s) => s.name === 'prepub')?.variables, { env: 'pre' });
    const res = await fetch(`${server.url}/gw/A/prepub/hello`, {
      headers: { authorization: `Bearer ${server.token}`, 'x-sluice-routing-key': '{"User":"Bob"}' },
    });
    await res.arrayBuffer();
    assert.equal(res.headers.get('x-fc-invocation-function-version'), '4');
    await ok('api', 'route', 'add', 'A', 'GET', '/health');
    assert.match(await ok('api', 'get', 'A'), /GET \/health/);
  });
});

describe("seed 001's canary by weight through the CLI", () => {
  let dir: string;

  test('alias1 → 1, version 2 as its canary at weight 30 %, 1 000 invocations split near 30 %', async () => {
    dir = join(work, 'canary');
    await ok('init', dir, '--name', 'svc_fn');
    await ok('deploy', dir, '--publish');
    await ok('alias', 'create', 'svc_fn', 'alias1', '--version', '1');
    assert.equal(await served('svc_fn', '--qualifier', 'alias1'), '1');
    await changeCode(dir, 'version 2');
    await ok('deploy', dir, '--publish');
    await ok('alias', 'update', 'svc_fn', 'alias1', '--canary', '2', '--weight', '30%');
    assert.deepEqual((await json<AliasJson>('alias', 'get', 'svc_fn', 'alias1')).canary, {
      version: '2',
      weight: 0.3,
    });
    assert.match(await ok('alias', 'list', 'svc_fn'), /alias1 +1 +2 \(weight\) +1 70% · 2 30%/);

    const run = await sluice('invoke', 'svc_fn', '--qualifier', 'alias1', '--log');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'alias1');
    assert.match(run.stderr, /^version [12] ran svc_fn:alias1 \(request [0-9a-f-]+\)$/m);
    assert.match(run.stderr, /Qualifier from context: alias1/);

    const N = 1000;
    const counts = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      while (next < N) {
        next++;
        const res = await fetch(`${server.url}/v1/functions/svc_fn/invocations?qualifier=alias1`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.token}` },
        });
        await res.arrayBuffer();
        assert.equal(res.status, 200);
        const version = res.headers.get('x-fc-invocation-function-version') ?? '?';
        counts.set(version, (counts.get(version) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 6 }, worker));
    const share = (counts.get('2') ?? 0) / N;
    const sigma = Math.sqrt((0.3 * 0.7) / N);
    assert.deepEqual([...counts.keys()].sort(), ['1', '2']);
    assert.ok(
      Math.abs(share - 0.3) < 4 * sigma,
      `version 2 served ${share} of ${N}, not 30 % ± ${4 * sigma}`,
    );
  });

  test('metrics show the split per version; logs filter by qualifier and version', async () => {
    type Metrics = { totals: { invocations: number }; series: { version: string; share: number }[] };
    const metrics = await waitFor(
      async () => {
        const read = await json<Metrics>('metrics', 'svc_fn', '--since', '10m');
        assert.ok(read.totals.invocations >= 1002, JSON.stringify(read.totals));
        return read;
      },
      { timeout: 60_000, what: 'the metrics of every invocation', interval: 500 },
    );
    const v2 = metrics.series.find((s) => s.version === '2');
    assert.ok(
      v2 && Math.abs(v2.share - 0.3) < 0.07,
      JSON.stringify(metrics.series.map((s) => [s.version, s.share])),
    );
    const text = await ok('metrics', 'svc_fn');
    assert.match(text, /^VERSION +SHARE +INVOCATIONS +ERRORS +ERROR RATE +THROTTLES +COLD +P50 +P90 +P99$/m);
    assert.match(text, /^2 +\d+(\.\d+)?% +\d+ +0 +0%/m);
    const byAlias = await json<{ series: { qualifier: string }[] }>('metrics', 'svc_fn', '--by', 'alias');
    assert.ok(byAlias.series.some((s) => s.qualifier === 'alias1'));

    const { logs } = await json<{ logs: { qualifier: string; versionId: string }[] }>(
      'logs',
      'svc_fn',
      '--qualifier',
      'alias1',
      '--version',
      '2',
      '--limit',
      '5',
    );
    assert.equal(logs.length, 5);
    assert.ok(logs.every((l) => l.qualifier === 'alias1' && l.versionId === '2'));
    assert.match(
      await ok('logs', 'svc_fn', '--limit', '1'),
      /^── .* version \d .*\nQualifier from context:/m,
    );
  });

  test('logs --follow prints new logs as they come, until Ctrl-C', async () => {
    const child = spawn(
      process.execPath,
      [SLUICE_BIN, 'logs', 'svc_fn', '--follow', '--json', '--limit', '1', '--qualifier', '2'],
      {
        cwd: work,
        env: cliEnv(),
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const following = new Promise<void>((resolve) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('following the logs')) resolve();
      });
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await following;
    const before = stdout.split('\n').filter(Boolean).length;
    const res = await fetch(`${server.url}/v1/functions/svc_fn/invocations?qualifier=2`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
    });
    const requestId = res.headers.get('x-fc-request-id');
    await res.arrayBuffer();
    await waitFor(() => stdout.includes(requestId ?? '?'), {
      timeout: 30_000,
      what: 'the followed log of the invocation',
      interval: 100,
    });
    const lines = stdout.split('\n').filter(Boolean);
    assert.ok(lines.length > before, stdout);
    const log = JSON.parse(lines.at(-1) ?? '{}') as {
      requestId: string;
      versionId: string;
      qualifier: string;
    };
    assert.equal(log.requestId, requestId);
    assert.equal(log.versionId, '2');
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  });
});
