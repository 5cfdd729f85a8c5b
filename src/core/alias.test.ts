import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aliasTargets,
  assertTargetsExist,
  planRollback,
  type AliasSpec,
  type RollbackTarget,
} from './alias.js';
import type { AliasHistoryEntry, AliasRecord } from './model.js';
import { caught, issuePaths as paths } from '../../test/support/errors.js';

describe('aliasTargets and assertTargetsExist', () => {
  const versions = new Set([1, 2]);
  const table: [label: string, spec: AliasSpec, missing: string | undefined][] = [
    ['an existing primary', { version: 1, description: '' }, undefined],
    ['$LATEST', { version: '$LATEST', description: '' }, undefined],
    [
      'primary and canary existing',
      { version: 1, description: '', canary: { version: 2, weight: 0.5 } },
      undefined,
    ],
    [
      'a canary on $LATEST',
      { version: 2, description: '', canary: { version: '$LATEST', weight: 0.5 } },
      undefined,
    ],
    ['a missing primary', { version: 3, description: '' }, '3'],
    ['a missing canary', { version: 1, description: '', canary: { version: 4, weight: 0.5 } }, '4'],
    [
      'a missing rules canary',
      { version: '$LATEST', description: '', canary: { version: 9, match: 'all', rules: [] } },
      '9',
    ],
  ];
  for (const [label, spec, missing] of table) {
    test(`${label} → ${missing ? `VersionNotFound ${missing}` : 'ok'}`, () => {
      assert.deepEqual(
        aliasTargets(spec),
        spec.canary ? [spec.version, spec.canary.version] : [spec.version],
      );
      if (missing === undefined) {
        assertTargetsExist('fn', 'release', spec, versions);
        return;
      }
      const error = caught(() => {
        assertTargetsExist('fn', 'release', spec, versions);
      });
      assert.equal(error.code, 'VersionNotFound');
      assert.equal(error.status, 404);
      assert.deepEqual(error.details, { version: missing });
      assert.match(error.message, new RegExp(`version ${missing} of fn`));
      assert.match(error.message, /release/);
    });
  }

  test('$LATEST needs no published version', () => {
    assertTargetsExist('fn', 'a', { version: '$LATEST', description: '' }, new Set());
  });
});

describe('planRollback', () => {
  const A: AliasSpec = { version: 1, description: 'a' };
  const B: AliasSpec = { version: 1, description: 'b', canary: { version: 2, weight: 0.1 } };
  const C: AliasSpec = { version: 2, description: 'c', canary: { version: 3, weight: 0.5 } };
  const entry = (revision: number, before: AliasSpec | null, after: AliasSpec | null): AliasHistoryEntry => ({
    functionName: 'fn',
    alias: 'release',
    revision,
    action: after === null ? 'delete' : before === null ? 'create' : 'update',
    actor: 'tester',
    at: `2024-01-0${revision}T00:00:00.000Z`,
    before,
    after,
  });
  const record = (spec: AliasSpec, revision: number): AliasRecord => ({
    functionName: 'fn',
    name: 'release',
    spec,
    revision,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
  });
  // created as A, then B, deleted, recreated as B, then C
  const history = [entry(1, null, A), entry(2, A, B), entry(3, B, null), entry(4, null, B), entry(5, B, C)];

  const table: [
    label: string,
    current: AliasRecord,
    history: AliasHistoryEntry[],
    target: RollbackTarget,
    expected: AliasSpec | 'NothingToRollBack' | 'InvalidArgument',
  ][] = [
    ['previous', record(C, 5), history, { to: 'previous' }, B],
    ['previous after an update from A', record(B, 2), history, { to: 'previous' }, A],
    [
      'previous with no earlier configuration',
      record(B, 4),
      history,
      { to: 'previous' },
      'NothingToRollBack',
    ],
    [
      'previous of a first revision',
      record(A, 1),
      history.slice(0, 1),
      { to: 'previous' },
      'NothingToRollBack',
    ],
    ['previous without history', record(C, 5), [], { to: 'previous' }, 'NothingToRollBack'],
    ['primary', record(C, 5), history, { to: 'primary' }, { version: 2, description: 'c' }],
    ['primary without a canary', record(A, 1), history, { to: 'primary' }, 'NothingToRollBack'],
    ['revision 1', record(C, 5), history, { to: 'revision', revision: 1 }, A],
    ['revision 2', record(C, 5), history, { to: 'revision', revision: 2 }, B],
    ['the current revision', record(C, 5), history, { to: 'revision', revision: 5 }, 'NothingToRollBack'],
    ['an unknown revision', record(C, 5), history, { to: 'revision', revision: 99 }, 'InvalidArgument'],
    ['revision 0', record(C, 5), history, { to: 'revision', revision: 0 }, 'InvalidArgument'],
    ['a deletion', record(C, 5), history, { to: 'revision', revision: 3 }, 'InvalidArgument'],
  ];
  for (const [label, current, hist, target, expected] of table) {
    test(`${label} → ${typeof expected === 'string' ? expected : JSON.stringify(expected)}`, () => {
      if (typeof expected !== 'string') {
        assert.deepEqual(planRollback(current, hist, target), expected);
        return;
      }
      const error = caught(() => planRollback(current, hist, target));
      assert.equal(error.code, expected);
      assert.match(error.message, /release/);
      if (expected === 'InvalidArgument') assert.deepEqual(paths(error), ['revision']);
    });
  }

  test('rolling back to primary keeps the primary and description and drops only the canary', () => {
    const spec = planRollback(record(C, 5), history, { to: 'primary' });
    assert.equal('canary' in spec, false);
    assert.deepEqual(spec, { version: C.version, description: C.description });
  });
});
