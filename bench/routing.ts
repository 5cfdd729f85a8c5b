/**
 * Routing decisions per second, in process, as the gateway takes them: a function's snapshot looked up by
 * name, its alias's compiled route evaluated, the chosen version's runnable found — over 10 functions and
 * over 10,000, each with 10 versions, in alternating slices of time.
 *
 * Both sizes run the same code on the same access pattern, the one a server sees: each decision names a
 * function drawn at random (seeded), by a string of the request's own (not the catalog's key); the catalog is
 * the data plane's own, loaded by a full reload from a SQLite store holding the functions.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parseAliasSpec } from '../src/core/alias.js';
import type { Qualifier } from '../src/core/names.js';
import type { ParameterLookup } from '../src/core/routing.js';
import { Catalog, type FunctionSnapshot } from '../src/gateway/catalog.js';
import { selectVersion } from '../src/gateway/select-version.js';
import type { RunnableVersion } from '../src/runtime/instance.js';
import { openStore } from '../src/store/open-store.js';
import { makeDataDir } from '../test/support/server-process.js';
import { seeded } from '../test/support/seeded.js';
import { copySqlite, populatedName, writeTemplate } from './populate.js';
import { quick } from './settings.js';
import type { Table } from './table.js';

const VERSIONS = 10;
const SIZES = [10, 10_000] as const;
const ROUNDS = 6;
const SLICE_MS = quick ? 100 : 400;

/** The alias `live` of every other function: its 10 % canary (as written by `writeTemplate`) given by rules. */
const RULES = parseAliasSpec({
  version: String(VERSIONS - 1),
  canary: {
    version: String(VERSIONS),
    match: 'all',
    rules: [
      { source: 'header', name: 'x-user', op: '=', value: 'bob' },
      { source: 'header', name: 'x-tier', op: 'in', value: ['gold', 'beta'] },
      { source: 'query', name: 'n', op: '>', value: 10 },
    ],
  },
});

/** A string with the text of `text` that is not `text` itself: what a request's parser makes. */
const requestString = (text: string) => Buffer.from(text).toString();

const QUALIFIER: Qualifier = { kind: 'alias', alias: requestString('live') };
const HEADERS: Record<string, string> = { 'x-user': 'bob', 'x-tier': 'gold' };
const LOOKUP: ParameterLookup = (source, name) =>
  source === 'header' ? HEADERS[name] : source === 'query' ? '42' : undefined;

type Decide = (found: FunctionSnapshot) => RunnableVersion;

const route: Decide = (found) => selectVersion(found, QUALIFIER, LOOKUP);
/** The function's lookup by name alone: what any design that finds a function by its name pays. */
const lookupOnly: Decide = (found) => found.latest;

interface Population {
  functions: Catalog;
  /** The functions' names as requests carry them. */
  names: readonly string[];
}
/** Decisions for `millis`, each for a function drawn at random. */
function decide(catalog: Population, millis: number, how: Decide): { decisions: number; ms: number } {
  const { functions, names } = catalog;
  const random = seeded(names.length);
  let decisions = 0;
  let sink = 0;
  const started = performance.now();
  const deadline = started + millis;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10_000; i++) {
      const found = functions.get(names[Math.floor(random() * names.length)] as string) as FunctionSnapshot;
      sink += how(found).versionId.length;
    }
    decisions += 10_000;
  }
  if (sink < 0) throw new Error('unreachable');
  return { decisions, ms: performance.now() - started };
}

/** Decisions per second over each catalog, in alternating slices. */
function rates(catalogs: readonly Population[], how: Decide): number[] {
  const totals = catalogs.map(() => ({ decisions: 0, ms: 0 }));
  for (const catalog of catalogs) decide(catalog, SLICE_MS, how);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const slice = decide(catalogs[s] as Population, SLICE_MS, how);
      const total = totals[s] as { decisions: number; ms: number };
      total.decisions += slice.decisions;
      total.ms += slice.ms;
    }
  }
  return totals.map((t) => t.decisions / (t.ms / 1000));
}

/**
 * The data plane's catalog over a SQLite store of `size` functions: `$DEFAULT`, and `live` weighted (even
 * functions) or ruled (odd ones).
 */
export async function populationOf(size: number): Promise<Population> {
  const dir = await makeDataDir();
  try {
    const options = { dataDir: dir.dataDir, node: 'bench', log: () => undefined };
    let opened = await openStore(undefined, options);
    try {
      await writeTemplate(opened.store, VERSIONS);
    } finally {
      await opened.store.close();
    }
    const file = join(dir.dataDir, 'sluice.db');
    copySqlite(file, size);
    const db = new Database(file);
    try {
      db.prepare(
        "UPDATE aliases SET spec_json = ? WHERE name = 'live' AND CAST(substr(function_name, 4) AS INTEGER) % 2 = 1",
      ).run(JSON.stringify(RULES));
    } finally {
      db.close();
    }
    opened = await openStore(undefined, options);
    try {
      const catalog = new Catalog(opened.store);
      await catalog.loadAll();
      const names = Array.from({ length: size }, (_, i) => requestString(populatedName(i)));
      return { functions: catalog, names };
    } finally {
      await opened.store.close();
    }
  } finally {
    await dir.remove();
  }
}

export async function routingRows(table: Table): Promise<void> {
  const catalogs: Population[] = [];
  for (const size of SIZES) catalogs.push(await populationOf(size));
  const routed = rates(catalogs, route);
  const looked = rates(catalogs, lookupOnly);
  const pattern = `each decision for a function drawn at random, named by the request's own string; ${ROUNDS} alternating slices of ${SLICE_MS} ms`;
  SIZES.forEach((size, s) => {
    table.add({
      scenario: `routing ${size}`,
      what: `routing decisions per second through alias \`live\` over ${size} functions × ${VERSIONS} versions and 2 aliases, \`live\` half weighted, half 3-condition rules; ${pattern}`,
      rps: routed[s] as number,
    });
  });
  table.add({
    scenario: 'routing ratio',
    what: `decisions per second over ${SIZES[1]} functions ÷ over ${SIZES[0]}`,
    ratio: (routed[1] as number) / (routed[0] as number),
  });
  SIZES.forEach((size, s) => {
    table.add({
      scenario: `routing lookup ${size}`,
      what: `the function found by name and nothing else, over the same ${size} functions, drawn the same way: the floor of any lookup by name as the CPU's caches fill`,
      rps: looked[s] as number,
    });
  });
  table.add({
    scenario: 'routing lookup ratio',
    what: `lookups per second over ${SIZES[1]} functions ÷ over ${SIZES[0]}: what routing's ratio is held against`,
    ratio: (looked[1] as number) / (looked[0] as number),
  });
}
