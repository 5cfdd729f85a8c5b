import assert from 'node:assert/strict';
import { type FieldIssue, SluiceError } from '../../src/core/errors.js';

/** The SluiceError that `fn` throws; anything else it throws is thrown on, and throwing nothing fails. */
export function caught(fn: () => unknown): SluiceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SluiceError) return error;
    throw error;
  }
  return assert.fail('expected a SluiceError');
}

/** The field paths of a validation error's problems, in the order it reports them. */
export function issuePaths(error: SluiceError): string[] {
  return (error.details as readonly FieldIssue[]).map((d) => d.path);
}

/** The problem paths that `parse` reports as InvalidArgument, or [] when it accepts its input. */
export function problems(parse: () => unknown): string[] {
  try {
    parse();
    return [];
  } catch (error) {
    if (!(error instanceof SluiceError)) throw error;
    assert.equal(error.code, 'InvalidArgument', error.message);
    return issuePaths(error);
  }
}
