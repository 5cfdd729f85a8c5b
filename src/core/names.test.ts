import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_ALIAS,
  LATEST,
  assertAliasName,
  assertFunctionName,
  assertVersionId,
  formatVersionRef,
  isAliasName,
  isFunctionName,
  parseQualifier,
  parseVersionRef,
  type Qualifier,
} from './names.js';
import { caught, issuePaths } from '../../test/support/errors.js';

const FUNCTION_NAMES: [name: string, ok: boolean][] = [
  ['a', true],
  ['A', true],
  ['_', true],
  ['_private', true],
  ['my-func_2', true],
  ['f'.repeat(64), true],
  ['f'.repeat(65), false],
  ['_' + 'x'.repeat(63), true],
  ['_' + 'x'.repeat(64), false],
  ['', false],
  ['1abc', false],
  ['9', false],
  ['-abc', false],
  ['$LATEST', false],
  ['a.b', false],
  ['a b', false],
  ['a/b', false],
  ['café', false],
  ['ñame', false],
  ['名前', false],
  ['abc\n', false],
  ['\nabc', false],
  ['abc ', false],
];

const ALIAS_NAMES: [name: string, ok: boolean][] = [
  ['a', true],
  ['release', true],
  ['pre-pub_2', true],
  ['r'.repeat(64), true],
  ['r'.repeat(65), false],
  [DEFAULT_ALIAS, true],
  [LATEST, false],
  // Function Compute's name for $LATEST, in any case: qualifier=LATEST must always mean $LATEST.
  ['LATEST', false],
  ['latest', false],
  ['Latest', false],
  ['LATEST2', true],
  ['latest-v2', true],
  ['$default', false],
  ['$OTHER', false],
  ['', false],
  ['1', false],
  ['01', false],
  ['1release', false],
  ['1e3', false],
  ['-1', false],
  ['_release', false],
  ['-release', false],
  ['rel.ease', false],
  ['rélease', false],
  ['release\n', false],
];

/** Each kind of name: its check and its assertion agree, and a refusal names the field and the name. */
const NAME_KINDS: [
  kind: string,
  is: (name: string) => boolean,
  assertName: (name: string) => void,
  table: [string, boolean][],
][] = [
  ['function names', isFunctionName, assertFunctionName, FUNCTION_NAMES],
  ['alias names', isAliasName, assertAliasName, ALIAS_NAMES],
];

for (const [kind, is, assertName, table] of NAME_KINDS) {
  describe(kind, () => {
    for (const [name, ok] of table) {
      test(`${JSON.stringify(name)} is ${ok ? 'valid' : 'invalid'}`, () => {
        assert.equal(is(name), ok);
        if (ok) assertName(name);
        else {
          const error = caught(() => {
            assertName(name);
          });
          assert.equal(error.code, 'InvalidArgument');
          assert.deepEqual(issuePaths(error), ['name']);
          assert.ok(error.message.includes(`"${name}"`), 'the message names the refused name');
        }
      });
    }
  });
}

describe('parseVersionRef / formatVersionRef', () => {
  const table: [text: string, ref: ReturnType<typeof parseVersionRef>][] = [
    ['$LATEST', LATEST],
    ['1', 1],
    ['42', 42],
    ['1000000', 1000000],
    ['9007199254740991', 9007199254740991],
    ['0', undefined],
    ['01', undefined],
    ['-1', undefined],
    ['+1', undefined],
    ['1.0', undefined],
    ['1e3', undefined],
    [' 1', undefined],
    ['1 ', undefined],
    ['', undefined],
    ['$latest', undefined],
    ['LATEST', LATEST],
    ['latest', undefined],
    ['release', undefined],
    // Beyond Number.MAX_SAFE_INTEGER the number would be silently rounded to another version.
    ['9007199254740993', undefined],
    ['9999999999999999', undefined],
    ['12345678901234567', undefined],
  ];
  for (const [text, ref] of table) {
    test(`${JSON.stringify(text)} → ${String(ref)}`, () => {
      assert.equal(parseVersionRef(text), ref);
      if (ref !== undefined) assert.equal(formatVersionRef(ref), ref === LATEST ? LATEST : text);
    });
  }
});

describe('parseQualifier', () => {
  const table: [text: string | undefined, expected: Qualifier | 'invalid'][] = [
    [undefined, { kind: 'alias', alias: DEFAULT_ALIAS }],
    ['', { kind: 'alias', alias: DEFAULT_ALIAS }],
    [DEFAULT_ALIAS, { kind: 'alias', alias: DEFAULT_ALIAS }],
    [LATEST, { kind: 'latest' }],
    ['LATEST', { kind: 'latest' }],
    ['1', { kind: 'version', version: 1 }],
    ['27', { kind: 'version', version: 27 }],
    ['release', { kind: 'alias', alias: 'release' }],
    ['a', { kind: 'alias', alias: 'a' }],
    ['01', 'invalid'],
    ['0', 'invalid'],
    ['-3', 'invalid'],
    ['1.5', 'invalid'],
    ['$latest', 'invalid'],
    ['latest', 'invalid'],
    ['Latest', 'invalid'],
    ['$OTHER', 'invalid'],
    ['_x', 'invalid'],
    ['has space', 'invalid'],
    ['a/b', 'invalid'],
    ['r'.repeat(65), 'invalid'],
    ['9999999999999999', 'invalid'],
  ];
  for (const [text, expected] of table) {
    test(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      if (expected !== 'invalid') {
        assert.deepEqual(parseQualifier(text), expected);
        return;
      }
      const error = caught(() => parseQualifier(text));
      assert.equal(error.code, 'InvalidArgument');
      assert.equal(error.status, 400);
      assert.deepEqual(issuePaths(error), ['qualifier']);
      assert.ok(error.message.includes(`"${String(text)}"`), 'the message names the refused qualifier');
    });
  }
});

describe('assertVersionId', () => {
  const table: [text: string, expected: number | 'invalid'][] = [
    ['1', 1],
    ['10', 10],
    ['0', 'invalid'],
    ['007', 'invalid'],
    ['$LATEST', 'invalid'],
    ['x', 'invalid'],
    ['', 'invalid'],
    ['9007199254740993', 'invalid'],
  ];
  for (const [text, expected] of table) {
    test(`${JSON.stringify(text)} → ${expected}`, () => {
      if (expected !== 'invalid') {
        assert.equal(assertVersionId(text), expected);
        return;
      }
      const error = caught(() => assertVersionId(text));
      assert.equal(error.code, 'InvalidArgument');
      assert.deepEqual(issuePaths(error), ['version']);
      assert.ok(error.message.includes(`"${text}"`));
    });
  }
});
