import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SluiceError } from '../core/errors.js';
import { BUILD_DIR, CsharpBuilds } from './csharp.js';
import { defaultRunAs } from './launcher.js';
import { findInterpreters } from './launchers.js';

const HANDLER = 'Lib::Lib.Entry::Run';
const SOURCE = `using System.IO; using Aliyun.Serverless.Core;
namespace Lib { public class Entry { public string Run(Stream input, IFcContext context) { return "ok"; } } }
`;

const mono = findInterpreters().mono;

describe('C# builds', { skip: mono === undefined && 'Mono or the C# runtime is not installed' }, () => {
  let root: string;
  let builds: CsharpBuilds;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-csharp-test-'));
    await chmod(root, 0o711);
    builds = new CsharpBuilds(mono as string, defaultRunAs());
  });
  after(() => rm(root, { recursive: true, force: true }));

  /** A code directory as the code cache leaves it: read-only, its files readable by all. */
  async function codeDir(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir);
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text, { mode: 0o444 });
    await chmod(dir, 0o555);
    return dir;
  }

  test('compiles the sources into the assembly the handler names, once', async () => {
    const dir = await codeDir('once', { 'Entry.cs': SOURCE });
    await Promise.all([builds.prepare(dir, HANDLER), builds.prepare(dir, HANDLER)]);
    const assembly = join(dir, BUILD_DIR, 'Lib.dll');
    const first = await stat(assembly);
    await builds.prepare(dir, HANDLER);
    assert.equal((await stat(assembly)).mtimeMs, first.mtimeMs);
    assert.equal((await stat(dir)).mode & 0o777, 0o555, 'the code directory is read-only again');
  });

  test('code extracted again after its removal is compiled again', async () => {
    const dir = await codeDir('again', { 'Entry.cs': SOURCE });
    await builds.prepare(dir, HANDLER);
    await chmod(dir, 0o755);
    await chmod(join(dir, BUILD_DIR), 0o755);
    await rm(dir, { recursive: true });
    const same = await codeDir('again', { 'Entry.cs': SOURCE });
    await builds.prepare(same, HANDLER);
    assert.ok(existsSync(join(same, BUILD_DIR, 'Lib.dll')));
  });

  test('a compile error is kept: answered again without compiling', async () => {
    const dir = await codeDir('broken', { 'Entry.cs': 'namespace Lib { class Entry { int x = } }\n' });
    const first = await builds.prepare(dir, HANDLER).catch((error: unknown) => error);
    assert.ok(first instanceof SluiceError);
    assert.equal(first.code, 'FunctionInitializationError');
    assert.match(
      first.message,
      /^CompilationError: the C# sources do not compile into Lib\.dll:\nEntry\.cs\(1,\d+\): error CS/,
    );
    assert.equal(await builds.prepare(dir, HANDLER).catch((error: unknown) => error), first);
  });

  test('a package with the assembly, or with no source, is left as it is', async () => {
    for (const files of [{ 'Lib.dll': 'not compiled here' }, { 'README.md': 'no code' }]) {
      const dir = await codeDir(Object.keys(files)[0] as string, files);
      await builds.prepare(dir, HANDLER);
      assert.equal(existsSync(join(dir, BUILD_DIR)), false);
    }
  });
});
