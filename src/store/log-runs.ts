import { type InvocationLog, type LogFilter, logText } from '../core/telemetry.js';

/**
 * Invocation logs are stored in runs: one row holds the logs of consecutive ids of one function, as JSON. A
 * row per invocation cost more than the invocation's own path through the gateway; a run costs one row per
 * function and flush. Ids stay one per invocation (a run's first id plus the position in it), so reading,
 * paging and following by id are as they were with a row each.
 */

/**
 * The most invocations one run holds, so that a query for a few logs parses little. The stores find the runs
 * past an id by their first ids, within this distance: never lower it below what stored runs hold.
 */
export const RUN_RECORDS = 500;
/** The most characters of log text one run holds (a run ends after the record that passes it). */
export const RUN_TEXT = 1_000_000;

/** A run of logs ready to store, before its ids are given. */
export interface NewLogRun {
  functionName: string;
  /** Position of the run's first record in the batch: its id is the batch's first id plus this. */
  offset: number;
  count: number;
  /** The earliest and latest `at` of its records, rounded down and up to whole milliseconds. */
  firstAt: number;
  lastAt: number;
  records: string;
}

/** The columns of the log_runs table, in the order of `logRunValues`. */
export const LOG_RUN_COLUMNS = 'id_first, count, function_name, first_at, last_at, records';

/** A run's values in the order of LOG_RUN_COLUMNS, its ids counted from the batch's first id. */
export function logRunValues(run: NewLogRun, batchFirstId: number): (string | number)[] {
  return [batchFirstId + run.offset, run.count, run.functionName, run.firstAt, run.lastAt, run.records];
}

/** A run as a store answers it. */
export interface LogRunRow {
  id_first: number;
  function_name: string;
  first_at: number;
  records: string;
}

/**
 * A record as stored before REPORT lines were kept as numbers: version, qualifier, request id, `at` after the
 * run's first_at, duration in ms, outcome, error code, and the text with its REPORT line.
 */
type EarlierRecord = [
  string,
  string | null,
  string | null,
  number,
  number | null,
  InvocationLog['outcome'],
  string | null,
  string,
];

/**
 * One record in a run: as an earlier one, but the duration in whole microseconds, the text before the REPORT
 * line, and last the init duration in microseconds. Kept as numbers, the REPORT line is half the bytes it was
 * as text, and a flush costs the event loop that much less.
 */
type StoredRecord = [...EarlierRecord, number | null] | [...EarlierRecord, number | null, string];

const EARLIER_REPORT =
  /REPORT RequestId: \S* Version: \S* Duration: [\d.]+ ms(?: Init Duration: ([\d.]+) ms)?\n$/;

/** An earlier record as a current one: its REPORT line, where it has one, taken out of its text. */
function fromEarlier(record: EarlierRecord): StoredRecord {
  const [versionId, qualifier, requestId, at, durationMs, outcome, errorCode, text] = record;
  const report = outcome === 'instance' ? null : EARLIER_REPORT.exec(text);
  return [
    versionId,
    qualifier,
    requestId,
    at,
    durationMs === null ? null : durationMs * 1000,
    outcome,
    errorCode,
    report === null ? text : text.slice(0, report.index),
    report?.[1] === undefined ? null : Number(report[1]) * 1000,
  ];
}

/**
 * Groups a batch of logs into runs: by function, each function's logs in the order given, a run ending at
 * RUN_RECORDS records or RUN_TEXT characters. The runs' offsets count from 0 to the batch's length.
 */
export function toLogRuns(records: readonly InvocationLog[]): NewLogRun[] {
  const byFunction = new Map<string, InvocationLog[]>();
  for (const record of records) {
    const list = byFunction.get(record.functionName);
    if (list) list.push(record);
    else byFunction.set(record.functionName, [record]);
  }
  const runs: NewLogRun[] = [];
  let offset = 0;
  for (const [functionName, logs] of byFunction) {
    let start = 0;
    while (start < logs.length) {
      let end = start;
      let text = 0;
      while (end < logs.length && end - start < RUN_RECORDS && text < RUN_TEXT) {
        text += (logs[end] as InvocationLog).text.length;
        end++;
      }
      runs.push(encodeRun(functionName, offset, logs.slice(start, end)));
      offset += end - start;
      start = end;
    }
  }
  return runs;
}

function encodeRun(functionName: string, offset: number, logs: readonly InvocationLog[]): NewLogRun {
  let min = Infinity;
  let max = -Infinity;
  for (const log of logs) {
    if (log.at < min) min = log.at;
    if (log.at > max) max = log.at;
  }
  const firstAt = Math.floor(min);
  const stored = logs.map(
    (log): StoredRecord =>
      [
        log.versionId,
        log.qualifier ?? null,
        log.requestId ?? null,
        log.at - firstAt,
        log.durationMs === undefined ? null : Math.round(log.durationMs * 1000),
        log.outcome,
        log.errorCode ?? null,
        log.text,
        log.initDurationMs === undefined ? null : Math.round(log.initDurationMs * 1000),
        // Only queued invocations have a source: the calls that waited for their answer store nothing more.
        ...(log.source === undefined ? [] : [log.source]),
      ] as StoredRecord,
  );
  return {
    functionName,
    offset,
    count: logs.length,
    firstAt,
    lastAt: Math.ceil(max),
    records: JSON.stringify(stored),
  };
}

