import { setImmediate } from 'node:timers/promises';
import type { InvocationLog, InvocationRecord } from '../core/telemetry.js';
import type { LogRecord } from '../logs/invocation-output.js';
import { RUN_RECORDS } from '../store/log-runs.js';
import type { Store } from '../store/store.js';
import type { MetricsRegistry } from './registry.js';

export interface RecorderOptions {
  flushMs: number;
  /** How long telemetry is kept: 10 s buckets, 1 min buckets, logs. */
  retention: { metrics10Ms: number; metrics60Ms: number; logsMs: number };
  /** The most of one piece of an instance's own output that is kept. */
  maxLogBytes: number;
}

export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = {
  flushMs: 200,
  retention: { metrics10Ms: 3_600_000, metrics60Ms: 7 * 86_400_000, logsMs: 86_400_000 },
  maxLogBytes: 64 * 1024,
};

const PRUNE_EVERY_MS = 60_000;

/**
 * What a node killed without warning may lose, at most: the invocations it answered in the last this many ms
 * (with the default flush interval). A record waits for the next flush (0.2 s), which may wait for the write
 * in flight to end, and then takes a write of its own.
 */
export const TELEMETRY_LOSS_WINDOW_MS = 1000;

/**
 * Takes every invocation's outcome and log: counts it, keeps its log, and writes both to the store in batches,
 * so that the invocation path never waits for the store.
 */
export class TelemetryRecorder {
  private pendingLogs: InvocationLog[] = [];
  /** The next flush, set when something is recorded: an idle server wakes for nothing. */
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private pruner: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  /** Whether anything was written since the last prune: an idle server has nothing new to age out, and waits. */
  private wrote = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly registry: MetricsRegistry,
    private readonly options: RecorderOptions,
    private readonly log: (line: string) => void,
  ) {}

  start(): void {
    this.started = true;
    this.pruner = setInterval(() => {
      void this.flush();
    }, PRUNE_EVERY_MS);
    this.pruner.unref();
  }

  /** An invocation's outcome, and its output (bounded already, see `InvocationOutput`). */
  record(record: InvocationRecord, text: string): void {
    this.registry.record(record);
    this.keep({
      functionName: record.functionName,
      versionId: record.versionId,
      qualifier: record.qualifier,
      requestId: record.requestId,
      at: record.startedAt,
      durationMs: record.durationMs,
      initDurationMs: record.initDurationMs,
      outcome: record.outcome,
      errorCode: record.errorCode,
      text,
      ...(record.source !== undefined && { source: record.source }),
    });
  }

  /** Output an instance wrote outside any invocation (at load time, from its own timers). */
  instanceOutput(line: LogRecord): void {
    this.keep({
      functionName: line.functionName,
      versionId: line.versionId,
      qualifier: undefined,
      requestId: undefined,
      at: line.at,
      durationMs: undefined,
      initDurationMs: undefined,
      outcome: 'instance',
      errorCode: undefined,
      text: this.bounded(line.text),
    });
  }

  private keep(log: InvocationLog): void {
    this.pendingLogs.push(log);
    this.flushSoon();
  }

  private flushSoon(): void {
    if (!this.started || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.options.flushMs);
    this.timer.unref();
  }

  private bounded(text: string): string {
    if (text.length <= this.options.maxLogBytes) return text;
    return `[sluice] the first ${text.length - this.options.maxLogBytes} characters were dropped\n${text.slice(-this.options.maxLogBytes)}`;
  }

  /** Writes what was recorded since the last flush; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  private async write(): Promise<void> {
    const now = Date.now();
    const rows = this.registry.take(now);
    const logs = this.pendingLogs;
    this.pendingLogs = [];
    try {
      if (rows.length > 0) {
        await this.store.writeMetrics(rows);
        this.wrote = true;
      }
    } catch (error) {
      this.registry.restore(rows);
      this.log(`metrics were not written, will retry: ${String(error)}`);
      this.flushSoon();
    }
    for (let start = 0; start < logs.length; start += RUN_RECORDS) {
      try {
        await this.store.appendLogs(logs.slice(start, start + RUN_RECORDS));
        this.wrote = true;
      } catch (error) {
        this.pendingLogs = [...logs.slice(start), ...this.pendingLogs];
        this.log(`logs were not written, will retry: ${String(error)}`);
        this.flushSoon();
        break;
      }
      // A busy second's logs written at once would hold up every request for milliseconds: let them in between.
      await setImmediate();
    }
    if (this.wrote && now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      this.wrote = false;
      const { retention } = this.options;
      await this.store
        .pruneTelemetry({
          metrics10: Math.floor((now - retention.metrics10Ms) / 1000),
          metrics60: Math.floor((now - retention.metrics60Ms) / 1000),
          logs: now - retention.logsMs,
        })
        .catch((error: unknown) => {
          this.log(`old telemetry was not pruned: ${String(error)}`);
        });
    }
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    this.started = false;
    clearTimeout(this.timer);
    clearInterval(this.pruner);
    await this.flush();
  }
}
