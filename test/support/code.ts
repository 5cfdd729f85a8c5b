import assert from 'node:assert/strict';
import type { ApiCall } from './api-client.js';
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

/** Creates each function, `[name, zipped code, configuration]`, through the API; each must answer 201. */
export async function createFunctions(
  api: ApiCall,
  functions: readonly (readonly [string, Buffer, Record<string, unknown>])[],
): Promise<void> {
  for (const [name, zip, config] of functions) {
    const res = await api('POST', '/v1/functions', {
      name,
      handler: 'index.handler',
      code: { zipFile: zip.toString('base64') },
      ...config,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
}
