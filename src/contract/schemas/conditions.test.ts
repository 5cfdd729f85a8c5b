import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OPS, SOURCES, checkCondition } from '../../core/conditions.js';
import { Issues } from '../../core/validate.js';
import { validator } from '../validate.js';
import { Condition } from './aliases.js';
import { Strict } from './common.js';
import { withOverrides } from '../../../test/support/overrides.js';

const checkAt = validator(Strict({ c: Condition }));

/**
 * The paths of the problems that checking `input` at path `c` reports (empty when it is valid): its schema's,
 * then, if it has none, the core's.
 */
function problems(input: unknown): string[] {
  const found = checkAt.issues({ c: input });
  if (found.length > 0) return found.map((i) => i.path);
  const issues = new Issues();
  checkCondition(input as Condition, 'c', issues);
  return issues.list.map((i) => i.path);
}

/** A valid condition, with some fields replaced (or removed when given `undefined`). */
function condition(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides({ source: 'header', name: 'x-user', op: '=', value: 'alice' }, overrides);
}

function show(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value) && value.length > 3) return `[${value.length} items]`;
  if (typeof value === 'string' && value.length > 20) return `"${value.slice(0, 5)}…"(${value.length})`;
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

const long = (n: number) => 'v'.repeat(n);
const list = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`);

describe('condition value per op', () => {
  // [op, value, expected problem paths]
  const table: [op: string, value: unknown, expected: string[]][] = [
    ['=', 'alice', []],
    ['=', '', []],
    ['=', '42', []],
    ['=', long(1024), []],
    ['=', long(1025), ['c.value']],
    ['=', 42, ['c.value']],
    ['=', true, ['c.value']],
    ['=', null, ['c.value']],
    ['=', ['alice'], ['c.value']],
    ['=', { v: 'alice' }, ['c.value']],
    ['!=', 'alice', []],
    ['!=', '', []],
    ['!=', long(1025), ['c.value']],
    ['!=', 42, ['c.value']],
    ['!=', null, ['c.value']],

    ...(['>', '<', '>=', '<='] as const).flatMap((op): [string, unknown, string[]][] => [
      [op, 5, []],
      [op, 0, []],
      [op, -1.5, []],
      [op, 1e9, []],
      [op, '5', ['c.value']],
      [op, null, ['c.value']],
      [op, [5], ['c.value']],
      [op, true, ['c.value']],
      [op, Number.NaN, ['c.value']],
      [op, Number.POSITIVE_INFINITY, ['c.value']],
      [op, Number.NEGATIVE_INFINITY, ['c.value']],
    ]),

    ['in', ['a'], []],
    ['in', ['a', 'b', ''], []],
    ['in', list(100), []],
    ['in', [long(1024)], []],
    ['in', [], ['c.value']],
    ['in', list(101), ['c.value']],
    ['in', [1], ['c.value[0]']],
    ['in', ['a', 2, null], ['c.value[1]', 'c.value[2]']],
    ['in', [['a']], ['c.value[0]']],
    ['in', ['a', long(1025)], ['c.value[1]']],
    ['in', 'a', ['c.value']],
    ['in', 'a,b', ['c.value']],
    ['in', null, ['c.value']],
    ['in', { 0: 'a' }, ['c.value']],

    ['range', '[1,100)', []],
    ['range', '(0,1]', []],
    ['range', '[5,5]', []],
    ['range', '(1,2)', []],
    ['range', '[ 1 , 2 ]', []],
    ['range', '[-1.5,2.5]', []],
    ['range', '(1e2,1e3)', []],
    ['range', '(5,5)', ['c.value']],
    ['range', '[5,5)', ['c.value']],
    ['range', '(5,5]', ['c.value']],
    ['range', '[2,1]', ['c.value']],
    ['range', '1,2', ['c.value']],
    ['range', '[a,b]', ['c.value']],
    ['range', '[1,2', ['c.value']],
    ['range', '[1;2]', ['c.value']],
    ['range', '[1,2,3]', ['c.value']],
    ['range', '{1,2}', ['c.value']],
    ['range', '', ['c.value']],
    ['range', 5, ['c.value']],
    ['range', [1, 2], ['c.value']],
    ['range', null, ['c.value']],

    ['percent', 0, []],
    ['percent', 100, []],
    ['percent', 20, []],
    ['percent', 12.5, []],
    ['percent', -1, ['c.value']],
    ['percent', -0.001, ['c.value']],
    ['percent', 100.001, ['c.value']],
    ['percent', 101, ['c.value']],
    ['percent', '20', ['c.value']],
    ['percent', null, ['c.value']],
    ['percent', Number.NaN, ['c.value']],
    ['percent', Number.POSITIVE_INFINITY, ['c.value']],
    ['percent', [20], ['c.value']],
  ];
  test('the table covers every op', () => {
    assert.deepEqual([...new Set(table.map(([op]) => op))].sort(), [...OPS].sort());
  });
  for (const [op, value, expected] of table) {
    test(`${op} ${show(value)} → ${expected.length ? expected.join(', ') : 'valid'}`, () => {
      assert.deepEqual(problems(condition({ op, value })), expected);
    });
  }

  test('a bad range names the offending text', () => {
    const issues = new Issues();
    checkCondition(condition({ op: 'range', value: '[2,1]' }) as Condition, 'c', issues);
    assert.ok(issues.list[0]?.message.includes('[2,1]'));
  });
});

describe('condition source and name', () => {
  const table: [source: unknown, name: unknown, expected: string[]][] = [
    ...SOURCES.map((s): [unknown, unknown, string[]] => [s, 'userId', []]),
    ['body', 'x', ['c.source']],
    ['Header', 'x', ['c.source']],
    ['', 'x', ['c.source']],
    [1, 'x', ['c.source']],
    [null, 'x', ['c.source']],

    // header names must be HTTP tokens (RFC 9110)
    ['header', 'X-User', []],
    ['header', 'x_user.v2', []],
    ['header', "a!#$%&'*+.^_`|~-z09", []],
    ['header', 'h'.repeat(128), []],
    ['header', 'h'.repeat(129), ['c.name']],
    ['header', 'x user', ['c.name']],
    ['header', 'x:user', ['c.name']],
    ['header', 'x(user)', ['c.name']],
    ['header', 'x"user', ['c.name']],
    ['header', 'x/user', ['c.name']],
    ['header', 'üser', ['c.name']],
    ['header', 'x-user\n', ['c.name']],
    ['header', '', ['c.name']],
    ['header', 5, ['c.name']],

    // other sources take any non-empty name of at most 128 characters
    ...(['cookie', 'query', 'key'] as const).flatMap((s): [unknown, unknown, string[]][] => [
      [s, 'user id', []],
      [s, 'üser', []],
      [s, 'a:b', []],
      [s, 'n'.repeat(128), []],
      [s, 'n'.repeat(129), ['c.name']],
      [s, '', ['c.name']],
      [s, 5, ['c.name']],
      [s, null, ['c.name']],
    ]),
  ];
  test('the table covers every source', () => {
    for (const s of SOURCES)
      assert.ok(
        table.some(([source]) => source === s),
        s,
      );
  });
  for (const [source, name, expected] of table) {
    test(`${show(source)}:${show(name)} → ${expected.length ? expected.join(', ') : 'valid'}`, () => {
      assert.deepEqual(problems(condition({ source, name })), expected);
    });
  }
});

