import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { SLUICE_BIN, startSluice, type SluiceProcess } from '../support/server-process.js';

// The README's "Quick start with the CLI", run exactly as written: the commands between the cli-quickstart
// markers, one at a time, in a directory whose ./.sluice is the server's data directory (so the CLI finds the
// admin token there, as the README says), with `sluice` on the PATH.
const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

let server: SluiceProcess;
let work: string;
let bin: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-quickstart-'));
  // Instances run as nobody when the tests run as root: they must be able to reach the data directory's code.
  await chmod(work, 0o755);
  server = await startSluice(join(work, '.sluice'));
  bin = join(work, 'bin');
  await mkdir(bin);
  const wrapper = join(bin, 'sluice');
  await writeFile(wrapper, `#!/bin/sh\nexec "${process.execPath}" "${SLUICE_BIN}" "$@"\n`);
  await chmod(wrapper, 0o755);
});

after(async () => {
  await server.stop();
  await rm(work, { recursive: true, force: true });
});

/** The shell lines of the README's quick start: the fenced block between the markers, comments left out. */
async function quickStartCommands(): Promise<string[]> {
  const readme = await readFile(README, 'utf8');
  const section = /<!-- cli-quickstart -->\s*```sh\n([\s\S]*?)```\s*<!-- \/cli-quickstart -->/.exec(readme);
  assert.ok(
    section,
    'README.md has a ```sh block between <!-- cli-quickstart --> and <!-- /cli-quickstart -->',
  );
  return (section[1] as string)
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

function shell(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  // The server listens on a port of its own rather than the default 9000; the token comes from ./.sluice.
  const env = Object.fromEntries(
    Object.entries({
      ...process.env,
      PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`,
      SLUICE_SERVER: server.url,
    }).filter(([key]) => !['SLUICE_TOKEN', 'SLUICE_TOKEN_FILE', 'SLUICE_URL'].includes(key)),
  );
  return new Promise((resolve) => {
    execFile('bash', ['-c', line], { cwd: work, env }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test("the README's CLI quick start runs as written, each command exiting 0", async () => {
  const commands = await quickStartCommands();
  assert.ok(commands.length >= 8, `only ${commands.length} commands in the quick start`);
  for (const verb of ['init', 'deploy', 'alias create', 'invoke', 'explain', 'rollback']) {
    assert.ok(
      commands.some((c) => c.startsWith('sluice ') && c.includes(verb)),
      `the quick start shows "sluice ${verb}"`,
    );
  }
  assert.ok(commands.some((c) => / --publish\b/.test(c)));
  assert.ok(commands.some((c) => / --alias \S+ --traffic \S+/.test(c)));
  for (const command of commands) {
    const run = await shell(command);
    assert.equal(run.code, 0, `"${command}" exited ${run.code}:\n${run.stderr}${run.stdout}`);
  }
  // Where the quick start leaves things: function hello with versions 1 and 2, live all on version 1.
  const alias = await shell('sluice alias get hello live --json');
  const live = JSON.parse(alias.stdout) as { version: string; canary?: unknown };
  assert.equal(live.version, '1');
  assert.equal(live.canary, undefined);
  const versions = JSON.parse((await shell('sluice version list hello --json')).stdout) as {
    versions: { versionId: string }[];
  };
  assert.deepEqual(
    versions.versions.map((v) => v.versionId),
    ['1', '2'],
  );
});
