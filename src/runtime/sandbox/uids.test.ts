import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FunctionUids, parseUidRange } from './uids.js';

describe('FunctionUids', () => {
  it('gives each function its own id inside the range, the same every time it is asked', () => {
    const uids = new FunctionUids({ first: 5000, count: 100 });
    const seen = new Map<number, string>();
    for (let i = 0; i < 100; i++) {
      const name = `fn-${i}`;
      const uid = uids.uidFor(name);
      assert.ok(uid >= 5000 && uid < 5100, `${uid}`);
      assert.equal(seen.get(uid), undefined, `${name} shares ${uid} with ${seen.get(uid) ?? ''}`);
      seen.set(uid, name);
      assert.equal(uids.uidFor(name), uid);
    }
    assert.throws(() => uids.uidFor('one-more'), /all 100 instance user ids are taken/);
  });

  it('gives a function the same id on every node and after a restart when no other name took it', () => {
    const a = new FunctionUids({ first: 700_000_000, count: 65_536 });
    const b = new FunctionUids({ first: 700_000_000, count: 65_536 });
    b.uidFor('other');
    assert.equal(a.uidFor('victim'), b.uidFor('victim'));
  });
});

describe('parseUidRange', () => {
  it('reads FIRST-LAST inclusive', () => {
    assert.deepEqual(parseUidRange('100000-165535'), { first: 100000, count: 65536 });
    assert.deepEqual(parseUidRange('70000-70000'), { first: 70000, count: 1 });
  });

  it('refuses system ids, nobody, the invalid id, reversed and malformed ranges', () => {
    for (const text of [
      '0-100',
      '999-2000',
      '60000-70000',
      '5000-4000',
      '1-2-3',
      'a-b',
      '5000',
      '',
      '5000-4294967295',
    ])
      assert.equal(parseUidRange(text), undefined, text);
  });
});
