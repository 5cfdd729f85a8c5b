import { InProcessChangeFeed, type ChangeFeed } from './changes.js';
import { PostgresChangeFeed } from './postgres/change-feed.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export type StoreKind = 'sqlite' | 'postgres';

export interface OpenedStore {
  kind: StoreKind;
  store: Store;
  /** How this node hears of the changes other nodes make (and tells them of its own). */
  changes: ChangeFeed;
  /** Where the state is, for the logs: the URL without its password. */
  description: string;
}

export interface OpenStoreOptions {
  dataDir: string;
  /** This node: PostgreSQL connections are named `sluice-<node>` (`application_name`) after it. */
  node: string;
  log: (line: string) => void;
}

/** The URL without its password, to be shown. */
export function redactUrl(url: URL): string {
  const shown = new URL(url.href);
  if (shown.password !== '') shown.password = '***';
  return shown.href;
}

/**
 * The store a `--store` value names: nothing (or `sqlite`) for the embedded SQLite store in the data
 * directory, or a `postgres://` URL, which may carry `?schema=NAME` to keep the tables in a schema of their
 * own. Every connection of the node is named `sluice-<node>` unless the URL names them (`application_name`).
 */
export async function openStore(spec: string | undefined, options: OpenStoreOptions): Promise<OpenedStore> {
  if (spec === undefined || spec === '' || spec === 'sqlite') {
    return {
      kind: 'sqlite',
      store: SqliteStore.open(options.dataDir, options.log),
      changes: new InProcessChangeFeed(),
      description: `SQLite in ${options.dataDir}`,
    };
  }
  let url: URL | undefined;
  try {
    url = new URL(spec);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')) {
    throw new Error(
      'the store must be a postgres:// URL, or left out for the embedded SQLite store in the data directory',
    );
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  if (!url.searchParams.has('application_name'))
    url.searchParams.set('application_name', `sluice-${options.node}`.slice(0, 63));
  const store = await PostgresStore.open(url.href, {
    ...(schema !== undefined && { schema }),
    onError: (error) => {
      options.log(`store: a pooled PostgreSQL connection failed (${error.message}); it will be replaced`);
    },
  });
  return {
    kind: 'postgres',
    store,
    changes: new PostgresChangeFeed({
      url: url.href,
      ...(schema !== undefined && { schema }),
      node: options.node,
      log: options.log,
    }),
    description: `PostgreSQL at ${redactUrl(url)}${schema === undefined ? '' : ` (schema ${schema})`}`,
  };
}
