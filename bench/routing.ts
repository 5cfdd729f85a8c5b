/**
 * Routing decisions per second, in process, as the gateway takes them: a function's snapshot looked up by
 * name, its alias's compiled route evaluated, the chosen version's runnable found — over 10 functions and
 * over 10,000, each with 10 versions, in alternating slices of time.
 */
import { parseAliasSpec } from '../src/core/alias.js';
import { parseNewFunction } from '../src/core/function-config.js';
import { compileRoute, type ParameterLookup } from '../src/core/routing.js';
import type { Qualifier } from '../src/core/names.js';
import { DEFAULT_TRIGGER } from '../src/core/trigger.js';
import { DEFAULT_ASYNC_CONFIG } from '../src/core/async-config.js';
import { LATEST_VERSION_ID } from '../src/core/qualifier.js';
import type { FunctionSnapshot } from '../src/gateway/catalog.js';
import { selectVersion } from '../src/gateway/select-version.js';
import type { RunnableVersion } from '../src/runtime/instance.js';
import { quick } from './settings.js';
import type { Table } from './table.js';

const VERSIONS = 10;
const SIZES = [10, 10_000] as const;
const ROUNDS = 6;
const SLICE_MS = quick ? 100 : 400;

const WEIGHTED = parseAliasSpec({ version: '9', canary: { version: '10', weight: 0.1 } });
const RULES = parseAliasSpec({
  version: '9',
  canary: {
    version: '10',
    match: 'all',
    rules: [
      { source: 'header', name: 'x-user', op: '=', value: 'bob' },
      { source: 'header', name: 'x-tier', op: 'in', value: ['gold', 'beta'] },
      { source: 'query', name: 'n', op: '>', value: 10 },
    ],
  },
});

/** A function as the catalog holds it, its alias `live` weighted (even i) or ruled (odd i). */
function snapshot(i: number): FunctionSnapshot {
  const name = `fn${i}`;
  const { config } = parseNewFunction({ name, runtime: 'nodejs20', handler: 'index.handler' });
  const runnable = (versionId: string): RunnableVersion => ({
    key: `${name}\u0000${versionId}`,
    functionName: name,
    versionId,
    config,
    codeSha256: '0'.repeat(64),
  });
  return {
    name,
    latest: runnable(LATEST_VERSION_ID),
    trigger: DEFAULT_TRIGGER,
    async: DEFAULT_ASYNC_CONFIG,
    versions: new Map(Array.from({ length: VERSIONS }, (_, v) => [v + 1, runnable(String(v + 1))] as const)),
    routes: new Map([['live', compileRoute(i % 2 === 0 ? WEIGHTED : RULES, `${name}/live`)]]),
  };
}

const QUALIFIER: Qualifier = { kind: 'alias', alias: 'live' };
const HEADERS: Record<string, string> = { 'x-user': 'bob', 'x-tier': 'gold' };
const LOOKUP: ParameterLookup = (source, name) =>
  source === 'header' ? HEADERS[name] : source === 'query' ? '42' : undefined;

type Decide = (found: FunctionSnapshot) => RunnableVersion;

const route: Decide = (found) => selectVersion(found, QUALIFIER, LOOKUP);
/** The function's lookup by name alone: what any design that finds a function by its name pays. */
const lookupOnly: Decide = (found) => found.latest;

/** Decisions for `millis`, over the catalog's functions in turn: the worst case for the CPU's caches. */
function decide(
  catalog: ReadonlyMap<string, FunctionSnapshot>,
  millis: number,
  how: Decide,
): { decisions: number; ms: number } {
  const names = [...catalog.keys()];
  let decisions = 0;
  let next = 0;
  let sink = 0;
  const started = performance.now();
  const deadline = started + millis;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10_000; i++) {
      const found = catalog.get(names[next] as string) as FunctionSnapshot;
      next = next + 1 === names.length ? 0 : next + 1;
      sink += how(found).versionId.length;
    }
    decisions += 10_000;
  }
  if (sink < 0) throw new Error('unreachable');
  return { decisions, ms: performance.now() - started };
}

/** Decisions per second over each catalog, in alternating slices. */
function rates(catalogs: readonly ReadonlyMap<string, FunctionSnapshot>[], how: Decide): number[] {
  const totals = catalogs.map(() => ({ decisions: 0, ms: 0 }));
  for (const catalog of catalogs) decide(catalog, SLICE_MS, how);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const slice = decide(catalogs[s] as ReadonlyMap<string, FunctionSnapshot>, SLICE_MS, how);
      const total = totals[s] as { decisions: number; ms: number };
      total.decisions += slice.decisions;
      total.ms += slice.ms;
    }
  }
  return totals.map((t) => t.decisions / (t.ms / 1000));
}

export function routingRows(table: Table): void {
  const catalogs = SIZES.map(
    (size) => new Map(Array.from({ length: size }, (_, i) => [`fn${i}`, snapshot(i)])),
  );
  const routed = rates(catalogs, route);
  const looked = rates(catalogs, lookupOnly);
  SIZES.forEach((size, s) => {
    table.add({
      scenario: `routing ${size}`,
      what: `routing decisions per second over ${size} functions × ${VERSIONS} versions, alias half weighted, half 3-condition rules, the functions taken in turn; ${ROUNDS} alternating slices of ${SLICE_MS} ms`,
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
      what: `the function found by name and nothing else, over the same ${size} functions in turn: the floor of any lookup by name as the CPU's caches fill`,
      rps: looked[s] as number,
    });
  });
  table.add({
    scenario: 'routing lookup ratio',
    what: `lookups per second over ${SIZES[1]} functions ÷ over ${SIZES[0]}: what routing's ratio is held against`,
    ratio: (looked[1] as number) / (looked[0] as number),
  });
}
