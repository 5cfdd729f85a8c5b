import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ErrorCode } from './errors.js';
import type { AliasSpec } from './alias.js';
import {
  aliasesUsing,
  assertVersionUnused,
  planAliasDelete,
  planAliasWrite,
  type AliasChangeRequest,
} from './alias-changes.js';
import type { AliasAction, AliasRecord } from './model.js';
import type { VersionRef } from './names.js';
import { caught } from '../../test/support/errors.js';

const CREATED = '2024-01-01T00:00:00.000Z';
const NOW = '2024-06-01T12:00:00.000Z';
const versions: ReadonlySet<number> = new Set([1, 2, 3]);

function spec(version: VersionRef, canary?: VersionRef): AliasSpec {
  const s: AliasSpec = { version, description: '' };
  if (canary !== undefined) s.canary = { version: canary, weight: 0.1 };
  return s;
}

function record(name: string, s: AliasSpec, revision = 3): AliasRecord {
  return { functionName: 'fn', name, spec: s, revision, createdAt: CREATED, updatedAt: CREATED };
}

function request(overrides: Partial<AliasChangeRequest> = {}): AliasChangeRequest {
  return { actor: 'alice', now: NOW, ...overrides };
}

describe('planAliasWrite', () => {
  interface Case {
    label: string;
    current?: AliasRecord;
    lastRevision: number;
    spec: AliasSpec;
    request: AliasChangeRequest;
    action?: AliasAction;
    expected: { revision: number; action: AliasAction; created: boolean } | ErrorCode;
  }
  const current = record('release', spec(1), 3);
  const cases: Case[] = [
    {
      label: 'create',
      lastRevision: 0,
      spec: spec(1),
      request: request(),
      expected: { revision: 1, action: 'create', created: true },
    },
    {
      label: 'create after an earlier incarnation was deleted: revisions continue',
      lastRevision: 7,
      spec: spec(1),
      request: request(),
      expected: { revision: 8, action: 'create', created: true },
    },
    {
      label: 'create only, when the alias is missing',
      lastRevision: 0,
      spec: spec('$LATEST'),
      request: request({ createOnly: true }),
      expected: { revision: 1, action: 'create', created: true },
    },
    {
      label: 'update',
      current,
      lastRevision: 3,
      spec: spec(2, 3),
      request: request(),
      expected: { revision: 4, action: 'update', created: false },
    },
    {
      label: 'update with the current revision',
      current,
      lastRevision: 3,
      spec: spec(2),
      request: request({ expectedRevision: 3 }),
      expected: { revision: 4, action: 'update', created: false },
    },
    {
      label: 'a rollback is recorded as such',
      current,
      lastRevision: 3,
      spec: spec(2),
      request: request(),
      action: 'rollback',
      expected: { revision: 4, action: 'rollback', created: false },
    },
    {
      label: 'create only, when the alias exists',
      current,
      lastRevision: 3,
      spec: spec(2),
      request: request({ createOnly: true }),
      expected: 'AliasAlreadyExists',
    },
    {
      label: 'a stale revision',
      current,
      lastRevision: 3,
      spec: spec(2),
      request: request({ expectedRevision: 2 }),
      expected: 'AliasConflict',
    },
    {
      label: 'a revision from the future',
      current,
      lastRevision: 3,
      spec: spec(2),
      request: request({ expectedRevision: 4 }),
      expected: 'AliasConflict',
    },
    {
      label: 'a revision for an alias that does not exist',
      lastRevision: 3,
      spec: spec(2),
      request: request({ expectedRevision: 3 }),
      expected: 'AliasConflict',
    },
    {
      label: 'a missing primary version',
      current,
      lastRevision: 3,
      spec: spec(4),
      request: request(),
      expected: 'VersionNotFound',
    },
    {
      label: 'a missing canary version',
      lastRevision: 0,
      spec: spec(1, 9),
      request: request(),
      expected: 'VersionNotFound',
    },
  ];

  for (const c of cases) {
    test(`${c.label} → ${typeof c.expected === 'string' ? c.expected : `revision ${c.expected.revision}`}`, () => {
      const run = () =>
        planAliasWrite('fn', 'release', c.current, c.lastRevision, c.spec, versions, c.request, c.action);
      if (typeof c.expected === 'string') {
        const error = caught(run);
        assert.equal(error.code, c.expected);
        assert.match(error.message, /release/);
        return;
      }
      const planned = run();
      assert.equal(planned.created, c.expected.created);
      assert.deepEqual(planned.record, {
        functionName: 'fn',
        name: 'release',
        spec: c.spec,
        revision: c.expected.revision,
        createdAt: c.current ? c.current.createdAt : NOW,
        updatedAt: NOW,
      });
      assert.deepEqual(planned.entry, {
        functionName: 'fn',
        alias: 'release',
        revision: c.expected.revision,
        action: c.expected.action,
        actor: 'alice',
        at: NOW,
        before: c.current ? c.current.spec : null,
        after: c.spec,
      });
    });
  }

  test('a conflict reports the current revision', () => {
    const stale = caught(() =>
      planAliasWrite('fn', 'release', current, 3, spec(2), versions, request({ expectedRevision: 1 })),
    );
    assert.deepEqual(stale.details, { currentRevision: 3 });
    assert.equal(stale.status, 409);
    const missing = caught(() =>
      planAliasWrite('fn', 'release', undefined, 3, spec(2), versions, request({ expectedRevision: 1 })),
    );
    assert.deepEqual(missing.details, { currentRevision: null });
  });

  test('a missing version is named', () => {
    const error = caught(() =>
      planAliasWrite('fn', 'release', undefined, 0, spec(1, 9), versions, request()),
    );
    assert.deepEqual(error.details, { version: '9' });
  });
});

