import { canonicalZip } from '../../src/contract/canonical-zip.js';

/**
 * A zip holding the given files, each `path → source text`; `executable` names those that keep their x bit
 * (a custom runtime's bootstrap).
 */
export function zipOf(files: Record<string, string>, executable: readonly string[] = []): Promise<Buffer> {
  return canonicalZip(
    Object.entries(files).map(([path, text]) => ({
      path,
      data: Buffer.from(text),
      executable: executable.includes(path),
    })),
  );
}

export { SEED_NODE_HANDLER, SEED_PYTHON_HANDLER } from '../../src/contract/seed-handlers.js';
