import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import type { ApiCall } from './api-client.js';
import { waitFor } from './wait-for.js';

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

/**
 * Waits until a whole window of `windowMs` passes in which the server asks its store none of `watched` (any
 * operation when it is not given), and returns what the windows that were not quiet asked: the work still
 * settling after the last change, or a poller, which never lets a window be quiet.
 */
export async function quietWindow(
  api: ApiCall,
  options: { windowMs: number; timeout: number; watched?: readonly string[] },
): Promise<Record<string, number>[]> {
  const { windowMs, timeout, watched } = options;
  const noisy: Record<string, number>[] = [];
  await waitFor(
    async () => {
      const before = await storeOperations(api);
      // The window is what is measured, not a wait for something to happen.
      await delay(windowMs);
      const asked = operationsBetween(before, await storeOperations(api));
      if (!Object.keys(asked).some((operation) => watched?.includes(operation) ?? true)) return true;
      noisy.push(asked);
      return false;
    },
    { timeout, what: `a ${windowMs} ms window without a store operation`, interval: 0 },
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; the windows asked ${JSON.stringify(noisy)}`);
  });
  return noisy;
}
