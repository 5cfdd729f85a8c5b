import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError } from '../../core/errors.js';
import {
  isWeightCanary,
  parseAliasSpec as aliasSpec,
  sameAliasSpec,
  type AliasSpec,
} from '../../core/alias.js';
import { validator } from '../validate.js';
import { AliasSpecBody } from './aliases.js';
import { caught, issuePaths as paths } from '../../../test/support/errors.js';

// An alias write as the API takes it: checked against its schema, then by the core.
const checkAlias = validator(AliasSpecBody);
const parseAliasSpec = (input: unknown) => aliasSpec(checkAlias(input));

/** The problem paths parseAliasSpec reports for `input`, or [] when it accepts it. */
function problems(input: unknown): string[] {
  try {
    parseAliasSpec(input);
    return [];
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    assert.equal(error.code, 'InvalidArgument');
    return paths(error);
  }
}

const rule = (overrides: Record<string, unknown> = {}) => ({
  source: 'header',
  name: 'x-user',
  op: '=',
  value: 'alice',
  ...overrides,
});
const rules = (n: number) => Array.from({ length: n }, (_, i) => rule({ value: `u${i}` }));
const weighted = (weight: unknown, extra: Record<string, unknown> = {}) => ({
  version: '1',
  canary: { version: '2', weight, ...extra },
});
const ruled = (canary: Record<string, unknown>) => ({ version: '1', canary: { version: '2', ...canary } });

function show(value: unknown): string {
  const text = value === undefined ? 'undefined' : JSON.stringify(value);
  return text.length > 90 ? `${text.slice(0, 87)}...` : text;
}

describe('parseAliasSpec: primary version', () => {
  const table: [version: unknown, expected: AliasSpec['version'] | 'invalid' | 'missing'][] = [
    ['$LATEST', '$LATEST'],
    ['1', 1],
    ['12', 12],
    [1, 'invalid'],
    [0, 'invalid'],
    ['0', 'invalid'],
    ['01', 'invalid'],
    ['-1', 'invalid'],
    ['1.0', 'invalid'],
    ['latest', 'invalid'],
    ['$DEFAULT', 'invalid'],
    ['release', 'invalid'],
    ['', 'invalid'],
    [null, 'invalid'],
    [['1'], 'invalid'],
    [undefined, 'missing'],
  ];
  for (const [version, expected] of table) {
    test(`version ${show(version)} → ${String(expected)}`, () => {
      const input = version === undefined ? {} : { version };
      if (expected === 'invalid' || expected === 'missing') {
        const error = caught(() => parseAliasSpec(input));
        assert.equal(error.code, 'InvalidArgument');
        assert.deepEqual(paths(error), ['version']);
        if (expected === 'missing') assert.match(error.message, /version: is required/);
        return;
      }
      assert.deepEqual(parseAliasSpec(input), { version: expected, description: '' });
    });
  }

  test('a number is refused with a message that asks for a string', () => {
    const error = caught(() => parseAliasSpec({ version: 1 }));
    assert.match(error.message, /version: must be a string, not a number 1/);
  });

  test('a bad version string is named in the message', () => {
    assert.match(caught(() => parseAliasSpec({ version: 'v2' })).message, /"v2"/);
  });
});

describe('parseAliasSpec: description', () => {
  // expected: the description parsed, or null when it is refused
  const table: [input: Record<string, unknown>, expected: string | null][] = [
    [{ version: '1' }, ''],
    [{ version: '1', description: 'stable' }, 'stable'],
    [{ version: '1', description: 'd'.repeat(256) }, 'd'.repeat(256)],
    [{ version: '1', description: 'd'.repeat(257) }, null],
    [{ version: '1', description: 5 }, null],
    [{ version: '1', description: ['x'] }, null],
  ];
  for (const [input, expected] of table) {
    test(`${show(input)} → ${show(expected)}`, () => {
      if (expected === null) assert.deepEqual(problems(input), ['description']);
      else assert.equal(parseAliasSpec(input).description, expected);
    });
  }
});

