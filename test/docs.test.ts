import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { errorCatalog } from '../src/core/errors.js';

const repoFile = (path: string) => readFile(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

test('every error code is documented in docs/errors.md with its status, and nothing else is', async () => {
  const doc = await repoFile('docs/errors.md');
  const rows = [...doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]);
  assert.deepEqual(
    rows,
    Object.entries(errorCatalog).map(([code, e]) => [code, e.status]),
  );
});
