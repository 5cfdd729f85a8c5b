import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCommand, parseWeight } from './args.js';
import { formatSluiceYaml, parseSluiceYaml } from './config-file.js';
import { UsageError } from './errors.js';
import { globMatcher } from './pack.js';
import { formatRule, parseRule } from './rules.js';
import { configChanges } from './commands/versions.js';
import type { FunctionConfigView } from './views.js';
import { config } from '../../test/support/config.js';

const usage = (fn: () => unknown, pattern: RegExp) => {
  assert.throws(
    fn,
    (error: unknown) => error instanceof UsageError && error.exitCode === 2 && pattern.test(error.message),
  );
};

describe('weights', () => {
  test('a fraction or a percentage', () => {
    assert.equal(parseWeight('0.3', '--weight'), 0.3);
    assert.equal(parseWeight('30%', '--weight'), 0.3);
    assert.equal(parseWeight('0.1', '--traffic'), 0.1);
    assert.equal(parseWeight('12.5%', '--weight'), 0.125);
    assert.equal(parseWeight('1', '--weight'), 1);
    assert.equal(parseWeight('0', '--weight'), 0);
    assert.equal(parseWeight('100%', '--weight'), 1);
    assert.equal(parseWeight('.05', '--weight'), 0.05);
  });

  test('refused: above 1, negative, not a number, too precise', () => {
    usage(() => parseWeight('1.5', '--weight'), /fraction from 0 to 1.*not 1\.5$/);
    usage(() => parseWeight('-1', '--weight'), /not "-1"/);
    usage(() => parseWeight('abc', '--weight'), /not "abc"/);
    usage(() => parseWeight('30', '--weight'), /did you mean 30%\?/);
    usage(() => parseWeight('101%', '--weight'), /not 101%/);
    usage(() => parseWeight('0.00001', '--weight'), /precision/);
  });
});

describe('rules', () => {
  test('SOURCE:NAME OP VALUE, with and without spaces', () => {
    assert.deepEqual(parseRule('header:User = Bob'), {
      source: 'header',
      name: 'User',
      op: '=',
      value: 'Bob',
    });
    assert.deepEqual(parseRule('header:User=Bob'), { source: 'header', name: 'User', op: '=', value: 'Bob' });
    assert.deepEqual(parseRule('cookie:uid != "a b"'), {
      source: 'cookie',
      name: 'uid',
      op: '!=',
      value: 'a b',
    });
    assert.deepEqual(parseRule('query:age >= 18'), { source: 'query', name: 'age', op: '>=', value: 18 });
    assert.deepEqual(parseRule('key:n<3.5'), { source: 'key', name: 'n', op: '<', value: 3.5 });
    assert.deepEqual(parseRule('key:uid in 42,43'), {
      source: 'key',
      name: 'uid',
      op: 'in',
      value: ['42', '43'],
    });
    assert.deepEqual(parseRule('key:uid in [42, 43]'), {
      source: 'key',
      name: 'uid',
      op: 'in',
      value: ['42', '43'],
    });
    assert.deepEqual(parseRule('query:age range [1,100)'), {
      source: 'query',
      name: 'age',
      op: 'range',
      value: '[1,100)',
    });
    assert.deepEqual(parseRule('cookie:uid percent 20'), {
      source: 'cookie',
      name: 'uid',
      op: 'percent',
      value: 20,
    });
    assert.deepEqual(parseRule('cookie:uid percent 20%'), {
      source: 'cookie',
      name: 'uid',
      op: 'percent',
      value: 20,
    });
  });

  test("the seeds' form: invoke.headers.User exact Bob", () => {
    assert.deepEqual(parseRule('invoke.headers.User exact Bob'), {
      source: 'header',
      name: 'User',
      op: '=',
      value: 'Bob',
    });
    assert.deepEqual(parseRule('invoke.query.v range [1,3]'), {
      source: 'query',
      name: 'v',
      op: 'range',
      value: '[1,3]',
    });
  });

  test('formatRule is the inverse', () => {
    for (const text of [
      'header:User = Bob',
      'key:uid in 42,43',
      'query:age range [1,100)',
      'cookie:uid percent 20',
    ]) {
      assert.equal(formatRule(parseRule(text)), text);
    }
  });

  test('malformed rules point at the part that is wrong', () => {
    usage(() => parseRule('User = Bob'), /expected SOURCE:NAME OP VALUE/);
    usage(() => parseRule('hdr:User = Bob'), /unknown source "hdr"/);
    usage(() => parseRule('header:User ~ Bob'), /unknown operator "~"/);
    usage(() => parseRule('header:User~Bob'), /unknown operator "~"/);
    usage(() => parseRule('header:User'), /missing an operator/);
    usage(() => parseRule('header:User ='), /missing a value/);
    usage(() => parseRule('header: = Bob'), /missing the parameter name/);
    usage(() => parseRule('key:age > old'), /"old" is not a number/);
    usage(() => parseRule('key:age range [1,100'), /not a non-empty interval/);
    usage(() => parseRule('key:age range [5,1]'), /not a non-empty interval/);
    usage(() => parseRule('key:uid in 1,,2'), /comma-separated list/);
    usage(() => parseRule('key:uid percent 120'), /from 0 to 100/);
    usage(() => parseRule('header:Us(er = Bob'), /header name/);
  });
});

