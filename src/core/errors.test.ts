import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SluiceError, errorCatalog, isSluiceError, type ErrorCode } from './errors.js';

const codes = Object.keys(errorCatalog) as ErrorCode[];

describe('error catalog', () => {
  for (const code of codes) {
    test(`${code} has an error status and a line of documentation`, () => {
      const { status, doc } = errorCatalog[code];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `status ${status}`);
      assert.ok(doc.trim().length > 0);
      assert.match(code, /^[A-Z][A-Za-z]+$/, 'codes are PascalCase identifiers');
    });
  }

  const expectedStatus: [code: ErrorCode, status: number][] = [
    ['InvalidArgument', 400],
    ['MalformedRequest', 400],
    ['Unauthorized', 401],
    ['FunctionNotFound', 404],
    ['VersionNotFound', 404],
    ['AliasNotFound', 404],
    ['MethodNotAllowed', 405],
    ['FunctionAlreadyExists', 409],
    ['AliasAlreadyExists', 409],
    ['AliasConflict', 409],
    ['NothingToPublish', 409],
    ['VersionInUse', 409],
    ['DefaultAliasProtected', 409],
    ['NothingToRollBack', 409],
    ['PayloadTooLarge', 413],
    ['CodeTooLarge', 413],
    ['UnsupportedMediaType', 415],
    ['InternalError', 500],
  ];
  for (const [code, status] of expectedStatus) {
    test(`${code} is ${status}`, () => {
      assert.equal(errorCatalog[code].status, status);
    });
  }

  test('docs are distinct', () => {
    const docs = codes.map((c) => errorCatalog[c].doc);
    assert.equal(new Set(docs).size, docs.length);
  });
});

describe('SluiceError', () => {
  for (const code of codes) {
    test(`new SluiceError('${code}') carries its code, catalog status and message`, () => {
      const error = new SluiceError(code, `something about ${code}`);
      assert.equal(error.code, code);
      assert.equal(error.status, errorCatalog[code].status);
      assert.equal(error.message, `something about ${code}`);
      assert.equal(error.details, undefined);
      assert.equal(error.name, 'SluiceError');
      assert.ok(error instanceof Error);
      assert.ok(isSluiceError(error));
      assert.ok(typeof error.stack === 'string');
    });
  }

  test('carries field details', () => {
    const details = [{ path: 'canary.rules[2].op', message: 'must be one of = !=' }];
    const error = new SluiceError('InvalidArgument', 'alias is invalid', details);
    assert.deepEqual(error.details, details);
  });

  test('carries record details', () => {
    const error = new SluiceError('VersionInUse', 'in use', { aliases: ['release'] });
    assert.deepEqual(error.details, { aliases: ['release'] });
    assert.equal(error.status, 409);
  });

  test('isSluiceError refuses other values', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'InvalidArgument', status: 400 });
    for (const value of [
      lookalike,
      new Error('x'),
      { code: 'InvalidArgument' },
      null,
      undefined,
      'InvalidArgument',
    ]) {
      assert.equal(isSluiceError(value), false);
    }
  });
});
