/**
 * Builds the C# runtime (runtime/csharp/) into dist/runtime/csharp/ with Mono's mcs: the two libraries that
 * handlers compile against, then the bootstrap. Part of `npm run build`; without mcs it says so and builds
 * nothing, and the server then lists csharp among the runtimes it lacks. Skipped when the sources are unchanged.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSHARP_BOOTSTRAP, CSHARP_LIBRARIES, CSHARP_RUNTIME_DIR } from '../src/runtime/csharp.js';

const SOURCES = fileURLToPath(new URL('../../runtime/csharp/', import.meta.url));
const [LOGGING, CORE] = CSHARP_LIBRARIES;
/** Each assembly and the directory of its sources, in the order they reference one another. */
const ASSEMBLIES: { out: string; dir: string; references: string[] }[] = [
  { out: LOGGING, dir: 'Microsoft.Extensions.Logging.Abstractions', references: [] },
  { out: CORE, dir: 'Aliyun.Serverless.Core', references: [LOGGING] },
  { out: CSHARP_BOOTSTRAP, dir: 'bootstrap', references: [LOGGING, CORE] },
];
const STAMP = 'sources.sha256';

const sourcesOf = (dir: string) =>
  readdirSync(join(SOURCES, dir))
    .filter((f) => f.endsWith('.cs'))
    .sort()
    .map((f) => join(SOURCES, dir, f));

const hash = createHash('sha256');
for (const { dir } of ASSEMBLIES)
  for (const file of sourcesOf(dir)) hash.update(file.slice(SOURCES.length)).update(readFileSync(file));
const digest = hash.digest('hex');

const stamp = join(CSHARP_RUNTIME_DIR, STAMP);
if (existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) process.exit(0);

const mcs = ['/usr/bin/mcs', '/usr/local/bin/mcs'].find((path) => existsSync(path));
if (mcs === undefined) {
  console.log("build-csharp: no mcs (Debian's mono-mcs): the csharp runtime is not built");
  process.exit(0);
}

// Built aside and renamed into place, so that a server never sees half a runtime.
const aside = `${CSHARP_RUNTIME_DIR.replace(/\/$/, '')}.building`;
rmSync(aside, { recursive: true, force: true });
mkdirSync(aside, { recursive: true });
for (const { out, dir, references } of ASSEMBLIES) {
  const target = out.endsWith('.exe') ? [] : ['-target:library'];
  execFileSync(
    mcs,
    [
      ...target,
      '-debug',
      `-out:${join(aside, out)}`,
      ...references.map((r) => `-r:${join(aside, r)}`),
      ...sourcesOf(dir),
    ],
    { stdio: 'inherit' },
  );
}
writeFileSync(join(aside, STAMP), digest);
rmSync(CSHARP_RUNTIME_DIR, { recursive: true, force: true });
renameSync(aside, CSHARP_RUNTIME_DIR);
console.log(`build-csharp: built the csharp runtime in ${CSHARP_RUNTIME_DIR}`);