describe('condition shape', () => {
  const table: [label: string, input: unknown, expected: string[]][] = [
    ['a valid condition', condition(), []],
    ['no source', condition({ source: undefined }), ['c.source']],
    ['no name', condition({ name: undefined }), ['c.name']],
    ['no op', condition({ op: undefined }), ['c.op']],
    ['no value', condition({ value: undefined }), ['c.value']],
    ['nothing', {}, ['c.source', 'c.name', 'c.op', 'c.value']],
    ['an unknown field', condition({ negate: true }), ['c.negate']],
    ['an unknown op', condition({ op: 'like' }), ['c.op']],
    ['op ==', condition({ op: '==' }), ['c.op']],
    ['op as a number', condition({ op: 1 }), ['c.op']],
    [
      'an unknown op with a bad value: the value is not judged',
      condition({ op: 'like', value: 5 }),
      ['c.op'],
    ],
    [
      'several problems',
      { source: 'body', op: 'in', value: [], extra: 1 },
      ['c.extra', 'c.source', 'c.name', 'c.value'],
    ],
    ['null', null, ['c']],
    ['a list', [condition()], ['c']],
    ['a string', 'header:x=1', ['c']],
  ];
  for (const [label, input, expected] of table) {
    test(`${label} → ${expected.length ? expected.join(', ') : 'valid'}`, () => {
      assert.deepEqual(problems(input).sort(), [...expected].sort());
    });
  }

  test('a missing field is reported as required', () => {
    assert.deepEqual(checkAt.issues({ c: condition({ op: undefined }) }), [
      { path: 'c.op', message: 'is required' },
    ]);
  });
});
