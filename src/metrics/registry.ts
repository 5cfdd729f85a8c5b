import { bucketIndex } from '../core/histogram.js';
import {
  type Counters,
  emptyCounters,
  type InvocationRecord,
  type MetricRow,
  sourceKind,
  type SourceKind,
} from '../core/telemetry.js';

export const RESOLUTIONS = [10, 60] as const;

interface Series {
  /** Function, version and qualifier, as the keys of its buckets start (the sources share the buckets). */
  key: string;
  functionName: string;
  versionId: string;
  qualifier: string;
  source: SourceKind;
  counters: Counters;
  /** Of the invocations and cold starts, those of provisioned instances (since the process started only). */
  provisioned: { invocations: number; coldStarts: number };
  /** The series' open bucket at each resolution, as in `buckets`: found without building its key. */
  open: (MetricRow | undefined)[];
}

function count(counters: Counters, record: InvocationRecord, durationBucket: number): void {
  counters.invocations++;
  if (record.outcome === 'functionError') counters.functionErrors++;
  else if (record.outcome === 'platformError') counters.platformErrors++;
  else if (record.outcome === 'throttled') counters.throttles++;
  if (record.initDurationMs !== undefined) counters.coldStarts++;
  counters.durationSumMs += record.durationMs;
  counters.histogram[durationBucket] = (counters.histogram[durationBucket] ?? 0) + 1;
}

const seriesKey = (functionName: string, versionId: string, qualifier: string) =>
  `${functionName}\u0000${versionId}\u0000${qualifier}`;

const bucketKey = (resolution: number, bucketStart: number, key: string) =>
  `${resolution}\u0000${bucketStart}\u0000${key}`;

/**
 * Counts per function × version × qualifier × source kind: totals since the process started (for Prometheus)
 * and the open time buckets (10 s and 1 min) that the flusher writes to the store, where the sources are
 * summed (a rollout's guardrails count every invocation of a version, whatever started it). A series exists
 * only for a version that was invoked, so the label sets are bounded by the versions, never by the requests.
 */
export class MetricsRegistry {
  /** Function → version → qualifier → source: found with the record's own strings, without building a key. */
  private readonly totals = new Map<string, Map<string, Map<string, Map<SourceKind, Series>>>>();
  private readonly buckets = new Map<string, MetricRow>();
  /** Buckets counted into since the last take: only they need writing again. */
  private readonly changed = new Set<MetricRow>();

  constructor(private readonly node: string) {}

  record(record: InvocationRecord): void {
    const series = this.seriesOf(record);
    const durationBucket = bucketIndex(record.durationMs);
    count(series.counters, record, durationBucket);
    if (record.provisioned) {
      series.provisioned.invocations++;
      if (record.initDurationMs !== undefined) series.provisioned.coldStarts++;
    }
    // Bucketed by when the invocation is recorded, in the same tick as this call: a bucket that take() has
    // closed never receives another count, so its stored row is final.
    const seconds = Math.floor(record.endedAt / 1000);
    for (let r = 0; r < RESOLUTIONS.length; r++) {
      const resolution = RESOLUTIONS[r] as (typeof RESOLUTIONS)[number];
      const bucketStart = seconds - (seconds % resolution);
      let row = series.open[r];
      if (row?.bucketStart !== bucketStart) {
        row = this.bucket(resolution, bucketStart, series);
        series.open[r] = row;
      }
      count(row, record, durationBucket);
      this.changed.add(row);
    }
  }

  private seriesOf({ functionName, versionId, qualifier, source }: InvocationRecord): Series {
    let versions = this.totals.get(functionName);
    if (!versions) {
      versions = new Map();
      this.totals.set(functionName, versions);
    }
    let qualifiers = versions.get(versionId);
    if (!qualifiers) {
      qualifiers = new Map();
      versions.set(versionId, qualifiers);
    }
    let sources = qualifiers.get(qualifier);
    if (!sources) {
      sources = new Map();
      qualifiers.set(qualifier, sources);
    }
    const kind = sourceKind(source);
    let series = sources.get(kind);
    if (!series) {
      series = {
        key: seriesKey(functionName, versionId, qualifier),
        functionName,
        versionId,
        qualifier,
        source: kind,
        counters: emptyCounters(),
        provisioned: { invocations: 0, coldStarts: 0 },
        open: [],
      };
      sources.set(kind, series);
    }
    return series;
  }

  private bucket(resolution: 10 | 60, bucketStart: number, series: Series): MetricRow {
    const key = bucketKey(resolution, bucketStart, series.key);
    let row = this.buckets.get(key);
    if (!row) {
      row = {
        resolution,
        bucketStart,
        node: this.node,
        functionName: series.functionName,
        versionId: series.versionId,
        qualifier: series.qualifier,
        ...emptyCounters(),
      };
      this.buckets.set(key, row);
    }
    return row;
  }

  series(): readonly Series[] {
    return [...this.totals.values()].flatMap((versions) =>
      [...versions.values()].flatMap((qualifiers) =>
        [...qualifiers.values()].flatMap((sources) => [...sources.values()]),
      ),
    );
  }

  /**
   * The buckets to write: each one counted into since the last take, whole (a write replaces the node's
   * earlier write of the same bucket). Buckets that ended before `now` are forgotten: their last write stands.
   */
  take(now: number): MetricRow[] {
    const rows = [...this.changed].map((row) => ({ ...row, histogram: [...row.histogram] }));
    this.changed.clear();
    const seconds = Math.floor(now / 1000);
    const closed = (row: MetricRow) => row.bucketStart + row.resolution <= seconds;
    for (const [key, row] of this.buckets) if (closed(row)) this.buckets.delete(key);
    for (const series of this.series()) {
      series.open = series.open.map((row) => (row && closed(row) ? undefined : row));
    }
    return rows;
  }

  /**
   * Puts back rows a failed write did not store, so that no count is lost: a bucket still kept (it went on
   * counting, from the counts the row had) is written again whole, one already forgotten comes back.
   */
  restore(rows: readonly MetricRow[]): void {
    for (const row of rows) {
      const key = bucketKey(
        row.resolution,
        row.bucketStart,
        seriesKey(row.functionName, row.versionId, row.qualifier),
      );
      const kept = this.buckets.get(key);
      if (kept) {
        this.changed.add(kept);
      } else {
        this.buckets.set(key, row);
        this.changed.add(row);
      }
    }
  }

  /** Drops the series of a function, or of its versions that no longer exist. */
  forget(functionName: string, keep: (versionId: string) => boolean = () => false): void {
    const versions = this.totals.get(functionName);
    for (const versionId of versions?.keys() ?? []) if (!keep(versionId)) versions?.delete(versionId);
    if (versions?.size === 0) this.totals.delete(functionName);
    for (const [key, row] of this.buckets) {
      if (row.functionName === functionName && !keep(row.versionId)) {
        this.buckets.delete(key);
        this.changed.delete(row);
      }
    }
  }
}
