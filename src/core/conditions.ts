import { type Issues, fieldPath } from './validate.js';

export const SOURCES = ['header', 'cookie', 'query', 'key'] as const;
export type Source = (typeof SOURCES)[number];

export const OPS = ['=', '!=', '>', '<', '>=', '<=', 'in', 'range', 'percent'] as const;
export type Op = (typeof OPS)[number];

export type Condition =
  | { source: Source; name: string; op: '=' | '!='; value: string }
  | { source: Source; name: string; op: '>' | '<' | '>=' | '<='; value: number }
  | { source: Source; name: string; op: 'in'; value: string[] }
  | { source: Source; name: string; op: 'range'; value: string }
  | { source: Source; name: string; op: 'percent'; value: number };

/** A parameter of a request that routing may read: `header:X-User`, `cookie:uid`, `query:v`, `key:userId`. */
export interface ParameterRef {
  source: Source;
  name: string;
}

export interface Interval {
  low: number;
  high: number;
  lowInclusive: boolean;
  highInclusive: boolean;
}

export const RULE_LIMITS = { conditions: 20, nameLength: 128, valueLength: 1024, inValues: 100 } as const;

export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const NUMBER = '[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?';
const INTERVAL = new RegExp(`^([[(])\\s*(${NUMBER})\\s*,\\s*(${NUMBER})\\s*([\\])])$`);
const NUMERIC = new RegExp(`^\\s*${NUMBER}\\s*$`);

/** Parses `[1,100)`, `(0.5, 2]` and the like; undefined when the text is no interval or an empty one. */
export function parseInterval(text: string): Interval | undefined {
  const match = INTERVAL.exec(text);
  if (!match) return undefined;
  const [, open, lowText, highText, close] = match;
  const interval = {
    low: Number(lowText),
    high: Number(highText),
    lowInclusive: open === '[',
    highInclusive: close === ']',
  };
  const nonEmpty =
    interval.low < interval.high ||
    (interval.low === interval.high && interval.lowInclusive && interval.highInclusive);
  return nonEmpty ? interval : undefined;
}

const isDigit = (code: number) => code >= 48 && code <= 57;

/** Skips the digits from `i`; answers where they end. */
function digits(text: string, i: number): number {
  while (i < text.length && isDigit(text.charCodeAt(i))) i++;
  return i;
}

/**
 * Whether `text` is a number as NUMERIC has it without the surrounding blanks: the case of nearly every value a
 * rule compares, checked without running the expression (routing does this for every request).
 */
function isBareNumber(text: string): boolean {
  let i = 0;
  const sign = text.charCodeAt(0);
  if (sign === 43 || sign === 45) i++;
  const integer = digits(text, i);
  let end = integer;
  if (text.charCodeAt(end) === 46) end = digits(text, end + 1);
  // Digits before the point, or after it: `5.` and `.5`, never `.` alone.
  if (integer === i && end <= integer + 1) return false;
  const e = text.charCodeAt(end);
  if (e === 69 || e === 101) {
    let j = end + 1;
    const expSign = text.charCodeAt(j);
    if (expSign === 43 || expSign === 45) j++;
    end = digits(text, j);
    if (end === j) return false;
  }
  return end === text.length;
}

/** A parameter's value as a number, or undefined when it is not wholly numeric (`"12a"` is not a number). */
export function numericValue(text: string): number | undefined {
  if (!isBareNumber(text) && !NUMERIC.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

/** A header's name must be one HTTP allows; any other source's name may be any text. */
export function checkParameterRef(ref: ParameterRef, path: string, issues: Issues): void {
  if (ref.source === 'header' && !HEADER_NAME.test(ref.name))
    issues.add(fieldPath(path, 'name'), 'must be a valid HTTP header name');
}

/**
 * What a condition's schema cannot say (its types and ranges are the API's to check): a header name HTTP
 * allows, and a `range` that is a non-empty interval.
 */
export function checkCondition(condition: Condition, path: string, issues: Issues): void {
  checkParameterRef(condition, path, issues);
  if (condition.op === 'range' && !parseInterval(condition.value)) {
    issues.add(
      fieldPath(path, 'value'),
      `"${condition.value}" is not a non-empty interval such as [1,100), (0,1] or [5,5]`,
    );
  }
}
