import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { numericValue, parseInterval, type Interval } from './conditions.js';

describe('parseInterval', () => {
  const iv = (low: number, high: number, lowInclusive: boolean, highInclusive: boolean): Interval => ({
    low,
    high,
    lowInclusive,
    highInclusive,
  });
  const table: [text: string, expected: Interval | undefined][] = [
    ['[1,100)', iv(1, 100, true, false)],
    ['(0,1]', iv(0, 1, false, true)],
    ['[5,5]', iv(5, 5, true, true)],
    ['(1,2)', iv(1, 2, false, false)],
    ['[ -1.5 , 2.5 ]', iv(-1.5, 2.5, true, true)],
    ['[.5,5.]', iv(0.5, 5, true, true)],
    ['[+1,1e3)', iv(1, 1000, true, false)],
    ['[-2,-1]', iv(-2, -1, true, true)],
    ['(5,5)', undefined],
    ['[5,5)', undefined],
    ['(5,5]', undefined],
    ['[2,1]', undefined],
    ['1,2', undefined],
    ['[1,2', undefined],
    ['1,2]', undefined],
    ['[a,b]', undefined],
    ['[1,b]', undefined],
    ['[,2]', undefined],
    ['[1,]', undefined],
    ['[1 2]', undefined],
    ['[1,2,3]', undefined],
    [' [1,2]', undefined],
    ['[1,2] ', undefined],
    ['[Infinity,1]', undefined],
    ['[0x1,2]', undefined],
    ['', undefined],
  ];
  for (const [text, expected] of table) {
    test(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseInterval(text), expected);
    });
  }
});

describe('numericValue', () => {
  const table: [text: string, expected: number | undefined][] = [
    ['7', 7],
    [' 7 ', 7],
    ['0', 0],
    ['-0.5', -0.5],
    ['+3', 3],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-2', 0.01],
    ['007', 7],
    ['12a', undefined],
    ['a12', undefined],
    ['', undefined],
    ['   ', undefined],
    ['Infinity', undefined],
    ['-Infinity', undefined],
    ['NaN', undefined],
    ['0x10', undefined],
    ['1_000', undefined],
    ['1,5', undefined],
    ['1e', undefined],
    ['--1', undefined],
    ['.', undefined],
    ['1e999', undefined],
    ['+', undefined],
    ['-.', undefined],
    ['1e+', undefined],
    ['-1.5E+3', -1500],
    ['\t8\n', 8],
    ['8 9', undefined],
    ['0b1', undefined],
    ['0o7', undefined],
    ['1.2.3', undefined],
  ];
  for (const [text, expected] of table) {
    test(`${JSON.stringify(text)} → ${String(expected)}`, () => {
      assert.equal(numericValue(text), expected);
    });
  }
});