/**
 * What a run must contain, as substrings of its stored JSON, for one of its records to match the filter:
 * the store narrows its rows by these and by the bounds, then `logsOfRun` checks each record exactly. They
 * are bare JSON strings, so that they also match JSON written with spaces (as PostgreSQL's migration wrote).
 */
export interface RunNeedles {
  versionId?: string;
  qualifier?: string;
  requestId?: string;
  /** Lower-cased by the store as it lower-cases the stored JSON. */
  text?: string;
}

/**
 * A character no REPORT line holds, lower-cased: none of its words, nor of request ids (UUIDs, as the gateway
 * makes them), version ids (numbers and LATEST) or durations.
 */
const NOT_IN_REPORT = /[^report requestid: version: duration: ms init\n0123456789abcdef\-.latest]/;

/**
 * What the stored text of a record whose whole text holds `text` must hold: the REPORT line is not stored
 * as text. A needle that may lie within one asks nothing of the stored text; one that may run into one (it
 * goes on with the "r" of "REPORT") asks only for what comes before its first "r".
 */
function storedTextNeedle(text: string): string | undefined {
  const lower = text.toLowerCase();
  if (!NOT_IN_REPORT.test(lower)) return undefined;
  const firstR = lower.indexOf('r');
  // Nor its last letter outside ASCII: the text's last letter may fold otherwise before "REPORT" (Σ: σ, ς).
  const stored = (firstR === -1 ? lower : lower.slice(0, firstR)).replace(/\P{ASCII}$/u, '');
  return stored === '' ? undefined : JSON.stringify(stored).slice(1, -1);
}

export function runNeedles(filter: LogFilter): RunNeedles {
  const text = filter.text === undefined ? undefined : storedTextNeedle(filter.text);
  return {
    ...(filter.versionId !== undefined && { versionId: JSON.stringify(filter.versionId) }),
    ...(filter.qualifier !== undefined && { qualifier: JSON.stringify(filter.qualifier) }),
    ...(filter.requestId !== undefined && { requestId: JSON.stringify(filter.requestId) }),
    ...(text !== undefined && { text }),
  };
}

/** The records of a run that match the filter, each with its id, oldest first. */
export function logsOfRun(row: LogRunRow, filter: LogFilter): InvocationLog[] {
  const text = filter.text?.toLowerCase();
  const out: InvocationLog[] = [];
  (JSON.parse(row.records) as (StoredRecord | EarlierRecord)[]).forEach((record, i) => {
    const [
      versionId,
      qualifier,
      requestId,
      atOffset,
      durationUs,
      outcome,
      errorCode,
      storedText,
      initUs,
      source,
    ] = record.length === 8 ? fromEarlier(record) : record;
    const id = row.id_first + i;
    const at = row.first_at + atOffset;
    if (filter.versionId !== undefined && versionId !== filter.versionId) return;
    if (filter.qualifier !== undefined && qualifier !== filter.qualifier) return;
    if (filter.requestId !== undefined && requestId !== filter.requestId) return;
    if (filter.since !== undefined && !(at >= filter.since)) return;
    if (filter.until !== undefined && !(at < filter.until)) return;
    if (filter.afterId !== undefined && !(id > filter.afterId)) return;
    const log: InvocationLog = {
      id,
      functionName: row.function_name,
      versionId,
      qualifier: qualifier ?? undefined,
      requestId: requestId ?? undefined,
      at,
      durationMs: durationUs === null ? undefined : durationUs / 1000,
      initDurationMs: initUs === null ? undefined : initUs / 1000,
      outcome,
      errorCode: errorCode ?? undefined,
      text: storedText,
      ...(source !== undefined && { source }),
    };
    if (text !== undefined && !logText(log).toLowerCase().includes(text)) return;
    out.push(log);
  });
  return out;
}

/** Which rows a store is asked for: those past `cursor` (a run's first id) in the order asked, at most `rows`. */
export interface RunPage {
  newestFirst: boolean;
  cursor: number | undefined;
  rows: number;
}

/**
 * A logs query over runs: asks the store for pages of rows in id order, as the filter narrows them, until
 * `limit` records match or no row is left. Pages start small and double, since one run may hold hundreds.
 */
export async function queryLogRuns(
  filter: LogFilter & { newestFirst?: boolean },
  fetch: (page: RunPage) => Promise<LogRunRow[]>,
): Promise<InvocationLog[]> {
  const newestFirst = filter.newestFirst === true;
  const found: InvocationLog[] = [];
  let cursor: number | undefined;
  let rows = Math.min(filter.limit, 8);
  while (found.length < filter.limit) {
    const page = await fetch({ newestFirst, cursor, rows });
    for (const row of page) {
      const logs = logsOfRun(row, filter);
      if (newestFirst) logs.reverse();
      found.push(...logs);
    }
    if (page.length < rows) break;
    cursor = (page.at(-1) as LogRunRow).id_first;
    rows = Math.min(rows * 2, Math.max(filter.limit, 8));
  }
  return found.slice(0, filter.limit);
}
