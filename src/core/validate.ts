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
