import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from './errors.js';
import {
  assertRevision,
  type ChangeRequest,
  planSpecDelete,
  planSpecWrite,
  type Revisioned,
} from './revisions.js';

const CREATED = '2024-01-01T00:00:00.000Z';
const NOW = '2024-06-01T12:00:00.000Z';
const current: Revisioned<string> = { spec: 'old', revision: 3, createdAt: CREATED, updatedAt: CREATED };
const request = (expectedRevision?: number): ChangeRequest =>
  expectedRevision === undefined
    ? { actor: 'alice', now: NOW }
    : { actor: 'alice', now: NOW, expectedRevision };

describe('assertRevision', () => {
  const cases: { label: string; current?: Revisioned<string>; expected?: number; refused?: string }[] = [
    { label: 'no expectation', current },
    { label: 'no expectation, nothing there' },
    { label: 'the current revision', current, expected: 3 },
    { label: 'a stale revision', current, expected: 2, refused: 'thing is at revision 3, not 2' },
    {
      label: 'a revision of nothing',
      expected: 1,
      refused: 'thing is at revision none (it does not exist), not 1',
    },
  ];
  for (const c of cases) {
    test(c.label, () => {
      const check = () => {
        assertRevision('StageConflict', 'thing', c.current, request(c.expected));
      };
      if (c.refused === undefined) {
        check();
        return;
      }
      assert.throws(check, (error: unknown) => {
        assert.ok(error instanceof SluiceError);
        assert.equal(error.code, 'StageConflict');
        assert.ok(error.message.startsWith(`${c.refused}; read it again`), error.message);
        assert.deepEqual(error.details, { currentRevision: c.current?.revision ?? null });
        return true;
      });
    });
  }
});

describe('planSpecWrite', () => {
  test('a first write creates at the revision after the last one, with nothing before', () => {
    assert.deepEqual(planSpecWrite(undefined, 5, 'new', request(), 'create'), {
      record: { spec: 'new', revision: 6, createdAt: NOW, updatedAt: NOW },
      entry: { revision: 6, action: 'create', actor: 'alice', at: NOW, before: null, after: 'new' },
    });
  });

  test('a later write keeps the creation time and records the spec it replaces', () => {
    assert.deepEqual(planSpecWrite(current, 7, 'new', request(), 'rollback'), {
      record: { spec: 'new', revision: 8, createdAt: CREATED, updatedAt: NOW },
      entry: { revision: 8, action: 'rollback', actor: 'alice', at: NOW, before: 'old', after: 'new' },
    });
  });
});

test('planSpecDelete records the revision after the current one, with nothing after', () => {
  assert.deepEqual(planSpecDelete(current, request()), {
    revision: 4,
    action: 'delete',
    actor: 'alice',
    at: NOW,
    before: 'old',
    after: null,
  });
});
