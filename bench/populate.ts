/**
 * Fills a store with many functions for the scale rows. Through the Store interface a write takes 2-4 ms on
 * PostgreSQL here, so 10,000 functions × 10 versions (220,000 writes) would take many minutes: one function
 * is written through the store, as the API writes it, and its rows are then copied by SQL under other names.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { parseAliasSpec } from '../src/core/alias.js';
import { applyConfigPatch, parseNewFunction } from '../src/core/function-config.js';
import { canonicalZip, sha256Hex } from '../src/contract/canonical-zip.js';
import type { Store } from '../src/store/store.js';
import { NODE_HANDLER } from './handler.js';

/** The name of the i-th function of a population. */
export const populatedName = (i: number) => `fn_${String(i).padStart(5, '0')}`;

const TEMPLATE = populatedName(0);

/**
 * The first function: `versions` published versions (the configuration differs between them, as a redeploy's
 * does) and an alias `live` with a 10 % canary on the last two.
 */
export async function writeTemplate(store: Store, versions: number): Promise<void> {
  const change = { actor: 'bench', now: new Date().toISOString() };
  const zip = await canonicalZip([{ path: 'index.js', data: Buffer.from(NODE_HANDLER), executable: false }]);
  const { config } = parseNewFunction({ name: TEMPLATE, runtime: 'nodejs20', handler: 'index.handler' });
  await store.createFunction(TEMPLATE, config, { sha256: sha256Hex(zip), size: zip.length, zip }, change);
  for (let v = 1; v <= versions; v++) {
    const build = applyConfigPatch(config, { environmentVariables: { BUILD: String(v) } });
    await store.updateFunction(TEMPLATE, { config: build }, change);
    await store.publishVersion(TEMPLATE, `build ${v}`, change);
  }
  const spec = { version: String(versions - 1), canary: { version: String(versions), weight: 0.1 } };
  await store.putAlias(TEMPLATE, 'live', parseAliasSpec(spec), change);
}

interface Dialect {
  /** Joined to a table's rows: one row `g` per copy, `g.i` from 1. */
  copies: string;
  /** The i-th function's name, from `g.i`. */
  name: string;
}

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/**
 * Copies the template's rows of every table that names a function (`functions.name`, elsewhere
 * `function_name`), whatever other columns the schema has: functions first, which the others refer to.
 */
function copyStatements(tables: ReadonlyMap<string, readonly string[]>, dialect: Dialect): string[] {
  const statements: string[] = [];
  for (const [table, columns] of [...tables].sort(
    ([a], [b]) => Number(b === 'functions') - Number(a === 'functions'),
  )) {
    const key = table === 'functions' ? 'name' : 'function_name';
    if (!columns.includes(key)) continue;
    const values = columns.map((c) => (c === key ? dialect.name : `t.${quote(c)}`));
    statements.push(
      `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) SELECT ${values.join(', ')} FROM ${quote(table)} t ${dialect.copies} WHERE t.${quote(key)} = '${TEMPLATE}'`,
    );
  }
  return statements;
}

/** Brings the SQLite database in `file`, holding the template, to `functions` functions. */
export function copySqlite(file: string, functions: number): void {
  const db = new Database(file);
  try {
    const tables = new Map<string, string[]>();
    const names = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    for (const table of names) {
      const columns = db.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(table) as string[];
      tables.set(table, columns);
    }
    db.transaction(() => {
      db.exec('CREATE TEMP TABLE copies (i INTEGER PRIMARY KEY)');
      const insert = db.prepare('INSERT INTO copies (i) VALUES (?)');
      for (let i = 1; i < functions; i++) insert.run(i);
      const dialect = { copies: 'CROSS JOIN copies g', name: "'fn_' || substr('0000' || g.i, -5)" };
      for (const statement of copyStatements(tables, dialect)) db.exec(statement);
    })();
  } finally {
    db.close();
  }
}

/** Brings the PostgreSQL schema, holding the template, to `functions` functions. */
export async function copyPostgres(url: string, schema: string, functions: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${quote(schema)}`);
    const result = await client.query<{ table_name: string; column_name: string }>(
      'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1 ORDER BY ordinal_position',
      [schema],
    );
    const tables = new Map<string, string[]>();
    for (const { table_name, column_name } of result.rows) {
      tables.set(table_name, [...(tables.get(table_name) ?? []), column_name]);
    }
    const dialect = {
      copies: `CROSS JOIN generate_series(1, ${functions - 1}) AS g(i)`,
      name: "'fn_' || lpad(g.i::text, 5, '0')",
    };
    await client.query('BEGIN');
    for (const statement of copyStatements(tables, dialect)) await client.query(statement);
    await client.query('COMMIT');
    // A database in service has its statistics; without them the planner's estimates of the copied tables
    // would be off by the copies, and autovacuum would gather them at some moment during the rows.
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}
