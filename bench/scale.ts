/**
 * Flat as functions multiply: a server over 10,000 functions × 10 versions against one over an empty store,
 * on SQLite and on PostgreSQL — its start, its memory, a full reload of its routing table, and how long it
 * stops answering while it reloads.
 */
import { join } from 'node:path';
import pg from 'pg';
import { Catalog } from '../src/gateway/catalog.js';
import { openStore } from '../src/store/open-store.js';
import { makeDataDir, startSluice } from '../test/support/server-process.js';
import { readiness } from './functions.js';
import { copyPostgres, copySqlite, writeTemplate } from './populate.js';
import { rssBytes } from './procfs.js';
import { quick } from './settings.js';
import { median } from './stats.js';
import type { Table } from './table.js';

const FUNCTIONS = 10_000;
const VERSIONS = 10;
const STARTS = quick ? 1 : 3;
const RELOADS = quick ? 1 : 3;
/** The server's periodic reload, shortened from 30 s so that one comes soon after its start. */
const RESYNC_SECONDS = 5;
const POSTGRES_URL = process.env.SLUICE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export type StoreKind = 'sqlite' | 'postgres';

/** A store made for the rows, and what `sluice server` is told to use it. */
interface BenchStore {
  dataDir: string;
  /** `--store …`, or nothing for the embedded SQLite store in the data directory. */
  flags: string[];
  /** The spec `openStore` takes. */
  spec: string | undefined;
  /** Ms to fill it. */
  filledMs: number;
  remove: () => Promise<void>;
}