describe('parseAliasSpec: canary weight', () => {
  // [weight, the normalized weight or 'invalid']
  const table: [weight: unknown, expected: number | 'invalid'][] = [
    [0, 0],
    [1, 1],
    [0.5, 0.5],
    [0.0001, 0.0001],
    [0.9999, 0.9999],
    [0.1234, 0.1234],
    [0.1 + 0.2, 0.3],
    [0.7 + 0.1, 0.8],
    [1 - 0.9, 0.1],
    [0.29 * 100 * 0.01, 0.29],
    [-0.0001, 'invalid'],
    [-1, 'invalid'],
    [1.0001, 'invalid'],
    [2, 'invalid'],
    [0.00001, 'invalid'],
    [0.12345, 'invalid'],
    [0.00015, 'invalid'],
    ['0.1', 'invalid'],
    [null, 'invalid'],
    [true, 'invalid'],
    [Number.NaN, 'invalid'],
    [Number.POSITIVE_INFINITY, 'invalid'],
  ];
  for (const [weight, expected] of table) {
    test(`weight ${String(weight)} → ${String(expected)}`, () => {
      if (expected === 'invalid') {
        assert.deepEqual(problems(weighted(weight)), ['canary.weight']);
        return;
      }
      const spec = parseAliasSpec(weighted(weight));
      assert.deepEqual(spec, { version: 1, description: '', canary: { version: 2, weight: expected } });
    });
  }

  test('a weight out of range is named in the message', () => {
    assert.match(caught(() => parseAliasSpec(weighted(1.5))).message, /1\.5/);
  });
});

describe('parseAliasSpec: canary shape', () => {
  const table: [label: string, input: unknown, expected: string[]][] = [
    ['no canary', { version: '1' }, []],
    ['canary null means none', { version: '1', canary: null }, []],
    ['a weighted canary on $LATEST', { version: '1', canary: { version: '$LATEST', weight: 0.1 } }, []],
    ['a canary from $LATEST', { version: '$LATEST', canary: { version: '3', weight: 0.1 } }, []],
    [
      'a canary equal to the primary',
      { version: '1', canary: { version: '1', weight: 0.1 } },
      ['canary.version'],
    ],
    ['both $LATEST', { version: '$LATEST', canary: { version: '$LATEST', weight: 0.1 } }, ['canary.version']],
    ['equal by rules', { version: '4', canary: { version: '4', rules: rules(1) } }, ['canary.version']],
    ['canary version missing', { version: '1', canary: { weight: 0.1 } }, ['canary.version']],
    ['canary version a number', { version: '1', canary: { version: 2, weight: 0.1 } }, ['canary.version']],
    ['canary version garbage', { version: '1', canary: { version: 'x', weight: 0.1 } }, ['canary.version']],
    ['weight and rules together', ruled({ weight: 0.1, rules: rules(1) }), ['canary']],
    ['neither weight nor rules', ruled({}), ['canary']],
    ['canary a number', { version: '1', canary: 0.1 }, ['canary']],
    ['canary a string', { version: '1', canary: '2' }, ['canary']],
    ['canary a list', { version: '1', canary: [] }, ['canary']],
    ['match with a weight', weighted(0.1, { match: 'all' }), ['canary.match']],
    [
      'sticky with rules',
      ruled({ rules: rules(1), sticky: { source: 'header', name: 'x-user' } }),
      ['canary.sticky'],
    ],
    ['match any', ruled({ match: 'any', rules: rules(2) }), []],
    ['match all', ruled({ match: 'all', rules: rules(2) }), []],
    ['match other', ruled({ match: 'some', rules: rules(1) }), ['canary.match']],
    ['match ALL', ruled({ match: 'ALL', rules: rules(1) }), ['canary.match']],
    ['1 rule', ruled({ rules: rules(1) }), []],
    ['20 rules', ruled({ rules: rules(20) }), []],
    ['0 rules', ruled({ rules: [] }), ['canary.rules']],
    ['21 rules', ruled({ rules: rules(21) }), ['canary.rules']],
    ['rules not a list', ruled({ rules: rule() }), ['canary.rules']],
    ['rules null', ruled({ rules: null }), ['canary.rules']],
    [
      'a bad op in the third rule',
      ruled({ rules: [rule(), rule(), rule({ op: 'like' })] }),
      ['canary.rules[2].op'],
    ],
    [
      'problems in several rules',
      ruled({ rules: [rule({ source: 'body' }), rule(), rule({ op: 'in', value: [] }), rule({ name: '' })] }),
      ['canary.rules[0].source', 'canary.rules[2].value', 'canary.rules[3].name'],
    ],
    ['a sticky header', weighted(0.1, { sticky: { source: 'header', name: 'x-user' } }), []],
    ['a sticky cookie', weighted(0.1, { sticky: { source: 'cookie', name: 'uid' } }), []],
    ['a sticky routing key', weighted(0.1, { sticky: { source: 'key', name: 'userId' } }), []],
    [
      'a sticky bad source',
      weighted(0.1, { sticky: { source: 'body', name: 'x' } }),
      ['canary.sticky.source'],
    ],
    [
      'a sticky bad header name',
      weighted(0.1, { sticky: { source: 'header', name: 'x y' } }),
      ['canary.sticky.name'],
    ],
    ['a sticky without name', weighted(0.1, { sticky: { source: 'cookie' } }), ['canary.sticky.name']],
    ['a sticky string', weighted(0.1, { sticky: 'x-user' }), ['canary.sticky']],
  ];
  for (const [label, input, expected] of table) {
    test(`${label} → ${expected.length ? expected.join(', ') : 'valid'}`, () => {
      assert.deepEqual(problems(input), expected);
    });
  }

  test('canary null gives a spec without a canary', () => {
    assert.equal('canary' in parseAliasSpec({ version: '1', canary: null }), false);
  });

  test('match defaults to all', () => {
    const spec = parseAliasSpec(ruled({ rules: rules(1) }));
    assert.ok(spec.canary && !isWeightCanary(spec.canary));
    assert.equal(spec.canary.match, 'all');
  });

  test('the message of an equal canary names the version', () => {
    assert.match(
      caught(() => parseAliasSpec({ version: '7', canary: { version: '7', weight: 0.5 } })).message,
      /\(7\)/,
    );
  });
});

