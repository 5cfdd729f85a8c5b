import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCodeEntries,
  DEFAULT_CODE_LIMITS,
  entryPathProblem,
  type CodeEntry,
  type CodeLimits,
} from './code-package.js';
import { SluiceError } from './errors.js';

const limits: CodeLimits = { zipBytes: 1000, unzippedBytes: 1000, entries: 5 };

function file(path: string, size = 1): CodeEntry {
  return { path, kind: 'file', size };
}

function refusal(code: SluiceError['code'], message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SluiceError);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    assert.deepEqual(error.details, [{ path: 'code', message: error.message }]);
    return true;
  };
}

test('DEFAULT_CODE_LIMITS are 50 MB zipped, 250 MB unzipped and 10 000 entries', () => {
  assert.deepEqual(DEFAULT_CODE_LIMITS, {
    zipBytes: 52_428_800,
    unzippedBytes: 262_144_000,
    entries: 10_000,
  });
});

const safePaths = [
  'index.js',
  'lib/a.js',
  'dir/',
  'a/b/c/d.json',
  '.env',
  'node_modules/.bin/x',
  '..hidden',
  'a..b/c.',
  'café/naïve.js',
  '日本語/ファイル.txt',
  'emoji/😀.js',
  'with space.js',
  'a'.repeat(1024),
];
for (const path of safePaths) {
  test(`entryPathProblem accepts ${JSON.stringify(path.slice(0, 40))}`, () => {
    assert.equal(entryPathProblem(path), undefined);
  });
}

const unsafePaths: [string, RegExp][] = [
  ['', /empty path/],
  ['/etc/passwd', /absolute/],
  ['/', /absolute/],
  ['//server/share', /absolute/],
  ['C:\\Windows\\x', /absolute/],
  ['C:/Windows/x', /absolute/],
  ['c:x', /absolute/],
  ['lib\\a.js', /backslash/],
  ['..\\evil.js', /backslash/],
  ['../evil.js', /'\.\.' segment/],
  ['..', /'\.\.' segment/],
  ['../', /'\.\.' segment/],
  ['a/../../evil.js', /'\.\.' segment/],
  ['a/..', /'\.\.' segment/],
  ['./a.js', /'\.' segment/],
  ['a/./b.js', /'\.' segment/],
  ['.', /'\.' segment/],
  ['a//b.js', /empty segment/],
  ['dir//', /empty segment/],
  ['a\u0000.js', /control character/],
  ['a\n.js', /control character/],
  ['a\u001b[31m.js', /control character/],
  ['a\u007f.js', /control character/],
  ['a\u0085.js', /control character/],
  ['a'.repeat(1025), /longer than 1024 bytes/],
  ['é'.repeat(513), /longer than 1024 bytes/],
];
for (const [path, problem] of unsafePaths) {
  test(`entryPathProblem refuses ${JSON.stringify(path.slice(0, 40))}`, () => {
    assert.match(entryPathProblem(path) ?? '', problem);
  });
}

test('checkCodeEntries accepts a well-formed package', () => {
  checkCodeEntries(
    [file('index.js'), { path: 'lib/', kind: 'directory', size: 0 }, file('lib/a.js'), file('日本語.js')],
    limits,
  );
  checkCodeEntries([], limits);
});

const refusedEntries: [string, CodeEntry[], SluiceError['code'], RegExp][] = [
  [
    'an unsafe path',
    [file('ok.js'), file('../evil.js')],
    'InvalidCodePackage',
    /^entry '\.\.\/evil\.js' .*'\.\.'/,
  ],
  [
    'a symbolic link',
    [{ path: 'link', kind: 'symlink', size: 10 }],
    'InvalidCodePackage',
    /^entry 'link' is a symbolic link; links are not allowed in a code package$/,
  ],
  [
    'a device or other special entry',
    [{ path: 'fifo', kind: 'other', size: 0 }],
    'InvalidCodePackage',
    /^entry 'fifo' is neither a file nor a directory$/,
  ],
  [
    'a duplicate file',
    [file('a.js'), file('b.js'), file('a.js')],
    'InvalidCodePackage',
    /'a\.js' appears more/,
  ],
  [
    'a directory duplicating a file',
    [file('a'), { path: 'a/', kind: 'directory', size: 0 }],
    'InvalidCodePackage',
    /'a\/' appears more/,
  ],
  ['an entry under a file', [file('a'), file('a/b.js')], 'InvalidCodePackage', /'a\/b\.js' lies under 'a'/],
  [
    'an entry deep under a file',
    [file('a/b/c.js'), file('a/b')],
    'InvalidCodePackage',
    /'a\/b\/c\.js' lies under/,
  ],
  ['a control character, escaped', [file('a\u001b.js')], 'InvalidCodePackage', /^entry 'a\\u001b\.js' /],
  [
    'too many entries',
    Array.from({ length: 6 }, (_, i) => file(`f${i}.js`)),
    'CodeTooLarge',
    /limit of 5 entries/,
  ],
  [
    'too many unzipped bytes',
    [file('a.js', 600), file('b.js', 401)],
    'CodeTooLarge',
    /unzips to more than the limit/,
  ],
];
for (const [what, entries, code, message] of refusedEntries) {
  test(`checkCodeEntries refuses ${what}`, () => {
    assert.throws(
      () => {
        checkCodeEntries(entries, limits);
      },
      refusal(code, message),
    );
  });
}

test('checkCodeEntries accepts exactly the limits', () => {
  checkCodeEntries(
    Array.from({ length: 5 }, (_, i) => file(`f${i}.js`, 200)),
    limits,
  );
});

test('the unzipped limit is stated in MB', () => {
  assert.throws(
    () => {
      checkCodeEntries([file('big.bin', 250 * 1024 * 1024 + 1)], DEFAULT_CODE_LIMITS);
    },
    refusal('CodeTooLarge', /the limit of 250 MB$/),
  );
});
