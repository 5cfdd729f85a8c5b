import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createApi } from '../src/api/api.js';
import { TokenVerifier } from '../src/auth/tokens.js';
import { RolloutEngine } from '../src/rollouts/engine.js';
import { DEFAULT_CODE_LIMITS } from '../src/core/code-package.js';
import { ZipWorkers } from '../src/code/zip-workers.js';
import { errorCatalog } from '../src/core/errors.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

const repoFile = (path: string) => readFile(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

test('every error code is documented in docs/errors.md with its status, and nothing else is', async () => {
  const doc = await repoFile('docs/errors.md');
  const rows = [...doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(
    rows,
    Object.entries(errorCatalog).map(([code, e]) => [code, e.status]),
  );
});

test('the OpenAPI document lists every route, and only those', () => {
  const store = SqliteStore.open(':memory:');
  const api = createApi({
    store,
    logFeed: { follow: () => () => undefined },
    rollouts: new RolloutEngine({
      store,
      clock: () => new Date(),
      changed: () => Promise.resolve(),
      invokeVersion: () => Promise.resolve(),
    }),
    tokens: new TokenVerifier(store),
    changed: () => Promise.resolve(),
    codeLimits: DEFAULT_CODE_LIMITS,
    zipWorkers: new ZipWorkers(),
    clock: () => new Date(),
    runtimeProblem: () => undefined,
    server: {
      node: 'n',
      isolation: { sandbox: 'none', users: 'server', limits: 'polling', problems: [] },
      dataPlane: null,
    },
  });
  const doc = api.openApi as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => `${m} ${path}`),
  );
  assert.deepEqual(documented.sort(), api.routes.map((r) => `${r.method.toLowerCase()} ${r.path}`).sort());
  void store.close();
});
