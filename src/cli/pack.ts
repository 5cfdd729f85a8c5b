import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalZip, sha256Hex, type CodeFile } from '../contract/canonical-zip.js';
import {
  checkCodeEntries,
  codeTooLargeError,
  DEFAULT_CODE_LIMITS,
  type CodeEntry,
} from '../contract/domain.js';

/** Never packed: version control, a server's data directory, and the deploy configuration itself. */
const ALWAYS_LEFT_OUT = ['.git/', '/.sluice/', '/sluice.yaml', '/sluice.json'];

/** A glob as in .gitignore, roughly: `*`, `?`, `**`; a leading `/` anchors it; a trailing `/` means a directory. */
export function globMatcher(pattern: string): (relative: string, isDirectory: boolean) => boolean {
  const directoryOnly = pattern.endsWith('/');
  let body = directoryOnly ? pattern.slice(0, -1) : pattern;
  const anchored = body.startsWith('/') || body.includes('/');
  body = body.replace(/^\//, '');
  const source = body
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) => {
      if (part === '**/') return '(?:.*/)?';
      if (part === '**') return '.*';
      if (part === '*') return '[^/]*';
      if (part === '?') return '[^/]';
      return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  const regex = new RegExp(anchored ? `^${source}$` : `(?:^|/)${source}$`);
  return (relative, isDirectory) => (!directoryOnly || isDirectory) && regex.test(relative);
}

export interface Package {
  zip: Buffer;
  sha256: string;
  files: number;
}

/**
 * Zips a directory as the server would store it (the canonical zip, so that the same files give the same
 * digest), leaving out `.git`, `.sluice`, the deploy configuration and the `exclude` patterns; `node_modules`
 * is kept, since a function needs its dependencies.
 */
export async function packDirectory(dir: string, exclude: readonly string[] = []): Promise<Package> {
  const matchers = [...ALWAYS_LEFT_OUT, ...exclude].map(globMatcher);
  const left = (relative: string, isDirectory: boolean) => matchers.some((m) => m(relative, isDirectory));
  const found: { entry: CodeEntry; mode: number }[] = [];
  const walk = async (relative: string): Promise<void> => {
    for (const name of (await readdir(path.join(dir, relative))).sort()) {
      const entryPath = relative ? `${relative}/${name}` : name;
      const stats = await lstat(path.join(dir, entryPath));
      if (left(entryPath, stats.isDirectory())) continue;
      if (stats.isDirectory()) {
        await walk(entryPath);
        continue;
      }
      const kind = stats.isSymbolicLink() ? 'symlink' : stats.isFile() ? 'file' : 'other';
      found.push({ entry: { path: entryPath, kind, size: stats.size }, mode: stats.mode });
    }
  };
  await walk('');
  checkCodeEntries(
    found.map((f) => f.entry),
    DEFAULT_CODE_LIMITS,
  );
  const files: CodeFile[] = [];
  for (const { entry, mode } of found) {
    files.push({
      path: entry.path,
      data: await readFile(path.join(dir, entry.path)),
      executable: (mode & 0o111) !== 0,
    });
  }
  const zip = await canonicalZip(files);
  if (zip.length > DEFAULT_CODE_LIMITS.zipBytes)
    throw codeTooLargeError('the zipped directory is larger than 50 MB');
  return { zip, sha256: sha256Hex(zip), files: files.length };
}
