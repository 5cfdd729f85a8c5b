import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Builds the web console into `dist/console`: one bundle of the TypeScript app (CodeMirror, fflate and the
 * core's own alias validation included), its stylesheet, and `index.html` naming both by content hash.
 * Runs after `tsc` (this file is compiled to `dist/src/console/build.js`); esbuild does no type checking,
 * `npm run typecheck` checks the app with `src/console/app/tsconfig.json`.
 */
const root = fileURLToPath(new URL('../../../', import.meta.url));
const appDir = join(root, 'src', 'console', 'app');
const outDir = join(root, 'dist', 'console');

export async function buildConsole(): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(appDir, 'main.ts') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    metafile: true,
    logLevel: 'warning',
    tsconfig: join(appDir, 'tsconfig.json'),
  });
  const hashes: Record<string, string> = {};
  for (const file of ['app.js', 'app.css']) {
    const bytes = await readFile(join(outDir, file));
    hashes[file] = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    // Served instead when the browser accepts gzip: the bundle is a third of its size so.
    await writeFile(join(outDir, `${file}.gz`), gzipSync(bytes, { level: 9 }));
  }
  const html = (await readFile(join(appDir, 'index.html'), 'utf8'))
    .replace('app.js', `app.js?v=${hashes['app.js'] ?? ''}`)
    .replace('app.css', `app.css?v=${hashes['app.css'] ?? ''}`);
  await writeFile(join(outDir, 'index.html'), html);
  await writeFile(join(outDir, 'favicon.svg'), await readFile(join(appDir, 'favicon.svg')));
  const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
  process.stdout.write(`console: built dist/console (${Math.round(bytes / 1024)} KB)\n`);
}

await buildConsole();
