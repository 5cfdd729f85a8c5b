import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProvisionedSpec } from '../../core/provisioned.js';
import { problems } from '../../../test/support/errors.js';
import { validator } from '../validate.js';
import { ProvisionedBody } from './provisioned.js';

// Provisioned instances as the API takes them: checked against the schema, then by the core.

const checkBody = validator(ProvisionedBody);
const parse = (body: unknown) => parseProvisionedSpec(checkBody(body));
const paths = (body: unknown) => problems(() => parse(body));

describe('parseProvisionedSpec', () => {
  test('accepts a target with a ratio, "weight" or none (1 %)', () => {
    assert.deepEqual(parse({ target: 10 }), { target: 10, canaryRatio: 0.01 });
    assert.deepEqual(parse({ target: 0, canaryRatio: 0.2 }), { target: 0, canaryRatio: 0.2 });
    assert.deepEqual(parse({ target: 3, canaryRatio: 'weight' }), {
      target: 3,
      canaryRatio: 'weight',
    });
    assert.deepEqual(parse({ target: 1000, canaryRatio: 1 }), {
      target: 1000,
      canaryRatio: 1,
    });
    assert.equal(parse({ target: 1, canaryRatio: -0 }).canaryRatio, 0);
  });

  const bad: [string, unknown, string[]][] = [
    ['no body', undefined, ['']],
    ['an array', [], ['']],
    ['no target', {}, ['target']],
    ['a fractional target', { target: 1.5 }, ['target']],
    ['a negative target', { target: -1 }, ['target']],
    ['a target beyond the limit', { target: 1001 }, ['target']],
    ['a string target', { target: '10' }, ['target']],
    ['a ratio above 1', { target: 1, canaryRatio: 1.5 }, ['canaryRatio']],
    ['a negative ratio', { target: 1, canaryRatio: -0.1 }, ['canaryRatio']],
    ['a ratio too precise', { target: 1, canaryRatio: 0.00001 }, ['canaryRatio']],
    ['another word for the ratio', { target: 1, canaryRatio: 'weights' }, ['canaryRatio']],
    ['a ratio as text', { target: 1, canaryRatio: '0.2' }, ['canaryRatio']],
    ['an unknown field', { target: 1, ratio: 0.2 }, ['ratio']],
    [
      'every problem at once',
      { target: -1, canaryRatio: 2, extra: true },
      ['extra', 'target', 'canaryRatio'],
    ],
  ];
  for (const [name, body, expected] of bad) {
    test(`refuses ${name}`, () => {
      assert.deepEqual(paths(body), expected);
    });
  }
});
