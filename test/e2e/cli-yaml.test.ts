import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runSluice, type CliRun } from '../support/cli.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../support/server-process.js';

// sluice.yaml is YAML, not a look-alike: what a person writes in any of YAML's styles deploys, and a mistake is
// named by line and column before anything reaches the server.
let server: SluiceProcess;
let removeDir: () => Promise<void>;
let work: string;

function sluice(...args: string[]): Promise<CliRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_SERVER: server.url, SLUICE_TOKEN: server.token };
  delete env.SLUICE_TOKEN_FILE;
  return runSluice(args, work, env);
}

async function functionDir(name: string, yaml: string): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  await writeFile(
    join(dir, 'index.js'),
    'exports.handler = (event, context, callback) => callback(null, JSON.stringify([process.env.GREETING, process.env.PORT]));\n',
  );
  await writeFile(join(dir, 'notes.log'), 'left out\n');
  await writeFile(join(dir, 'sluice.yaml'), yaml);
  return dir;
}

before(async () => {
  const dir = await makeDataDir();
  removeDir = dir.remove;
  server = await startSluice(dir.dataDir);
  work = await mkdtemp(join(tmpdir(), 'sluice-cli-yaml-'));
});

after(async () => {
  await server.stop();
  await removeDir();
  await rm(work, { recursive: true, force: true });
});

test('flow maps, quoted strings, comments and a block scalar deploy', async () => {
  const dir = await functionDir(
    'flow',
    [
      '# The function this directory holds.',
      "name: 'flowy'          # single-quoted",
      'runtime: "nodejs20"',
      'handler: index.handler',
      'memorySize: 256',
      'timeout: "5"           # a quoted number is still a number of seconds',
      'description: >-',
      '  folded over',
      '  two lines: with a colon',
      'environment: { GREETING: "hello, world", PORT: 8080 }  # flow map; 8080 is the string "8080"',
      'exclude: [ "*.log" ]',
      '',
    ].join('\n'),
  );
  const deploy = await sluice('deploy', dir, '--publish', '--json');
  assert.equal(deploy.code, 0, deploy.stderr);
  const got = await sluice('function', 'get', 'flowy', '--json');
  assert.equal(got.code, 0, got.stderr);
  const fn = JSON.parse(got.stdout) as Record<string, unknown>;
  assert.equal(fn.memorySize, 256);
  assert.equal(fn.timeout, 5);
  assert.equal(fn.description, 'folded over two lines: with a colon');
  assert.deepEqual(fn.environmentVariables, { GREETING: 'hello, world', PORT: '8080' });
  const invoked = await sluice('invoke', 'flowy');
  assert.equal(invoked.code, 0, invoked.stderr);
  assert.equal(invoked.stdout.trim(), '["hello, world","8080"]');
  // The package left notes.log out, by the flow sequence's pattern; the diff reads both packages' files.
  await writeFile(join(dir, 'index.js'), '// changed\n', { flag: 'a' });
  await writeFile(join(dir, 'new.js'), 'module.exports = 1;\n');
  assert.equal((await sluice('deploy', dir)).code, 0);
  const diff = await sluice('version', 'diff', 'flowy', '1', '$LATEST', '--json');
  assert.equal(diff.code, 0, diff.stderr);
  assert.deepEqual((JSON.parse(diff.stdout) as { files: unknown }).files, {
    added: ['new.js'],
    removed: [],
    changed: ['index.js'],
  });
});

test('a mistake is named by line and column, and nothing is deployed', async () => {
  const dir = await functionDir(
    'broken',
    ['name: broken', 'runtime: nodejs20', 'handler: index.handler', "description: 'never closed", ''].join(
      '\n',
    ),
  );
  const deploy = await sluice('deploy', dir);
  assert.equal(deploy.code, 1);
  assert.equal(deploy.stderr, "sluice: sluice.yaml:5:1: Missing closing 'quote\n");
  const typo = await functionDir(
    'typo',
    ['name: typo', 'runtime: nodejs20', '  memorySize: 256', ''].join('\n'),
  );
  const second = await sluice('deploy', typo);
  assert.equal(second.code, 1);
  assert.match(second.stderr, /^sluice: sluice\.yaml:2:10: /);
  const list = await sluice('function', 'list', '--json');
  assert.doesNotMatch(list.stdout, /broken|typo/);
});
