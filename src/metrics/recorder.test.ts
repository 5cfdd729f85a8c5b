import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { type InvocationRecord, logText } from '../core/telemetry.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { DEFAULT_RECORDER_OPTIONS, TelemetryRecorder } from './recorder.js';
import { MetricsRegistry } from './registry.js';

const invocation = (overrides: Partial<InvocationRecord> = {}): InvocationRecord => ({
  functionName: 'f',
  versionId: '1',
  qualifier: 'live',
  requestId: 'r1',
  // Recent: a flush prunes what is older than the retention.
  startedAt: Date.now(),
  endedAt: Date.now(),
  durationMs: 1.5,
  outcome: 'success',
  errorCode: undefined,
  initDurationMs: undefined,
  ...overrides,
});

describe('TelemetryRecorder', () => {
  let store: SqliteStore;
  let recorder: TelemetryRecorder;

  beforeEach(() => {
    store = SqliteStore.open(':memory:');
    recorder = new TelemetryRecorder(store, new MetricsRegistry('n'), DEFAULT_RECORDER_OPTIONS, () => {});
  });

  afterEach(async () => {
    await recorder.close();
    await store.close();
  });

  it('stores what an invocation wrote and its REPORT line as numbers, whole again when read', async () => {
    recorder.record(invocation({ initDurationMs: 80.25 }), 'hello\n');
    await recorder.flush();
    const [stored] = await store.queryLogs('f', { limit: 10 });
    assert.ok(stored);
    assert.equal(stored.text, 'hello\n');
    assert.equal(
      logText(stored),
      'hello\nREPORT RequestId: r1 Version: 1 Duration: 1.50 ms Init Duration: 80.25 ms\n',
    );
  });

  it('counts every invocation, cold starts by their init duration', () => {
    const registry = new MetricsRegistry('n');
    const counting = new TelemetryRecorder(store, registry, DEFAULT_RECORDER_OPTIONS, () => {});
    counting.record(invocation({ initDurationMs: 40 }), '');
    counting.record(invocation(), '');
    const [series] = registry.series();
    assert.ok(series);
    assert.equal(series.counters.invocations, 2);
    assert.equal(series.counters.coldStarts, 1);
  });
});
