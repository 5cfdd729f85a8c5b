import { SluiceError } from './errors.js';

/** One entry of a code package as its central directory describes it; `size` is the uncompressed size. */
export interface CodeEntry {
  path: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
  size: number;
}

export interface CodeLimits {
  zipBytes: number;
  unzippedBytes: number;
  entries: number;
}

const MB = 1024 * 1024;

export const DEFAULT_CODE_LIMITS: CodeLimits = {
  zipBytes: 50 * MB,
  unzippedBytes: 250 * MB,
  entries: 10_000,
};

const MAX_PATH_BYTES = 1024;
const utf8 = new TextEncoder();

/** Describes why a zip entry path is unsafe to extract, or returns undefined when it is safe. */
export function entryPathProblem(path: string): string | undefined {
  if (path === '') return 'has an empty path';
  if (utf8.encode(path).length > MAX_PATH_BYTES) return `has a path longer than ${MAX_PATH_BYTES} bytes`;
  if (/\p{Cc}/u.test(path)) return 'has a path containing a control character';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'has an absolute path';
  if (path.includes('\\')) return 'has a path containing a backslash';
  const segments = withoutSlash(path).split('/');
  if (segments.includes('..')) return "has a path containing a '..' segment";
  if (segments.includes('.')) return "has a path containing a '.' segment";
  // `a//b` names the same file as `a/b`, which would let two entries collide unnoticed.
  if (segments.includes('')) return 'has a path containing an empty segment';
  return undefined;
}

/**
 * Checks a package's entries before anything is inflated, so that an unsafe or oversized package is refused
 * on the strength of its central directory alone.
 */
export function checkCodeEntries(entries: readonly CodeEntry[], limits: CodeLimits): void {
  if (entries.length > limits.entries) {
    throw codeTooLargeError(`the code package has more than the limit of ${limits.entries} entries`);
  }
  const total = entries.reduce((sum, entry) => sum + entry.size, 0);
  if (total > limits.unzippedBytes) {
    throw codeTooLargeError(
      `the code package unzips to more than the limit of ${formatMB(limits.unzippedBytes)}`,
    );
  }
  const seen = new Set<string>();
  for (const entry of entries) {
    const problem = entryProblem(entry, seen);
    if (problem) invalid(`entry ${quote(entry.path)} ${problem}`);
    seen.add(withoutSlash(entry.path));
  }
  checkNoFileIsAParent(entries);
}

/** The error for a code package whose size goes past a limit, however that was found out. */
export function codeTooLargeError(message: string): SluiceError {
  return new SluiceError('CodeTooLarge', message, [{ path: 'code', message }]);
}

export function formatMB(bytes: number): string {
  return `${Number((bytes / MB).toFixed(2))} MB`;
}

function entryProblem(entry: CodeEntry, seen: ReadonlySet<string>): string | undefined {
  const pathProblem = entryPathProblem(entry.path);
  if (pathProblem) return pathProblem;
  if (entry.kind === 'symlink') return 'is a symbolic link; links are not allowed in a code package';
  if (entry.kind === 'other') return 'is neither a file nor a directory';
  // `a` and `a/` would be extracted to the same place.
  if (seen.has(withoutSlash(entry.path))) return 'appears more than once';
  return undefined;
}

/** A file `a` beside an entry `a/b` cannot both be extracted: `a` would have to be a directory too. */
function checkNoFileIsAParent(entries: readonly CodeEntry[]): void {
  const files = new Set(entries.filter((entry) => entry.kind === 'file').map((entry) => entry.path));
  for (const entry of entries) {
    const segments = withoutSlash(entry.path).split('/');
    for (let depth = 1; depth < segments.length; depth++) {
      const parent = segments.slice(0, depth).join('/');
      if (files.has(parent)) {
        invalid(`entry ${quote(entry.path)} lies under ${quote(parent)}, which is a file`);
      }
    }
  }
}

function invalid(message: string): never {
  throw new SluiceError('InvalidCodePackage', message, [{ path: 'code', message }]);
}

function withoutSlash(path: string): string {
  return path.endsWith('/') ? path.slice(0, -1) : path;
}

/** Quotes a path for a message, escaping control characters so that a hostile name cannot forge log lines. */
function quote(path: string): string {
  const shown = path.replace(/\p{Cc}/gu, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${shown}'`;
}
