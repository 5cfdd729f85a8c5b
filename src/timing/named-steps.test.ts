import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { runNamedSteps } from './named-steps.js';

test('steps run in order, each to its end; a slow one is named while it runs, a quick one never', async () => {
  const log: string[] = [];
  const ran: string[] = [];
  await runNamedSteps(
    [
      ['quick', () => ran.push('quick')],
      [
        'slow',
        async () => {
          await delay(200);
          ran.push('slow');
        },
      ],
      ['last', () => ran.push('last')],
    ],
    (line) => log.push(line),
    40,
  );
  assert.deepEqual(ran, ['quick', 'slow', 'last']);
  assert.ok(log.length >= 2, JSON.stringify(log));
  assert.ok(
    log.every((line) => /^still stopping slow after \d+ s$/.test(line)),
    JSON.stringify(log),
  );
});

test('a step that fails ends the run with its error, and names nothing after it', async () => {
  const log: string[] = [];
  await assert.rejects(
    runNamedSteps(
      [
        [
          'failing',
          () => {
            throw new Error('boom');
          },
        ],
        ['never', () => assert.fail('ran after a failure')],
      ],
      (line) => log.push(line),
      10,
    ),
    /boom/,
  );
  await delay(50);
  assert.deepEqual(log, []);
});
