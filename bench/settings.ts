/** The command line of `node dist/bench/run.js [--quick] [--only NAME,…]`, read once, and what it sets. */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
  strict: true,
  allowPositionals: false,
});

export const quick = values.quick;

/** The rows or groups to run, by name; undefined runs them all. */
export const only: ReadonlySet<string> | undefined =
  values.only === undefined ? undefined : new Set(values.only.split(',').map((name) => name.trim()));

/** The connections wrk opens unless a row says otherwise. */
export const CONNECTIONS = 50;
export const BODY = '{"hello":"sluice"}';

/**
 * Throughput rows run in `rounds` turns of `seconds` each, all rows in one turn before the next, after one
 * warm-up of `warmupSeconds` each: the machine's speed drifts within seconds and falls on every row alike.
 */
export const rounds = quick ? 2 : 3;
export const seconds = quick ? 2 : 3;
export const warmupSeconds = quick ? 1 : 2;
