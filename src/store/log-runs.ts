import type { InvocationLog, LogFilter } from '../core/telemetry.js';

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

/** A run as a store answers it. */
export interface LogRunRow {
  id_first: number;
  function_name: string;
  first_at: number;
  records: string;
}

/** One record in a run: version, qualifier, request id, `at` after the run's first_at, duration, outcome, error code, text. */
type StoredRecord = [
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
  const stored = logs.map((log): StoredRecord => [
    log.versionId,
    log.qualifier ?? null,
    log.requestId ?? null,
    log.at - firstAt,
    log.durationMs ?? null,
    log.outcome,
    log.errorCode ?? null,
    log.text,
  ]);
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

export function runNeedles(filter: LogFilter): RunNeedles {
  return {
    ...(filter.versionId !== undefined && { versionId: JSON.stringify(filter.versionId) }),
    ...(filter.qualifier !== undefined && { qualifier: JSON.stringify(filter.qualifier) }),
    ...(filter.requestId !== undefined && { requestId: JSON.stringify(filter.requestId) }),
    ...(filter.text !== undefined && { text: JSON.stringify(filter.text).slice(1, -1) }),
  };
}

/** The records of a run that match the filter, each with its id, oldest first. */
export function logsOfRun(row: LogRunRow, filter: LogFilter): InvocationLog[] {
  const text = filter.text?.toLowerCase();
  const out: InvocationLog[] = [];
  (JSON.parse(row.records) as StoredRecord[]).forEach((stored, i) => {
    const [versionId, qualifier, requestId, atOffset, durationMs, outcome, errorCode, logText] = stored;
    const id = row.id_first + i;
    const at = row.first_at + atOffset;
    if (filter.versionId !== undefined && versionId !== filter.versionId) return;
    if (filter.qualifier !== undefined && qualifier !== filter.qualifier) return;
    if (filter.requestId !== undefined && requestId !== filter.requestId) return;
    if (filter.since !== undefined && !(at >= filter.since)) return;
    if (filter.until !== undefined && !(at < filter.until)) return;
    if (filter.afterId !== undefined && !(id > filter.afterId)) return;
    if (text !== undefined && !logText.toLowerCase().includes(text)) return;
    out.push({
      id,
      functionName: row.function_name,
      versionId,
      qualifier: qualifier ?? undefined,
      requestId: requestId ?? undefined,
      at,
      durationMs: durationMs ?? undefined,
      outcome,
      errorCode: errorCode ?? undefined,
      text: logText,
    });
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
