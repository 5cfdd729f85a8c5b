import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { latestFiring, nextFiring, parseSchedule, type Schedule } from './schedule.js';
import { dueFiring } from './triggers.js';

const at = (iso: string) => Date.parse(iso);
const parsed = (text: string): Schedule => {
  const schedule = parseSchedule(text);
  if (typeof schedule === 'string') assert.fail(`${text}: ${schedule}`);
  return schedule;
};

describe('schedules', () => {
  const latest: [string, string, string][] = [
    ['@every 2s', '2024-03-05T10:00:03.500Z', '2024-03-05T10:00:02.000Z'],
    ['@every 1h', '2024-03-05T10:59:59.000Z', '2024-03-05T10:00:00.000Z'],
    ['*/15 * * * *', '2024-03-05T10:44:59.000Z', '2024-03-05T10:30:00.000Z'],
    ['0 3 * * *', '2024-03-05T02:59:00.000Z', '2024-03-04T03:00:00.000Z'],
    ['0 3 * * *', '2024-03-05T03:00:00.000Z', '2024-03-05T03:00:00.000Z'],
    ['30 9 * * 1-5', '2024-03-10T12:00:00.000Z', '2024-03-08T09:30:00.000Z'],
    ['0 0 29 2 *', '2025-06-01T00:00:00.000Z', '2024-02-29T00:00:00.000Z'],
    ['0 12 1 * 0', '2024-03-05T00:00:00.000Z', '2024-03-03T12:00:00.000Z'],
    ['5/20 8,20 * * 7', '2024-03-10T21:00:00.000Z', '2024-03-10T20:45:00.000Z'],
    ['@daily', '2024-03-05T10:00:00.000Z', '2024-03-05T00:00:00.000Z'],
  ];
  for (const [text, now, expected] of latest) {
    it(`${text} at ${now} last fired at ${expected}`, () => {
      assert.equal(new Date(latestFiring(parsed(text), at(now)) as number).toISOString(), expected);
    });
  }

  const next: [string, string, string | undefined][] = [
    ['@every 2s', '2024-03-05T10:00:03.500Z', '2024-03-05T10:00:04.000Z'],
    ['@every 2s', '2024-03-05T10:00:04.000Z', '2024-03-05T10:00:06.000Z'],
    ['*/15 * * * *', '2024-03-05T10:44:59.000Z', '2024-03-05T10:45:00.000Z'],
    ['*/15 * * * *', '2024-03-05T10:45:00.000Z', '2024-03-05T11:00:00.000Z'],
    ['0 3 * * *', '2024-03-05T03:00:00.000Z', '2024-03-06T03:00:00.000Z'],
    ['30 9 * * 1-5', '2024-03-08T09:30:00.000Z', '2024-03-11T09:30:00.000Z'],
    ['0 0 29 2 *', '2024-03-01T00:00:00.000Z', '2028-02-29T00:00:00.000Z'],
    ['0 12 1 * 0', '2024-03-05T00:00:00.000Z', '2024-03-10T12:00:00.000Z'],
    ['5/20 8,20 * * 7', '2024-03-10T08:45:00.000Z', '2024-03-10T20:05:00.000Z'],
    ['0 0 30 2 *', '2024-03-05T00:00:00.000Z', undefined],
  ];
  for (const [text, after, expected] of next) {
    it(`${text} after ${after} fires next at ${expected ?? 'no time'}`, () => {
      const found = nextFiring(parsed(text), at(after));
      assert.equal(found === undefined ? undefined : new Date(found).toISOString(), expected);
    });
  }

  const refused: [string, RegExp][] = [
    ['@every 500ms', /at least/],
    ['@every soon', /duration/],
    ['* * * *', /five fields/],
    ['60 * * * *', /minute "60"/],
    ['* * 0 * *', /day of month/],
    ['*/0 * * * *', /at least 1/],
    ['5-1 * * * *', /within/],
    ['a * * * *', /must be/],
  ];
  for (const [text, message] of refused) {
    it(`refuses ${text}`, () => {
      const result = parseSchedule(text);
      assert.equal(typeof result, 'string');
      assert.match(result as string, message);
    });
  }

  it('a timer owes only its latest time, never one before it was made, never one it fired', () => {
    const every = parsed('@every 2s');
    const created = at('2024-03-05T10:00:01.000Z');
    assert.equal(dueFiring(every, undefined, created, at('2024-03-05T10:00:01.500Z')), undefined);
    assert.equal(
      dueFiring(every, undefined, created, at('2024-03-05T10:00:02.100Z')),
      at('2024-03-05T10:00:02.000Z'),
    );
    assert.equal(
      dueFiring(every, at('2024-03-05T10:00:02.000Z'), created, at('2024-03-05T10:00:03.900Z')),
      undefined,
    );
    assert.equal(
      dueFiring(every, at('2024-03-05T10:00:02.000Z'), created, at('2024-03-05T10:05:00.000Z')),
      at('2024-03-05T10:05:00.000Z'),
      'after a long gap, the latest time only',
    );
  });
});
