import { canonicalZip } from '../../src/contract/canonical-zip.js';

/** A zip holding the given files, each `path → source text`. */
export function zipOf(files: Record<string, string>): Promise<Buffer> {
  return canonicalZip(
    Object.entries(files).map(([path, text]) => ({ path, data: Buffer.from(text), executable: false })),
  );
}

export { SEED_NODE_HANDLER, SEED_PYTHON_HANDLER } from '../../src/contract/seed-handlers.js';