async function onPostgres(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

/** Rejects, before any row runs, when the PostgreSQL rows could not run. */
export async function checkPostgres(): Promise<void> {
  try {
    await onPostgres('SELECT 1');
  } catch (error) {
    throw new Error(
      `scale-postgres needs PostgreSQL at ${POSTGRES_URL} (${error instanceof Error ? error.message : String(error)}); set SLUICE_TEST_POSTGRES_URL, or leave the row out with --only`,
    );
  }
}

/** A fresh store of the kind, holding `functions` functions (none: left for the server to create). */
async function makeStore(kind: StoreKind, functions: number): Promise<BenchStore> {
  const dir = await makeDataDir();
  const schema = `bench_scale_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const spec = kind === 'sqlite' ? undefined : `${POSTGRES_URL}?schema=${schema}`;
  const store: BenchStore = {
    dataDir: dir.dataDir,
    flags: spec === undefined ? [] : ['--store', spec],
    spec,
    filledMs: 0,
    remove: async () => {
      if (kind === 'postgres')
        await onPostgres(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      await dir.remove();
    },
  };
  if (functions === 0) return store;
  try {
    const started = performance.now();
    const opened = await openStore(spec, { dataDir: dir.dataDir, node: 'bench', log: () => undefined });
    try {
      await writeTemplate(opened.store, VERSIONS);
    } finally {
      await opened.store.close();
    }
    if (kind === 'sqlite') copySqlite(join(dir.dataDir, 'sluice.db'), functions);
    else await copyPostgres(POSTGRES_URL, schema, functions);
    store.filledMs = performance.now() - started;
  } catch (error) {
    await store.remove();
    throw error;
  }
  return store;
}

interface Start {
  startMs: number;
  rssMb: number;
  /** The slowest answer to /readyz, asked one after another, until the server's first periodic reload ended. */
  stallMs?: number;
}

/** Starts a server on the store: spawn to `listening`, its memory then, and (when asked) its stall on a reload. */
async function startOn(store: BenchStore, functions: number, watchReload: boolean): Promise<Start> {
  const started = performance.now();
  const sluice = await startSluice(store.dataDir, [
    ...store.flags,
    '--resync-seconds',
    String(RESYNC_SECONDS),
  ]);
  try {
    const startMs = performance.now() - started;
    const rssMb = rssBytes(sluice.child.pid as number) / 2 ** 20;
    const known = (await readiness(sluice.url)).routing.functions;
    if (known !== functions) throw new Error(`the server knows ${known} functions, not ${functions}`);
    if (!watchReload) return { startMs, rssMb };
    let stallMs = 0;
    const deadline = Date.now() + (RESYNC_SECONDS + 60) * 1000;
    for (let resyncs = 0; resyncs === 0;) {
      if (Date.now() > deadline)
        throw new Error('the server did not reload its routing table within a minute');
      const asked = performance.now();
      resyncs = (await readiness(sluice.url)).routing.resyncs;
      stallMs = Math.max(stallMs, performance.now() - asked);
    }
    return { startMs, rssMb, stallMs };
  } finally {
    await sluice.stop();
  }
}

/** The data plane's full reload over the store, in this process: the code a server's resync runs. */
async function reloadMs(store: BenchStore): Promise<number> {
  const opened = await openStore(store.spec, { dataDir: store.dataDir, node: 'bench', log: () => undefined });
  try {
    const catalog = new Catalog(opened.store);
    await catalog.loadAll();
    const times: number[] = [];
    for (let i = 0; i < RELOADS; i++) {
      const started = performance.now();
      await catalog.loadAll();
      times.push(performance.now() - started);
    }
    return median(times);
  } finally {
    await opened.store.close();
  }
}

export async function scaleRows(table: Table, kind: StoreKind): Promise<void> {
  const stores: { functions: number; store: BenchStore }[] = [];
  try {
    for (const functions of [0, FUNCTIONS])
      stores.push({ functions, store: await makeStore(kind, functions) });
    const starts = stores.map(() => [] as Start[]);
    for (let round = 0; round < STARTS; round++) {
      for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
        const { functions, store } = stores[s] as (typeof stores)[number];
        // Only a PostgreSQL node reloads in full while it runs: a SQLite node's change feed misses nothing.
        starts[s]?.push(await startOn(store, functions, kind === 'postgres' && round === STARTS - 1));
      }
    }
    const [empty, full] = starts.map((list) => ({
      startMs: median(list.map((s) => s.startMs)),
      rssMb: median(list.map((s) => s.rssMb)),
      stallMs: list.at(-1)?.stallMs ?? NaN,
    })) as [Start & { stallMs: number }, Start & { stallMs: number }];
    const fullStore = stores[1]?.store as BenchStore;
    const reload = await reloadMs(fullStore);
    const population = `${FUNCTIONS} functions × ${VERSIONS} versions, each with a 10 % canary alias, on ${kind} (filled in ${(fullStore.filledMs / 1000).toFixed(1)} s)`;
    table.add({
      scenario: `scale ${kind} start`,
      what: `${population}: \`sluice server\` from spawn to listening, median of ${STARTS} starts; an empty store: ${empty.startMs.toFixed(0)} ms; ratio: ÷ empty`,
      value: full.startMs,
      unit: 'ms',
      ratio: full.startMs / empty.startMs,
    });
    table.add({
      scenario: `scale ${kind} rss`,
      what: `the server's resident memory once listening; an empty store: ${empty.rssMb.toFixed(0)} MB; ratio: ÷ empty`,
      value: full.rssMb,
      unit: 'MB',
      ratio: full.rssMb / empty.rssMb,
    });
    table.add({
      scenario: `scale ${kind} reload`,
      what: `a full reload of the routing table (the data plane's Catalog.loadAll, as a resync runs it, in the bench's process), median of ${RELOADS}: ${((1000 * reload) / FUNCTIONS).toFixed(0)} µs per function`,
      value: reload,
      unit: 'ms',
    });
    table.add(
      kind === 'postgres'
        ? {
            scenario: `scale ${kind} reload stall`,
            what: `the server's slowest answer to GET /readyz, asked one after another from its start until its first periodic reload (--resync-seconds ${RESYNC_SECONDS}) ended; an empty store: ${empty.stallMs.toFixed(1)} ms`,
            value: full.stallMs,
            unit: 'ms',
          }
        : {
            scenario: `scale ${kind} reload stall`,
            what: 'none: a node on SQLite never reloads its routing table in full while it runs, its change feed missing nothing',
          },
    );
  } finally {
    for (const { store } of stores) await store.remove();
  }
}