describe('planAliasDelete', () => {
  const current = record('release', spec(1, 2), 5);
  const cases: [
    label: string,
    alias: string,
    current: AliasRecord | undefined,
    req: AliasChangeRequest,
    code?: ErrorCode,
  ][] = [
    ['a plain delete', 'release', current, request()],
    ['with the current revision', 'release', current, request({ expectedRevision: 5 })],
    ['with a stale revision', 'release', current, request({ expectedRevision: 4 }), 'AliasConflict'],
    ['a missing alias', 'release', undefined, request(), 'AliasNotFound'],
    ['$DEFAULT', '$DEFAULT', record('$DEFAULT', spec('$LATEST'), 1), request(), 'DefaultAliasProtected'],
    [
      '$DEFAULT, even with its revision',
      '$DEFAULT',
      record('$DEFAULT', spec('$LATEST'), 1),
      request({ expectedRevision: 1 }),
      'DefaultAliasProtected',
    ],
    ['$DEFAULT when not stored', '$DEFAULT', undefined, request(), 'DefaultAliasProtected'],
  ];
  for (const [label, alias, cur, req, code] of cases) {
    test(`${label} → ${code ?? 'deleted'}`, () => {
      if (code) {
        const error = caught(() => planAliasDelete('fn', alias, cur, req));
        assert.equal(error.code, code);
        assert.ok(error.message.includes(alias), 'the message names the alias');
        return;
      }
      assert.deepEqual(planAliasDelete('fn', alias, cur, req), {
        functionName: 'fn',
        alias: 'release',
        revision: 6,
        action: 'delete',
        actor: 'alice',
        at: NOW,
        before: current.spec,
        after: null,
      });
    });
  }
});

describe('aliasesUsing and assertVersionUnused', () => {
  const aliases = [
    record('$DEFAULT', spec('$LATEST')),
    record('release', spec(1, 2)),
    record('prepub', spec(2)),
    record('dev', { version: 3, description: '', canary: { version: '$LATEST', match: 'all', rules: [] } }),
  ];
  const table: [version: VersionRef, users: string[]][] = [
    [1, ['release']],
    [2, ['release', 'prepub']],
    [3, ['dev']],
    ['$LATEST', ['$DEFAULT', 'dev']],
    [4, []],
  ];
  for (const [version, users] of table) {
    test(`version ${version} is used by ${users.length ? users.join(', ') : 'nobody'}`, () => {
      assert.deepEqual(aliasesUsing(version, aliases), users);
      if (version === '$LATEST') return;
      if (users.length === 0) {
        assertVersionUnused('fn', version, aliases);
        return;
      }
      const error = caught(() => {
        assertVersionUnused('fn', version, aliases);
      });
      assert.equal(error.code, 'VersionInUse');
      assert.equal(error.status, 409);
      assert.deepEqual(error.details, { aliases: users });
      for (const name of users) assert.ok(error.message.includes(name), `the message names ${name}`);
      assert.match(error.message, new RegExp(`version ${version} of fn`));
    });
  }

  test('a version used by no alias of an empty list is free', () => {
    assertVersionUnused('fn', 1, []);
  });
});
