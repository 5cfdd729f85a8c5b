import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chown, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { sha256Hex } from '../../src/contract/canonical-zip.js';
import { apiClient } from '../support/api-client.js';
import { SEED_NODE_HANDLER, SEED_PYTHON_HANDLER, zipOf } from '../support/code.js';
import { spawnServer, startSluice, type SluiceProcess } from '../support/server-process.js';

// Instances run as users of their own, who cannot enter a directory only its owner may enter (root's home, any
// 0700 directory): their code and the runtime's bootstrap must still reach them, through the sandbox's mounts.

const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function assertBothRuntimesRun(server: SluiceProcess): Promise<void> {
  const api = apiClient(server.url, server.token);
  for (const [name, runtime, file, source, answer] of [
    ['node', 'nodejs20', 'index.js', SEED_NODE_HANDLER, 'LATEST'],
    ['py', 'python3', 'index.py', SEED_PYTHON_HANDLER, 'hello world'],
  ] as const) {
    const created = await api('POST', '/v1/functions', {
      name,
      runtime,
      handler: 'index.handler',
      code: { zipFile: (await zipOf({ [file]: source })).toString('base64') },
    });
    assert.equal(created.status, 201, created.bytes.toString());
    const res = await api('POST', `/v1/functions/${name}/invocations?qualifier=%24LATEST`, Buffer.from('{}'));
    assert.equal(res.status, 200, res.bytes.toString());
    assert.equal(res.bytes.toString(), answer);
  }
}

async function ownerOnlyDir(): Promise<{ home: string; remove: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'sluice-private-'));
  const home = join(parent, 'home');
  await mkdir(home, { mode: 0o700 });
  return { home, remove: () => rm(parent, { recursive: true, force: true }) };
}

test('functions run when the data directory sits under a directory only its owner may enter', async () => {
  const { home, remove } = await ownerOnlyDir();
  const server = await startSluice(join(home, '.sluice'));
  try {
    await assertBothRuntimesRun(server);
  } finally {
    await server.stop();
    await remove();
  }
});

test('functions run when Sluice itself is installed under a directory only its owner may enter', async () => {
  const { home, remove } = await ownerOnlyDir();
  const install = join(home, 'sluice');
  await mkdir(install);
  for (const entry of ['dist', 'runtime', 'package.json'])
    await cp(join(PACKAGE_ROOT, entry), join(install, entry), { recursive: true });
  await symlink(join(PACKAGE_ROOT, 'node_modules'), join(install, 'node_modules'));
  const server = await startSluice(join(home, '.sluice'), [], join(install, 'dist', 'bin', 'sluice.js'));
  try {
    await assertBothRuntimesRun(server);
  } finally {
    await server.stop();
    await remove();
  }
});

const AS_ROOT = process.getuid?.() === 0;
const ATTACKER = 65534;

/** Another local user's directory, holding its own handler under the digest of the victim's code. */
async function plantCode(dir: string, sha256: string): Promise<void> {
  await mkdir(join(dir, sha256), { recursive: true });
  await writeFile(join(dir, sha256, 'index.js'), 'exports.handler = (e, c, cb) => cb(null, "hijacked");');
  for (const path of [dir, join(dir, sha256), join(dir, sha256, 'index.js')]) {
    await chown(path, ATTACKER, ATTACKER);
  }
}

test(
  'the code cache out of the data directory is never one another user made first',
  { skip: !AS_ROOT && 'planting as another user takes root' },
  async () => {
    const { home, remove } = await ownerOnlyDir();
    const dataDir = join(home, '.sluice');
    const code = await zipOf({ 'index.js': 'exports.handler = (e, c, cb) => cb(null, "right");' });
    const sha256 = sha256Hex(code);
    // The name Sluice once derived from the data directory's, for anyone to compute and make first.
    const id = createHash('sha256').update(dataDir).digest('hex').slice(0, 16);
    const predictable = join(tmpdir(), `sluice-code-${id}`);
    await plantCode(predictable, sha256);
    const made: string[] = [];
    // Unsandboxed as root: instances run as nobody, who cannot enter the data directory.
    const start = async () => {
      const spawned = await spawnServer(['--data-dir', dataDir, '--isolation', 'none']);
      const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
      return { ...spawned, api: apiClient(spawned.url, token) };
    };
    const stop = async (child: Awaited<ReturnType<typeof start>>['child']) => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    };
    let server = await start();
    try {
      const created = await server.api('POST', '/v1/functions', {
        name: 'cache-victim',
        runtime: 'nodejs20',
        handler: 'index.handler',
        code: { zipFile: code.toString('base64') },
      });
      assert.equal(created.status, 201, created.bytes.toString());
      const invoke = () => server.api('POST', '/v1/functions/cache-victim/invocations', Buffer.from('{}'));
      assert.equal((await invoke()).bytes.toString(), 'right');
      const recorded = async () => (await readFile(join(dataDir, 'code-cache-dir'), 'utf8')).trim();
      made.push(await recorded());
      assert.notEqual(made[0], predictable);

      // Between two runs, the attacker puts a directory of its own where the recorded cache was.
      await stop(server.child);
      await rm(made[0] as string, { recursive: true, force: true });
      await plantCode(made[0] as string, sha256);
      server = await start();
      assert.equal((await invoke()).bytes.toString(), 'right');
      made.push(await recorded());
      assert.notEqual(made[1], made[0]);
      assert.match(
        server.output(),
        new RegExp(`not using the code cache ${made[0]}, which belongs to user ${ATTACKER}`),
      );
    } finally {
      await stop(server.child);
      await remove();
      for (const dir of [predictable, ...made]) await rm(dir, { recursive: true, force: true });
    }
  },
);
