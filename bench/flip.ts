/** Requests through the canary alias while it is repointed: every one must succeed. */
import { setTimeout as sleep } from 'node:timers/promises';
import { apiClient, type ApiCall } from '../test/support/api-client.js';
import { makeDataDir, startSluice, type SluiceProcess } from '../test/support/server-process.js';
import { BENCH_NODE, ok, setUpCanary } from './functions.js';
import { BODY } from './settings.js';
import type { Row, Table } from './table.js';

/** 200 req/s through the canary alias while it is repointed 20 times: every request must succeed. */
export async function flipRow(table: Table): Promise<void> {
  const dir = await makeDataDir();
  const sluice = await startSluice(dir.dataDir);
  try {
    const api = apiClient(sluice.url, sluice.token);
    await setUpCanary(api, 'bench_node', BENCH_NODE);
    table.add(await flip(sluice, api));
  } finally {
    await sluice.stop();
    await dir.remove();
  }
}

async function flip(sluice: SluiceProcess, api: ApiCall): Promise<Row> {
  let failed = 0;
  let sent = 0;
  const state = { flipping: true };
  const traffic = (async () => {
    while (state.flipping) {
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          sent++;
          const res = await fetch(`${sluice.url}/fn/bench_node/canary/flip`, {
            method: 'POST',
            body: BODY,
            headers: { authorization: `Bearer ${sluice.token}` },
          }).catch(() => undefined);
          if (res?.status !== 200) failed++;
          await res?.arrayBuffer();
        }),
      );
      await sleep(Math.max(0, 100 - (Date.now() - started)));
    }
  })();
  for (let i = 0; i < 20; i++) {
    const body =
      i % 2 === 0
        ? { version: '2', canary: { version: '1', weight: 0.5 } }
        : { version: '1', canary: { version: '2', weight: 0.1 } };
    await ok(api('PUT', '/v1/functions/bench_node/aliases/canary', body), 'flip');
    await sleep(150);
  }
  state.flipping = false;
  await traffic;
  return {
    scenario: 'flip',
    what: `${sent} requests at ~200 req/s while the alias was repointed 20 times`,
    errors: failed,
  };
}
