import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AliasSpec } from '../core/alias.js';
import type { AliasHistoryEntry } from '../core/model.js';
import { aliasHistoryValues, fromJson, toAliasHistory } from './rows.js';

describe('fromJson', () => {
  const cases: { label: string; column: unknown; expected: unknown }[] = [
    {
      label: 'text, as SQLite returns it',
      column: '{"version":1,"routes":[2]}',
      expected: { version: 1, routes: [2] },
    },
    { label: 'a parsed value, as pg returns it', column: { version: 1 }, expected: { version: 1 } },
    { label: 'a parsed array', column: [1, 2], expected: [1, 2] },
    { label: 'SQL NULL', column: null, expected: null },
    { label: 'the text of JSON null', column: 'null', expected: null },
  ];
  for (const c of cases) {
    test(c.label, () => {
      assert.deepEqual(fromJson(c.column), c.expected);
    });
  }
});

test('an alias history entry survives being written as a row and read back, as text or parsed', () => {
  const spec: AliasSpec = { version: 1, description: '' };
  const entry: AliasHistoryEntry = {
    functionName: 'fn',
    alias: 'live',
    revision: 2,
    action: 'delete',
    actor: 'alice',
    at: '2024-06-01T12:00:00.000Z',
    before: spec,
    after: null,
  };
  const [function_name, alias, revision, action, actor, at, before_json, after_json] =
    aliasHistoryValues(entry);
  const row = { function_name, alias, revision, action, actor, at, before_json, after_json } as Parameters<
    typeof toAliasHistory
  >[0];
  assert.deepEqual(toAliasHistory(row), entry);
  assert.deepEqual(toAliasHistory({ ...row, before_json: spec }), entry);
});
