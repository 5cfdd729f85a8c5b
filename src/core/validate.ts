import { SluiceError, type FieldIssue } from './errors.js';

/**
 * Collects every problem with an input instead of stopping at the first, each with the path of the field
 * it concerns, so that a caller can fix everything in one go.
 */
export class Issues {
  readonly list: FieldIssue[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  throwIfAny(what: string): void {
    if (this.list.length === 0) return;
    const first = this.list[0];
    const summary = first ? `${first.path ? `${first.path}: ` : ''}${first.message}` : '';
    const more = this.list.length > 1 ? ` (and ${this.list.length - 1} more)` : '';
    throw new SluiceError('InvalidArgument', `${what} is invalid: ${summary}${more}`, this.list);
  }
}

export function fieldPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

export function describeType(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** Checks that `value` is an object whose keys are all in `allowed`; returns it, or undefined if it is not one. */
export function readObject(
  value: unknown,
  path: string,
  issues: Issues,
  allowed: readonly string[],
): Record<string, unknown> | undefined {
  if (!isPlainObject(value)) {
    // An empty body is read as undefined.
    const empty = value === undefined && path === '';
    issues.add(
      path,
      empty ? 'the body is empty: send a JSON object' : `must be an object, not ${describeType(value)}`,
    );
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key))
      issues.add(fieldPath(path, key), `is not a known field (known: ${allowed.join(', ')})`);
  }
  return value;
}

export function requireField(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  issues: Issues,
): unknown {
  if (obj[key] === undefined) issues.add(fieldPath(path, key), 'is required');
  return obj[key];
}

export function checkString(
  value: unknown,
  path: string,
  issues: Issues,
  rule: { maxLength?: number; pattern?: RegExp; patternHint?: string; nonEmpty?: boolean } = {},
): value is string {
  if (typeof value !== 'string') {
    issues.add(path, `must be a string, not ${describeType(value)}`);
    return false;
  }
  if (rule.nonEmpty && value.length === 0) {
    issues.add(path, 'must not be empty');
    return false;
  }
  if (rule.maxLength !== undefined && value.length > rule.maxLength) {
    issues.add(path, `must be at most ${rule.maxLength} characters long`);
    return false;
  }
  if (rule.pattern && !rule.pattern.test(value)) {
    issues.add(path, rule.patternHint ?? `must match ${rule.pattern.source}`);
    return false;
  }
  return true;
}

export function checkInteger(
  value: unknown,
  path: string,
  issues: Issues,
  range: { min: number; max: number; multipleOf?: number },
): value is number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    issues.add(
      path,
      `must be an integer, not ${describeType(value)}${typeof value === 'number' ? ` ${value}` : ''}`,
    );
    return false;
  }
  if (value < range.min || value > range.max) {
    issues.add(path, `must be between ${range.min} and ${range.max}`);
    return false;
  }
  if (range.multipleOf !== undefined && value % range.multipleOf !== 0) {
    issues.add(path, `must be a multiple of ${range.multipleOf}`);
    return false;
  }
  return true;
}

export function checkFiniteNumber(value: unknown, path: string, issues: Issues): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.add(path, `must be a number, not ${describeType(value)}`);
    return false;
  }
  return true;
}
