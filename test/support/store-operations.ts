import assert from 'node:assert/strict';
import type { ApiCall } from './api-client.js';

/** What a server has asked of its store since it started, by operation, from its `/metrics`. */
export async function storeOperations(api: ApiCall): Promise<Map<string, number>> {
  const res = await api('GET', '/metrics');
  assert.equal(res.status, 200);
  const counts = new Map<string, number>();
  for (const match of res.bytes
    .toString('utf8')
    .matchAll(/^sluice_store_operations_total\{operation="(\w+)"\} (\d+)$/gm))
    counts.set(match[1] as string, Number(match[2]));
  return counts;
}

/** The operations whose counts differ between two readings, with how many more calls each had. */
export function operationsBetween(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [operation, count] of after) {
    const more = count - (before.get(operation) ?? 0);
    if (more !== 0) out[operation] = more;
  }
  return out;
}
