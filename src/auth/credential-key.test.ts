import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CREDENTIAL_KEY_FILE, loadCredentialKeys } from './credential-key.js';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-credential-key-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('the first start makes a key file of its own, 0600, and later starts read it unchanged', () =>
  withDir(async (dir) => {
    const first = await loadCredentialKeys({ dataDir: dir });
    assert.equal(first.created, true);
    const file = join(dir, CREDENTIAL_KEY_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const again = await loadCredentialKeys({ dataDir: dir });
    assert.equal(again.created, false);
    assert.deepEqual(again.keys, first.keys);
    assert.equal(first.keys[0]?.toString('base64'), (await readFile(file, 'utf8')).trim());
  }));

test('keys from the environment or a file: several during a rotation, the first one first', () =>
  withDir(async (dir) => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const env = await loadCredentialKeys({
      dataDir: dir,
      env: `${a.toString('base64')},${b.toString('base64')}`,
    });
    assert.deepEqual(env.keys, [a, b]);
    const file = join(dir, 'keys');
    await writeFile(file, `# new key first\n${b.toString('base64')}\n${a.toString('base64url')}\n`, {
      mode: 0o600,
    });
    assert.deepEqual((await loadCredentialKeys({ dataDir: dir, file })).keys, [b, a]);
  }));

test('bad keys and files are refused, saying what is wrong', () =>
  withDir(async (dir) => {
    const file = join(dir, 'keys');
    const good = randomBytes(32).toString('base64');
    const cases: [{ file?: string; env?: string }, RegExp][] = [
      [{ env: 'short' }, /key 1 of SLUICE_CREDENTIAL_KEY is not 32 bytes/],
      [{ env: `${good},${randomBytes(16).toString('base64')}` }, /key 2 of/],
      [{ env: ' , ' }, /holds no credential key/],
      [{ env: good, file }, /not both/],
      [{ file: join(dir, 'missing') }, /does not exist/],
    ];
    for (const [given, message] of cases)
      await assert.rejects(loadCredentialKeys({ dataDir: dir, ...given }), message, JSON.stringify(given));
    await writeFile(file, `${good}\n`, { mode: 0o644 });
    await chmod(file, 0o644);
    await assert.rejects(loadCredentialKeys({ dataDir: dir, file }), /may be read by others .*chmod 600/);
  }));