describe('command lines', () => {
  const options = { weight: { type: 'string' as const }, rule: { type: 'string' as const, multiple: true } };

  test('flags, repeated flags and negative values', () => {
    const args = parseCommand(
      'alias create',
      ['B', 'x', '--rule', 'a', '--rule', 'b', '--weight', '-1'],
      options,
      ['FN', 'ALIAS'],
    );
    assert.deepEqual(args.list('rule'), ['a', 'b']);
    assert.equal(args.string('weight'), '-1');
    assert.equal(args.positional(1), 'x');
  });

  test('unknown flags, missing and extra positionals are usage errors', () => {
    usage(
      () => parseCommand('alias get', ['B', 'x', '--nope'], {}, ['FN', 'ALIAS']),
      /^unknown option --nope$/,
    );
    usage(() => parseCommand('alias get', ['B'], {}, ['FN', 'ALIAS']), /^missing ALIAS$/);
    usage(() => parseCommand('alias get', ['B', 'x', 'y'], {}, ['FN', 'ALIAS']), /^unexpected argument "y"$/);
    usage(
      () => parseCommand('alias create', ['B', 'x', '--weight'], options, ['FN', 'ALIAS']),
      /^--weight needs a value$/,
    );
  });
});

describe('sluice.yaml', () => {
  test('what init writes reads back', () => {
    const config = {
      name: 'hello',
      runtime: 'nodejs20',
      handler: 'index.handler',
      memorySize: 256,
      timeout: 5,
      description: "it's: tricky # not a comment",
      environment: { GREETING: 'hello world', EMPTY: '' },
      exclude: ['*.log', 'tmp/'],
    };
    assert.deepEqual(parseSluiceYaml(formatSluiceYaml(config), 'sluice.yaml'), config);
  });

  test('comments, quotes, blocks', () => {
    const text = [
      '# a comment',
      'name: B   # trailing comment',
      "description: 'it''s'",
      'timeout: 10',
      'environment:',
      '  A: "x y"',
      '  B: plain',
      'exclude:',
      '  - "*.tmp"',
      '  - build/',
      'command: [python3, "-u", server.py]',
    ].join('\n');
    assert.deepEqual(parseSluiceYaml(text, 'f'), {
      name: 'B',
      description: "it's",
      timeout: 10,
      environment: { A: 'x y', B: 'plain' },
      exclude: ['*.tmp', 'build/'],
      command: ['python3', '-u', 'server.py'],
    });
  });

  test('real YAML: flow collections, quoting styles, comments, anchors', () => {
    const text = [
      '# a comment',
      "name: 'B'  # trailing comment",
      'description: "two\\nlines, a \\"quote\\" and a # hash"',
      'timeout: 10',
      'memorySize: "256"',
      'environment: {A: "x y", PORT: 8080, DEBUG: true, EMPTY: \'\', SAME: &v shared, ALSO: *v}',
      'exclude: [ "*.tmp", build/ ]',
      'handler: >-',
      '  index.handler',
    ].join('\n');
    assert.deepEqual(parseSluiceYaml(text, 'f'), {
      name: 'B',
      description: 'two\nlines, a "quote" and a # hash',
      timeout: 10,
      memorySize: 256,
      environment: { A: 'x y', PORT: '8080', DEBUG: 'true', EMPTY: '', SAME: 'shared', ALSO: 'shared' },
      exclude: ['*.tmp', 'build/'],
      handler: 'index.handler',
    });
  });

  test('errors name the line and column', () => {
    const table: [string, RegExp][] = [
      ['name: a\nmemory: 128\n', /^sluice.yaml:2:1: unknown key "memory" \(known: name, /],
      ['name: a\n  timeout: soon\n', /^sluice.yaml:1:7: Nested mappings are not allowed/],
      ['timeout: soon\n', /^sluice.yaml:1:1: timeout must be a whole number, not "soon"$/],
      ['name: a\nname: b\n', /^sluice.yaml:2:1: Map keys must be unique$/],
      [
        'environment: [a, b]\n',
        /^sluice.yaml:1:1: environment must be a map of NAME: value, not \["a","b"\]$/,
      ],
      ['environment: {A: {B: c}}\n', /^sluice.yaml:1:1: environment must be a map of NAME: value/],
      ['exclude: {a: b}\n', /^sluice.yaml:1:1: exclude must be a list of patterns/],
      [
        'command: python3 server.py\n',
        /^sluice.yaml:1:1: command must be a list: the program, then its arguments/,
      ],
      ['name: [a\n', /^sluice.yaml:2:1: Flow sequence .* must be sufficiently indented and end with a \]$/],
      ["description: 'open\n", /^sluice.yaml:2:1: Missing closing 'quote$/],
      ['- a\n- b\n', /^sluice.yaml:1:1: expected a map of key: value$/],
      ['timeout: !!int 3\n', /^sluice.yaml:1:10: Unresolved tag/],
    ];
    for (const [text, expected] of table) {
      assert.throws(
        () => parseSluiceYaml(text, 'sluice.yaml'),
        (error: Error) => expected.test(error.message),
        JSON.stringify(text),
      );
    }
  });
});

test('exclude globs', () => {
  assert.ok(globMatcher('*.log')('a/b/c.log', false));
  assert.ok(globMatcher('*.log')('c.log', false));
  assert.ok(!globMatcher('*.log')('c.log.js', false));
  assert.ok(globMatcher('tmp/')('x/tmp', true));
  assert.ok(!globMatcher('tmp/')('tmp', false));
  assert.ok(globMatcher('/build/**')('build/a/b.js', false));
  assert.ok(!globMatcher('/build/**')('src/build/a.js', false));
  assert.ok(globMatcher('.git/')('.git', true));
  assert.ok(globMatcher('/sluice.yaml')('sluice.yaml', false));
  assert.ok(!globMatcher('/sluice.yaml')('sub/sluice.yaml', false));
});

describe('configChanges', () => {
  const view = (command?: string[]): FunctionConfigView =>
    config({ runtime: 'custom', ...(command && { command }) });

  test('compares a command by its parts', () => {
    assert.deepEqual(configChanges(view(['python3', 'a.py']), view(['python3', 'a.py'])), []);
    assert.deepEqual(configChanges(view(['python3', 'a.py']), view(['python3', 'b.py'])), [
      { field: 'command', a: ['python3', 'a.py'], b: ['python3', 'b.py'] },
    ]);
    assert.deepEqual(configChanges(view(), view(['./serve'])), [
      { field: 'command', a: undefined, b: ['./serve'] },
    ]);
  });
});
