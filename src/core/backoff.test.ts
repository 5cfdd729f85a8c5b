import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, type Backoff } from './backoff.js';

test('backoff doubles from the first delay up to the most, spread by the jitter', () => {
  const steady: Backoff = { firstMs: 500, maxMs: 30_000 };
  const spread: Backoff = { firstMs: 200, maxMs: 10_000, jitter: 0.2 };
  const table: [Backoff, number, number, number][] = [
    // policy, retry, random draw, delay
    [steady, 0, 0.99, 500],
    [steady, 1, 0, 1000],
    [steady, 5, 0.5, 16_000],
    [steady, 6, 0.5, 30_000],
    [steady, 60, 0.5, 30_000],
    [spread, 0, 0, 160],
    [spread, 0, 0.5, 200],
    [spread, 0, 0.999_999, 240],
    [spread, 3, 0.25, 1440],
    [spread, 10, 0, 8000],
    [spread, 10, 0.999_999, 12_000],
  ];
  for (const [policy, retry, draw, delay] of table) {
    assert.equal(
      backoffDelay(policy, retry, () => draw),
      delay,
      `${JSON.stringify(policy)} retry ${retry}`,
    );
  }
});

test('without an injected draw, every delay stays within the jitter', () => {
  const policy: Backoff = { firstMs: 100, maxMs: 1000, jitter: 0.5 };
  for (let i = 0; i < 1000; i++) {
    const delay = backoffDelay(policy, 2);
    assert.ok(delay >= 200 && delay <= 600, String(delay));
  }
});
