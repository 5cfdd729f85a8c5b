import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type InvocationLog, type LogFilter, logText, reportLine } from '../core/telemetry.js';
import {
  type LogRunRow,
  logsOfRun,
  queryLogRuns,
  RUN_RECORDS,
  RUN_TEXT,
  type RunPage,
  runNeedles,
  toLogRuns,
} from './log-runs.js';

const log = (overrides: Partial<InvocationLog> = {}): InvocationLog => ({
  functionName: 'f',
  versionId: '1',
  qualifier: 'live',
  requestId: 'r',
  at: 1000,
  durationMs: 1.5,
  initDurationMs: undefined,
  outcome: 'success',
  errorCode: undefined,
  text: '',
  ...overrides,
});

/** Runs as a store keeps them: the batch's ids start at `first`. */
function stored(records: readonly InvocationLog[], first = 1): LogRunRow[] {
  return toLogRuns(records).map((run) => ({
    id_first: first + run.offset,
    function_name: run.functionName,
    first_at: run.firstAt,
    records: run.records,
  }));
}

const withoutId = ({ id: _id, ...rest }: InvocationLog): InvocationLog => rest;

describe('toLogRuns', () => {
  it('makes no run of no logs', () => {
    assert.deepEqual(toLogRuns([]), []);
  });

  it('groups by function, each function’s logs in the order given, with offsets covering the batch once', () => {
    const records = ['f', 'g', 'f', 'h', 'g', 'f'].map((functionName, i) =>
      log({ functionName, requestId: `r${i}` }),
    );
    const runs = toLogRuns(records);
    assert.deepEqual(
      runs.map((r) => [r.functionName, r.offset, r.count]),
      [
        ['f', 0, 3],
        ['g', 3, 2],
        ['h', 5, 1],
      ],
    );
    const rows = stored(records, 100);
    assert.deepEqual(
      rows.flatMap((row) => logsOfRun(row, { limit: 10 }).map((l) => [l.id, l.requestId])),
      [
        [100, 'r0'],
        [101, 'r2'],
        [102, 'r5'],
        [103, 'r1'],
        [104, 'r4'],
        [105, 'r3'],
      ],
    );
  });

  it(`ends a run at ${RUN_RECORDS} logs`, () => {
    const runs = toLogRuns(Array.from({ length: 2 * RUN_RECORDS + 1 }, () => log()));
    assert.deepEqual(
      runs.map((r) => [r.offset, r.count]),
      [
        [0, RUN_RECORDS],
        [RUN_RECORDS, RUN_RECORDS],
        [2 * RUN_RECORDS, 1],
      ],
    );
  });

  it(`ends a run after the log that takes its text to ${RUN_TEXT} characters`, () => {
    const big = 'x'.repeat(RUN_TEXT / 2.5);
    const runs = toLogRuns([
      log({ text: big }),
      log({ text: big }),
      log({ text: big }),
      log({ text: big }),
      log(),
    ]);
    assert.deepEqual(
      runs.map((r) => r.count),
      [3, 2],
    );
  });

  it('bounds a run’s times by whole milliseconds around its logs', () => {
    const runs = toLogRuns([log({ at: 2000.25 }), log({ at: 1000.5 }), log({ at: 1500 })]);
    assert.deepEqual(
      runs.map((r) => [r.firstAt, r.lastAt]),
      [[1000, 2001]],
    );
  });
});

