import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvocationOutput, tailOf } from './invocation-output.js';

test('output is kept per invocation in flight, in order, and forgotten once taken', () => {
  const output = new InvocationOutput(1024);
  output.begin('a');
  output.begin('b');
  assert.equal(output.append('a', 'one\n'), true);
  assert.equal(output.append('b', 'other\n'), true);
  assert.equal(output.append('a', 'two\n'), true);
  assert.equal(output.end('a'), 'one\ntwo\n');
  assert.equal(output.append('a', 'late\n'), false, 'a is recorded: its late output is refused');
  assert.equal(output.end('a'), '');
  assert.equal(output.end('b'), 'other\n');
  assert.equal(output.append('never', 'x'), false);
  assert.equal(output.inFlight, 0);
});

test("an invocation's output is bounded: its newest characters are kept, and the rest counted", () => {
  const output = new InvocationOutput(100);
  output.begin('r');
  for (let i = 0; i < 50; i++) output.append('r', `${String(i).padStart(9, '0')}\n`);
  const text = output.end('r');
  assert.match(text, /^\[sluice\] the first 400 characters were dropped\n/);
  assert.ok(text.endsWith('000000049\n'));
  assert.equal(text.split('\n').slice(1).join('\n').length, 100);
  const one = new InvocationOutput(10);
  one.begin('r');
  one.append('r', 'x'.repeat(25));
  assert.equal(one.end('r'), `[sluice] the first 15 characters were dropped\n${'x'.repeat(10)}`);
});

test('the tail is the last bytes of a text, cut at a character boundary', () => {
  const text = `début ${'é'.repeat(3000)}`;
  const tail = tailOf(text, 4096);
  assert.ok(tail.length <= 4096);
  assert.equal(tail.toString('utf8'), 'é'.repeat(2048));
  assert.equal(tailOf(text, 1 << 20).toString('utf8'), text);
  assert.equal(tailOf('abc', 2).toString('utf8'), 'bc');
});
