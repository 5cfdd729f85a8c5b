import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

// `npm start` runs scripts/build-if-stale.js first: it builds when something the build reads changed since the
// last build, and not otherwise. The real script runs here in a project of its own whose build only counts
// how often it ran, so that the test neither takes a real build's minute nor touches this checkout.

const SCRIPT = fileURLToPath(new URL('../../scripts/build-if-stale.js', import.meta.url));
let project = '';

before(async () => {
  project = await mkdtemp(join(tmpdir(), 'sluice-build-if-stale-'));
  await mkdir(join(project, 'scripts'));
  await mkdir(join(project, 'src'));
  await mkdir(join(project, 'dist'));
  await copyFile(SCRIPT, join(project, 'scripts', 'build-if-stale.js'));
  await writeFile(join(project, 'src', 'index.ts'), 'export {};\n');
  // As `npm run build` does: the build's last step stamps it.
  const build = `node -e "require('fs').appendFileSync('builds.log', 'built\\\\n')" && node scripts/build-if-stale.js --stamp`;
  await writeFile(join(project, 'package.json'), JSON.stringify({ type: 'module', scripts: { build } }));
});

after(async () => {
  await rm(project, { recursive: true, force: true });
});

function start(): string {
  const run = spawnSync(process.execPath, ['scripts/build-if-stale.js'], { cwd: project, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

const builds = async () =>
  (await readFile(join(project, 'builds.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean).length;

test('the first start builds; the next does not, nothing having changed; a changed source builds again', async () => {
  start();
  assert.equal(await builds(), 1, 'no stamp yet: the first start builds');

  assert.match(start(), /up to date/);
  assert.equal(await builds(), 1, 'a second start with nothing changed rebuilt');

  // A source saved after the build: the stamp is set back rather than the source ahead, so that the rebuild's
  // own stamp is again the newest.
  const earlier = new Date(Date.now() - 60_000);
  await utimes(join(project, 'dist', '.built'), earlier, earlier);
  start();
  assert.equal(await builds(), 2, 'a changed source did not rebuild');
  assert.match(start(), /up to date/);
  assert.equal(await builds(), 2);
});
