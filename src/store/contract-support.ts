import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it, type TestContext } from 'node:test';
import { type ErrorCode, isSluiceError, type SluiceError } from '../core/errors.js';
import type { Change, CodeBlob, Store } from './store.js';

/**
 * What the store contract suites share (store, provisioned, credentials, vendor APIs, async, triggers): how a
 * backend hands them a store, and the few helpers every suite's tests are written with.
 */

/** What a backend hands the contract: a fresh, empty store, and the means to inspect it from outside. */
export interface OpenedStore {
  store: Store;
  /** Closes whatever store is still open and removes everything the backend created. */
  cleanup: () => Promise<void>;
  /** Runs raw SQL against the store's database behind its back; rejects when the database refuses it. */
  tamper?: (sql: string) => Promise<void>;
  /** After the caller closed `store`, opens a new store over the same data. */
  reopen?: () => Promise<Store>;
}

/** A code blob of any bytes: the store addresses code by digest and never parses it. */
export function blob(content: string | Buffer): CodeBlob {
  const zip = typeof content === 'string' ? Buffer.from(`zip:${content}`, 'utf8') : content;
  return { sha256: createHash('sha256').update(zip).digest('hex'), size: zip.length, zip };
}

/** A clock that ticks one second per change, so that every change has its own, increasing time. */
export function clock(): (actor?: string) => Change {
  let tick = 0;
  return (actor = 'tester') => ({ actor, now: new Date(Date.UTC(2024, 0, 1, 0, 0, tick++)).toISOString() });
}

export async function rejectsWith(operation: Promise<unknown>, code: ErrorCode): Promise<SluiceError> {
  try {
    await operation;
  } catch (error) {
    assert.ok(isSluiceError(error), `expected SluiceError ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but the operation succeeded`);
}

export type ContractBody = (store: Store, opened: OpenedStore, t: TestContext) => Promise<void>;

/**
 * A suite's `test`: each test on a fresh store from `open`, first given what every test of the suite starts
 * from (`prepare`), and cleaned up after, whatever happened.
 */
export function contractTest(
  open: () => Promise<OpenedStore>,
  prepare?: (store: Store) => Promise<void>,
): (name: string, body: ContractBody) => void {
  return (name, body) => {
    void it(name, async (t) => {
      const opened = await open();
      try {
        await prepare?.(opened.store);
        await body(opened.store, opened, t);
      } finally {
        await opened.cleanup();
      }
    });
  };
}
