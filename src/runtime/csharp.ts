import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, chown, copyFile, cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SluiceError } from '../core/errors.js';

/**
 * The C# runtime's own assemblies, built from runtime/csharp/ by scripts/build-csharp.ts at `npm run build`:
 * the bootstrap, and the two libraries the seeds' sample compiles against.
 */
export const CSHARP_RUNTIME_DIR = fileURLToPath(new URL('../../runtime/csharp/', import.meta.url));
export const CSHARP_BOOTSTRAP = 'SluiceBootstrap.exe';
export const CSHARP_LIBRARIES = [
  'Microsoft.Extensions.Logging.Abstractions.dll',
  'Aliyun.Serverless.Core.dll',
] as const;

/** Where the assembly compiled from a package's sources goes, inside its code directory (Handler.cs knows it too). */
export const BUILD_DIR = '.sluice-build';
const COMPILE_TIMEOUT_MS = 120_000;

/** Mono's C# compiler, beside the runtime it comes with (Debian: /usr/bin/mono, /usr/lib/mono/4.5/mcs.exe). */
export function mcsOf(mono: string): string {
  return join(dirname(dirname(realpathSync(mono))), 'lib', 'mono', '4.5', 'mcs.exe');
}

/** Whether this checkout has its C# runtime built (scripts/build-csharp.ts skips it when mcs is missing). */
export function csharpRuntimeBuilt(): boolean {
  return [CSHARP_BOOTSTRAP, ...CSHARP_LIBRARIES].every((f) => existsSync(join(CSHARP_RUNTIME_DIR, f)));
}

/** The assembly a handler `Assembly::Namespace.Class::Method` names. */
function assemblyOf(handler: string): string {
  return handler.slice(0, handler.indexOf('::'));
}

/**
 * Compiles the `.cs` sources of C# packages into the assembly their handler names, once per code directory
 * (one per code digest), and keeps the result in that directory, so that it lasts as long as the code does,
 * across restarts. A package that holds the assembly itself is run as it is.
 */
export class CsharpBuilds {
  private readonly builds = new Map<string, Promise<void>>();

  constructor(
    private readonly mono: string,
    /** The compiler reads only a copy of the sources, as this unprivileged user when the server is root. */
    private readonly runAs: { uid: number; gid: number } | undefined,
  ) {}

  /** Builds the handler's assembly if the package has sources for it and no assembly; a compile error is a FunctionInitializationError. */
  prepare(codeDir: string, handler: string): Promise<void> {
    const name = assemblyOf(handler);
    const key = `${codeDir}\0${name}`;
    let build = this.builds.get(key);
    if (!build) {
      // Starts at once share one build. The same sources give the same errors: a failure is kept, and answered
      // again without compiling; a success is not, as the code's directory, and the assembly in it, may go.
      build = this.build(codeDir, name).then(() => {
        this.builds.delete(key);
      });
      this.builds.set(key, build);
    }
    return build;
  }

  private async build(codeDir: string, name: string): Promise<void> {
    const built = [`${name}.dll`, `${name}.exe`, join(BUILD_DIR, `${name}.dll`)];
    if (built.some((file) => existsSync(join(codeDir, file)))) return;
    const files = await filesOf(codeDir);
    const sources = files.filter((f) => f.endsWith('.cs'));
    // Without sources, the bootstrap says that the package lacks the assembly.
    if (sources.length === 0) return;
    const packaged = files.filter((f) => f.endsWith('.dll'));
    const work = await mkdtemp(join(tmpdir(), 'sluice-csharp-'));
    try {
      for (const library of CSHARP_LIBRARIES)
        await copyFile(join(CSHARP_RUNTIME_DIR, library), join(work, library));
      // Run as another user, the compiler reads copies: the code cache and this checkout may be closed to it.
      let src = codeDir;
      if (this.runAs) {
        src = join(work, 'src');
        await cp(codeDir, src, { recursive: true, filter: (from) => !from.endsWith(`/${BUILD_DIR}`) });
        await chownTree(work, this.runAs);
      }
      const args = [
        mcsOf(this.mono),
        '-target:library',
        '-debug',
        // Stack traces name the package's files as the package has them, not the copy compiled here.
        `-pathmap:${src}=.`,
        `-out:${join(work, `${name}.dll`)}`,
        ...CSHARP_LIBRARIES.map((library) => `-r:${join(work, library)}`),
        ...packaged.map((dll) => `-r:${dll}`),
        ...sources,
      ];
      const { code, output } = await run(this.mono, args, src, work, this.runAs);
      if (code !== 0) {
        const lines = output.split('\n').filter((line) => / error CS\d+:|^error /.test(line));
        throw new SluiceError(
          'FunctionInitializationError',
          `CompilationError: the C# sources do not compile into ${name}.dll:\n${(lines.length > 0 ? lines : [output.trim()]).join('\n')}`,
        );
      }
      await install(codeDir, work, name);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

/** Copies the compiled assembly into the read-only code directory, made writable by its owner for the while. */
async function install(codeDir: string, work: string, name: string): Promise<void> {
  const target = join(codeDir, BUILD_DIR);
  await chmod(codeDir, 0o755);
  try {
    await mkdir(target, { recursive: true, mode: 0o755 });
    for (const file of [`${name}.dll`, `${name}.dll.mdb`]) {
      if (!existsSync(join(work, file))) continue;
      await copyFile(join(work, file), join(target, file));
      await chmod(join(target, file), 0o444);
    }
    await chmod(target, 0o555);
  } finally {
    await chmod(codeDir, 0o555);
  }
}

/** The files under a directory, relative to it, the build's own left out. */
async function filesOf(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((path) => !path.startsWith(`${BUILD_DIR}/`))
    .sort();
}

async function chownTree(dir: string, to: { uid: number; gid: number }): Promise<void> {
  await chown(dir, to.uid, to.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, to);
    else await chown(path, to.uid, to.gid);
  }
}

function run(
  command: string,
  args: string[],
  cwd: string,
  home: string,
  as: { uid: number; gid: number } | undefined,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      {
        cwd,
        env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
        timeout: COMPILE_TIMEOUT_MS,
        maxBuffer: 4 * 1024 * 1024,
        ...as,
      },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        if (!error) resolve({ code: 0, output });
        else if (error.killed)
          resolve({ code: 1, output: `error: the compiler ran for over ${COMPILE_TIMEOUT_MS / 1000} s` });
        else
          resolve({ code: typeof error.code === 'number' ? error.code : 1, output: output || error.message });
      },
    );
  });
}