describe('logsOfRun', () => {
  it('gives back every field of every log, undefined where none was given, fractional times exactly', () => {
    const records = [
      log({ at: 1000.75, durationMs: 0.001, text: 'line\n' }),
      log({
        at: 999,
        versionId: 'LATEST',
        qualifier: undefined,
        requestId: undefined,
        durationMs: undefined,
        outcome: 'instance',
        text: 'at load\n',
      }),
      log({ at: 5000, outcome: 'platformError', errorCode: 'FunctionTimeout' }),
    ];
    const [row] = stored(records, 7);
    const logs = logsOfRun(row as LogRunRow, { limit: 10 });
    assert.deepEqual(logs.map(withoutId), records);
    assert.deepEqual(
      logs.map((l) => l.id),
      [7, 8, 9],
    );
  });

  it('keeps only the logs that match every part of the filter', () => {
    const records = [
      log({ at: 1000, versionId: '1', requestId: 'a', text: 'Alpha' }),
      log({ at: 2000, versionId: '2', requestId: 'b', text: 'beta' }),
      log({ at: 3000, versionId: '2', qualifier: 'other', requestId: 'c', text: 'ALPHABET' }),
    ];
    const [row] = stored(records) as [LogRunRow];
    const ids = (filter: Omit<LogFilter, 'limit'>) =>
      logsOfRun(row, { limit: 10, ...filter }).map((l) => l.id);
    assert.deepEqual(ids({ versionId: '2' }), [2, 3]);
    assert.deepEqual(ids({ qualifier: 'other' }), [3]);
    assert.deepEqual(ids({ requestId: 'b' }), [2]);
    assert.deepEqual(ids({ requestId: 'B' }), []);
    assert.deepEqual(ids({ since: 2000 }), [2, 3]);
    assert.deepEqual(ids({ until: 2000 }), [1]);
    assert.deepEqual(ids({ afterId: 1 }), [2, 3]);
    assert.deepEqual(ids({ text: 'alpha' }), [1, 3]);
    assert.deepEqual(ids({ text: 'alpha', versionId: '2', since: 2500 }), [3]);
  });
});

describe('runNeedles', () => {
  // Values JSON escapes, letters that fold in several ways, and characters outside the BMP.
  const awkward = [
    'plain',
    'with "quotes"',
    'back\\slash',
    'new\nline\r\n',
    'tab\t and \u0001 control',
    'ÜBER straße',
    'İstanbul',
    'ΟΔΟΣ',
    'emoji 🚀 ✓',
    '{"json":[1,2]}',
    '',
  ];

  it('are found in every run holding a log that matches: the stores narrow by them and lose nothing', () => {
    const records = awkward.map((value, i) =>
      log({ versionId: value, qualifier: value, requestId: value, text: `${value} in run ${i}` }),
    );
    const rows = stored(records);
    for (const value of awkward) {
      for (const text of [value, value.slice(1, -1), value.toUpperCase(), value.toLowerCase()]) {
        const filters: LogFilter[] = [
          { limit: 100, versionId: value },
          { limit: 100, qualifier: value },
          { limit: 100, requestId: value },
          { limit: 100, text },
        ];
        for (const filter of filters) {
          const needles = runNeedles(filter);
          for (const row of rows) {
            if (logsOfRun(row, filter).length === 0) continue;
            for (const [part, needle] of Object.entries(needles) as [string, string][]) {
              const haystack = part === 'text' ? row.records.toLowerCase() : row.records;
              const sought = part === 'text' ? needle.toLowerCase() : needle;
              assert.ok(haystack.includes(sought), `${part} ${JSON.stringify(needle)} in ${row.records}`);
            }
          }
        }
      }
    }
  });

  it('find runs by any part of their REPORT lines, kept as numbers, and across a text’s end into them', () => {
    const records = [
      log({ requestId: '0b8f3c52-5e1d-4c2a-9f47-3d2b1a0e9c88', durationMs: 0.5, text: 'done\n' }),
      log({
        versionId: 'LATEST',
        requestId: 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9',
        durationMs: 1234.567,
        initDurationMs: 80.25,
        text: 'no newline at the end',
      }),
      log({ requestId: '7c6b5a49-3827-4160-9f8e-7d6c5b4a3928', outcome: 'functionError', errorCode: 'Boom' }),
      // A final sigma folds to ς at the text's end, but to σ before the REPORT line.
      log({ requestId: '2d4f6a8c-1e3b-4d5f-8a7c-9e0b2d4f6a8c', text: 'ΟΔΟΣ' }),
    ];
    for (const record of records) {
      const [row] = stored([record]) as [LogRunRow];
      assert.ok(!row.records.includes('REPORT'), 'the line is not stored as text');
      const [back] = logsOfRun(row, { limit: 1 });
      assert.equal(
        logText(back as InvocationLog),
        record.text +
          reportLine(
            record.requestId as string,
            record.versionId,
            record.durationMs as number,
            record.initDurationMs,
          ),
      );
      // Every piece of the whole text, in either case: a run holding it is never left out.
      const whole = logText(record);
      for (let start = 0; start < whole.length; start++) {
        for (let end = start + 1; end <= whole.length; end++) {
          for (const text of [whole.slice(start, end), whole.slice(start, end).toUpperCase()]) {
            const needle = runNeedles({ limit: 1, text }).text;
            assert.ok(
              needle === undefined || row.records.toLowerCase().includes(needle.toLowerCase()),
              `${JSON.stringify(text)} asks for ${JSON.stringify(needle)}`,
            );
          }
        }
      }
    }
  });

  it('asks the stored text for all of a needle that cannot reach a REPORT line', () => {
    assert.equal(runNeedles({ limit: 1, text: 'Hello "world"' }).text, 'hello \\"wo');
    assert.equal(runNeedles({ limit: 1, text: 'Quick fox' }).text, 'quick fox');
    assert.equal(runNeedles({ limit: 1, text: 'Timeout' }).text, undefined);
    assert.equal(runNeedles({ limit: 1, text: 'xREPORT' }).text, 'x');
  });

  it('asks nothing of a run for a filter without these parts', () => {
    assert.deepEqual(runNeedles({ limit: 10, since: 1, until: 2, afterId: 3 }), {});
  });
});