describe('parseAliasSpec: unknown fields and input shape', () => {
  const table: [label: string, input: unknown, expected: string[]][] = [
    ['at the top', { version: '1', weight: 0.1 }, ['weight']],
    ['in the canary', weighted(0.1, { percent: 10 }), ['canary.percent']],
    [
      'in a sticky key',
      weighted(0.1, { sticky: { source: 'header', name: 'x', hash: 'md5' } }),
      ['canary.sticky.hash'],
    ],
    ['in a rule', ruled({ rules: [rule(), rule(), rule({ negate: true })] }), ['canary.rules[2].negate']],
    [
      'at every level at once',
      { version: '1', x: 1, canary: { version: '2', y: 1, rules: [rule({ z: 1 })] } },
      ['x', 'canary.y', 'canary.rules[0].z'],
    ],
    ['null', null, ['']],
    ['a string', '1', ['']],
    ['a list', [{ version: '1' }], ['']],
    [
      'all problems collected',
      { version: 1, description: 3, canary: { version: '2', weight: 7, sticky: { source: 'x', name: 'n' } } },
      ['version', 'description', 'canary.weight', 'canary.sticky.source'],
    ],
  ];
  for (const [label, input, expected] of table) {
    test(`${label} → ${expected.join(', ')}`, () => {
      assert.deepEqual(problems(input), expected);
    });
  }
});

describe('parseAliasSpec: canonical output', () => {
  const cases: [label: string, ordered: unknown, scrambled: unknown][] = [
    [
      'weight with sticky',
      {
        version: '1',
        description: 'd',
        canary: { version: '2', weight: 0.25, sticky: { source: 'header', name: 'x-u' } },
      },
      {
        canary: { sticky: { name: 'x-u', source: 'header' }, weight: 0.25, version: '2' },
        description: 'd',
        version: '1',
      },
    ],
    [
      'rules',
      {
        version: '$LATEST',
        canary: {
          version: '3',
          match: 'any',
          rules: [{ source: 'key', name: 'uid', op: 'in', value: ['a', 'b'] }],
        },
      },
      {
        canary: {
          rules: [{ value: ['a', 'b'], op: 'in', name: 'uid', source: 'key' }],
          match: 'any',
          version: '3',
        },
        version: '$LATEST',
      },
    ],
  ];
  for (const [label, ordered, scrambled] of cases) {
    test(`${label}: any key order in, the same JSON out`, () => {
      const a = parseAliasSpec(ordered);
      const b = parseAliasSpec(scrambled);
      assert.equal(JSON.stringify(a), JSON.stringify(b));
      assert.equal(sameAliasSpec(a, b), true);
    });
  }

  test('the output has a fixed key order and default fields', () => {
    const spec = parseAliasSpec(cases[0]![2]);
    assert.equal(
      JSON.stringify(spec),
      '{"version":1,"description":"d","canary":{"version":2,"weight":0.25,"sticky":{"source":"header","name":"x-u"}}}',
    );
    const ruledSpec = parseAliasSpec({ canary: { rules: [rule()], version: '2' }, version: '1' });
    assert.equal(
      JSON.stringify(ruledSpec),
      '{"version":1,"description":"","canary":{"version":2,"match":"all","rules":[{"source":"header","name":"x-user","op":"=","value":"alice"}]}}',
    );
  });

  test('float noise is normalized, so equal weights compare equal', () => {
    assert.equal(sameAliasSpec(parseAliasSpec(weighted(0.1 + 0.2)), parseAliasSpec(weighted(0.3))), true);
  });

  test('sameAliasSpec tells different specs apart', () => {
    assert.equal(sameAliasSpec(parseAliasSpec(weighted(0.1)), parseAliasSpec(weighted(0.2))), false);
    assert.equal(sameAliasSpec(parseAliasSpec({ version: '1' }), null), false);
    assert.equal(sameAliasSpec(null, null), true);
  });
});
