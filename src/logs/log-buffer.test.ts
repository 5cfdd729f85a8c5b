import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogBuffer, type LogRecord, tailOf } from './log-buffer.js';

const line = (requestId: string | undefined, text: string): LogRecord => ({
  at: 0,
  functionName: 'f',
  versionId: '1',
  qualifier: 'q',
  requestId,
  stream: 'stdout',
  text,
});

test('records are kept per request, in order', () => {
  const logs = new LogBuffer(1024);
  logs.append(line('a', 'one\n'));
  logs.append(line('b', 'other\n'));
  logs.append(line(undefined, 'instance\n'));
  logs.append(line('a', 'two\n'));
  assert.equal(logs.textOf('a'), 'one\ntwo\n');
  assert.equal(logs.textOf('b'), 'other\n');
  assert.equal(logs.textOf('missing'), '');
});

test('the buffer is bounded: the oldest records go first, and their requests forget them', () => {
  const logs = new LogBuffer(100);
  for (let i = 0; i < 50; i++) logs.append(line(`r${i}`, 'x'.repeat(10)));
  for (let i = 0; i < 40; i++) assert.equal(logs.textOf(`r${i}`), '', `r${i} was evicted`);
  for (let i = 40; i < 50; i++) assert.equal(logs.textOf(`r${i}`), 'x'.repeat(10), `r${i} is kept`);
});

test('eviction stays correct across compactions', () => {
  const logs = new LogBuffer(1000);
  for (let i = 0; i < 20_000; i++) logs.append(line(`r${i % 7}`, `${i}\n`));
  const kept = logs.textOf('r3').split('\n').slice(0, -1).map(Number);
  assert.ok(kept.length > 0);
  assert.ok(kept.every((n) => n % 7 === 3 && n > 19_000));
  assert.deepEqual(
    kept,
    [...kept].sort((a, b) => a - b),
  );
});

test('the tail is the last bytes of a text, cut at a character boundary', () => {
  const text = `début ${'é'.repeat(3000)}`;
  const tail = tailOf(text, 4096);
  assert.ok(tail.length <= 4096);
  assert.equal(tail.toString('utf8'), 'é'.repeat(2048));
  assert.equal(tailOf(text, 1 << 20).toString('utf8'), text);
  assert.equal(tailOf('abc', 2).toString('utf8'), 'bc');
});
