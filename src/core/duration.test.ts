import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseTimeAgo } from './duration.js';

describe('parseDuration', () => {
  it('reads ms, s, m, h and d, with decimals and surrounding spaces', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['0ms', 0],
      ['30s', 30_000],
      ['1.5s', 1500],
      ['10m', 600_000],
      ['2h', 7_200_000],
      ['7d', 604_800_000],
      ['0.5m', 30_000],
      [' 10m ', 600_000],
      ['010s', 10_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, JSON.stringify(text));
  });

  it('refuses anything else', () => {
    for (const text of [
      '',
      ' ',
      '10',
      'm',
      '-5m',
      '+5m',
      '10 m',
      '10M',
      '10S',
      '1e3s',
      '10mm',
      '.5s',
      '5.s',
      '1h30m',
      '10min',
      'ten minutes',
      'Infinitys',
      'NaNs',
    ]) {
      assert.equal(parseDuration(text), undefined, JSON.stringify(text));
    }
  });
});

describe('parseTimeAgo', () => {
  const now = Date.UTC(2024, 5, 1, 12, 0, 0);

  it('reads a duration as that long before now', () => {
    assert.equal(parseTimeAgo('10m', now), now - 600_000);
    assert.equal(parseTimeAgo('0s', now), now);
    assert.equal(parseTimeAgo('1d', now), now - 86_400_000);
  });

  it('reads an ISO 8601 time, whatever now is', () => {
    assert.equal(parseTimeAgo('2024-01-01T00:00:00Z', now), Date.UTC(2024, 0, 1));
    assert.equal(parseTimeAgo('2024-01-01T00:00:00.250Z', now), Date.UTC(2024, 0, 1) + 250);
    assert.equal(parseTimeAgo('2024-01-01T02:00:00+02:00', now), Date.UTC(2024, 0, 1));
    assert.equal(parseTimeAgo('2024-01-01', now), Date.UTC(2024, 0, 1));
    assert.equal(parseTimeAgo('2030-01-01T00:00:00Z', now), Date.UTC(2030, 0, 1), 'the future is a time too');
  });

  it('refuses what is neither', () => {
    for (const text of [
      '',
      'yesterday',
      'now',
      '1700000000',
      '-10m',
      '2024-13-45',
      '2024-02-30T99:00:00Z',
      '24-1-1',
    ]) {
      assert.equal(parseTimeAgo(text, now), undefined, JSON.stringify(text));
    }
  });
});
