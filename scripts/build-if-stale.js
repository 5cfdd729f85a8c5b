// `npm start` builds only when something the build reads changed since the last build, so that starting the
// server twice does not rebuild twice. A plain script, not TypeScript: it runs before anything is compiled.
// `--stamp` (the last step of `npm run build`) records that a build finished.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const stamp = join(root, 'dist', '.built');
const inputs = ['src', 'bin', 'scripts', 'runtime', 'package.json', 'package-lock.json', 'tsconfig.json'];

/** The newest modification time under a path, in ms (0 when it does not exist). */
function newest(path) {
  let info;
  try {
    info = statSync(path);
  } catch {
    return 0;
  }
  if (!info.isDirectory()) return info.mtimeMs;
  let latest = info.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

if (process.argv.includes('--stamp')) {
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
} else {
  const built = newest(stamp);
  const changed = Math.max(...inputs.map((p) => newest(join(root, p))));
  if (built === 0 || changed > built) {
    const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  } else {
    process.stdout.write('build: up to date (nothing changed since the last build)\n');
  }
}