describe('queryLogRuns', () => {
  const records = Array.from({ length: 1234 }, (_, i) =>
    log({
      functionName: i % 4 === 0 ? 'g' : 'f',
      versionId: i % 50 === 0 ? '2' : '1',
      requestId: `r${i}`,
      at: 1000 + i,
    }),
  );
  // Three flushes: their ids follow one another, as a store gives them.
  const rows = [
    ...stored(records.slice(0, 600), 1),
    ...stored(records.slice(600, 601), 601),
    ...stored(records.slice(601), 602),
  ].filter((row) => row.function_name === 'f');
  const all = rows.flatMap((row) => logsOfRun(row, { limit: 10_000 }));

  /** A store of these rows that answers pages as SQL would (no narrowing: logsOfRun filters exactly). */
  function fetcher(rows: readonly LogRunRow[]): {
    pages: RunPage[];
    fetch: (page: RunPage) => Promise<LogRunRow[]>;
  } {
    const pages: RunPage[] = [];
    return {
      pages,
      fetch: (page) => {
        pages.push(page);
        const ordered = page.newestFirst ? [...rows].reverse() : rows;
        const past = ordered.filter(
          (row) =>
            page.cursor === undefined ||
            (page.newestFirst ? row.id_first < page.cursor : row.id_first > page.cursor),
        );
        return Promise.resolve(past.slice(0, page.rows));
      },
    };
  }

  const oracle = (filter: LogFilter & { newestFirst?: boolean }) => {
    const kept = all.filter(
      (l) =>
        (filter.versionId === undefined || l.versionId === filter.versionId) &&
        (filter.afterId === undefined || (l.id as number) > filter.afterId),
    );
    return (filter.newestFirst ? kept.reverse() : kept).slice(0, filter.limit);
  };

  for (const filter of [
    { limit: 1 },
    { limit: 1, newestFirst: true },
    { limit: 10 },
    { limit: 600 },
    { limit: 1000, newestFirst: true },
    { limit: 10_000 },
    { limit: 5, versionId: '2' },
    { limit: 100, versionId: '2', newestFirst: true },
    { limit: 3, afterId: 600 },
    { limit: 1000, afterId: 1230 },
  ] as (LogFilter & { newestFirst?: boolean })[]) {
    it(`answers ${JSON.stringify(filter)} as a row per log would`, async () => {
      const { fetch } = fetcher(rows);
      assert.deepEqual(await queryLogRuns(filter, fetch), oracle(filter));
    });
  }

  it('asks for small pages first, doubling up to the limit, and stops when a page comes back short', async () => {
    // 100 flushes of a few logs each: a run per flush.
    const small = Array.from({ length: 100 }, (_, flush) =>
      stored([log(), log(), log()], 1 + flush * 3),
    ).flat();
    const { pages, fetch } = fetcher(small);
    assert.deepEqual(await queryLogRuns({ limit: 1000, versionId: 'none' }, fetch), []);
    assert.deepEqual(
      pages.map((p) => [p.rows, p.cursor]),
      [
        [8, undefined],
        [16, 22],
        [32, 70],
        [64, 166],
      ],
    );
    assert.equal((await queryLogRuns({ limit: 250 }, fetcher(small).fetch)).length, 250);
  });

  it('asks for one page when the first run holds enough', async () => {
    const { pages, fetch } = fetcher(rows);
    assert.equal((await queryLogRuns({ limit: 5 }, fetch)).length, 5);
    assert.deepEqual(pages, [{ newestFirst: false, cursor: undefined, rows: 5 }]);
  });
});
