import {
  Issues,
  checkFiniteNumber,
  checkString,
  describeType,
  fieldPath,
  readObject,
  requireField,
} from './validate.js';

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

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
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

/** A parameter's value as a number, or undefined when it is not wholly numeric (`"12a"` is not a number). */
export function numericValue(text: string): number | undefined {
  if (!NUMERIC.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

export function checkParameterRef(obj: Record<string, unknown>, path: string, issues: Issues): void {
  const source = requireField(obj, 'source', path, issues);
  if (
    source !== undefined &&
    !(typeof source === 'string' && (SOURCES as readonly string[]).includes(source))
  ) {
    issues.add(fieldPath(path, 'source'), `must be one of ${SOURCES.join(', ')}`);
  }
  const name = requireField(obj, 'name', path, issues);
  if (name === undefined) return;
  const namePath = fieldPath(path, 'name');
  if (source === 'header') {
    checkString(name, namePath, issues, {
      nonEmpty: true,
      maxLength: RULE_LIMITS.nameLength,
      pattern: HEADER_NAME,
      patternHint: 'must be a valid HTTP header name',
    });
  } else {
    checkString(name, namePath, issues, { nonEmpty: true, maxLength: RULE_LIMITS.nameLength });
  }
}

/** Validates one rule condition, checking that its value has the type its op needs. */
export function checkCondition(input: unknown, path: string, issues: Issues): void {
  const obj = readObject(input, path, issues, ['source', 'name', 'op', 'value']);
  if (!obj) return;
  checkParameterRef(obj, path, issues);
  const op = requireField(obj, 'op', path, issues);
  const value = requireField(obj, 'value', path, issues);
  if (op === undefined) return;
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
    issues.add(fieldPath(path, 'op'), `must be one of ${OPS.join(' ')}`);
    return;
  }
  if (value === undefined) return;
  checkConditionValue(op as Op, value, fieldPath(path, 'value'), issues);
}

function checkConditionValue(op: Op, value: unknown, path: string, issues: Issues): void {
  switch (op) {
    case '=':
    case '!=':
      checkString(value, path, issues, { maxLength: RULE_LIMITS.valueLength });
      return;
    case '>':
    case '<':
    case '>=':
    case '<=':
      if (typeof value !== 'number')
        issues.add(path, `must be a number for "${op}", not ${describeType(value)}`);
      else checkFiniteNumber(value, path, issues);
      return;
    case 'in':
      if (!Array.isArray(value)) {
        issues.add(path, `must be a list of strings for "in", not ${describeType(value)}`);
        return;
      }
      if (value.length === 0 || value.length > RULE_LIMITS.inValues) {
        issues.add(path, `must list between 1 and ${RULE_LIMITS.inValues} values`);
      }
      value.forEach((item, i) =>
        checkString(item, fieldPath(path, i), issues, { maxLength: RULE_LIMITS.valueLength }),
      );
      return;
    case 'range':
      if (typeof value !== 'string')
        issues.add(path, `must be an interval such as "[1,100)", not ${describeType(value)}`);
      else if (!parseInterval(value)) {
        issues.add(path, `"${value}" is not a non-empty interval such as [1,100), (0,1] or [5,5]`);
      }
      return;
    case 'percent':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
        issues.add(path, 'must be a number from 0 to 100 (the share of distinct values that match)');
      }
      return;
  }
}
