import {
  ALIAS_COLUMNS,
  ALIAS_HISTORY_COLUMNS,
  ALIAS_UPSERT,
  ROLLOUT_COLUMNS,
  STAGE_COLUMNS,
  STAGE_HISTORY_COLUMNS,
  STAGE_UPSERT,
} from './rows.js';
import { ASYNC_INSERT_COLUMNS } from './async-rows.js';

/**
 * The statements both stores run alike, written once over the tables both keep (see rows.ts). Placeholders
 * are `?`, SQLite's, in the order of the values; the PostgreSQL store numbers them (`numbered`).
 */

/** A function's row with its code's size. */
export const FUNCTION_SELECT =
  'SELECT f.*, b.size FROM functions f JOIN code_blobs b ON b.sha256 = f.code_sha256';
/** A version's row with its code's size. */
export const VERSION_SELECT =
  'SELECT v.*, b.size FROM versions v JOIN code_blobs b ON b.sha256 = v.code_sha256';

export const SQL = {
  functions: {
    delete: 'DELETE FROM functions WHERE name = ?',
    namesAfter: 'SELECT name FROM functions WHERE name > ? ORDER BY name LIMIT ?',
    update:
      'UPDATE functions SET config_json = ?, code_sha256 = ?, trigger_json = ?, async_json = ?, updated_at = ? WHERE name = ?',
    byName: `${FUNCTION_SELECT} WHERE f.name = ?`,
  },
  versions: {
    delete: 'DELETE FROM versions WHERE function_name = ? AND version = ?',
    insert:
      'INSERT INTO versions (function_name, version, description, config_json, code_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    codeOfFunction: 'SELECT code_sha256 FROM versions WHERE function_name = ?',
    numbers: 'SELECT version FROM versions WHERE function_name = ?',
    last: `${VERSION_SELECT} WHERE v.function_name = ? ORDER BY v.version DESC LIMIT 1`,
    byNumber: `${VERSION_SELECT} WHERE v.function_name = ? AND v.version = ?`,
  },
  versionCounters: {
    upsert:
      'INSERT INTO version_counters (function_name, last_version) VALUES (?, ?) ON CONFLICT (function_name) DO UPDATE SET last_version = excluded.last_version',
    last: 'SELECT last_version FROM version_counters WHERE function_name = ?',
  },
  codeBlobs: {
    zip: 'SELECT zip FROM code_blobs WHERE sha256 = ?',
  },
  aliases: {
    delete: 'DELETE FROM aliases WHERE function_name = ? AND name = ?',
    upsert: `INSERT INTO aliases (${ALIAS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ${ALIAS_UPSERT}`,
    byName: 'SELECT * FROM aliases WHERE function_name = ? AND name = ?',
    ofFunction: 'SELECT * FROM aliases WHERE function_name = ? ORDER BY name',
  },
  aliasHistory: {
    insert: `INSERT INTO alias_history (${ALIAS_HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ofAlias: 'SELECT * FROM alias_history WHERE function_name = ? AND alias = ? ORDER BY revision',
    lastRevision: 'SELECT MAX(revision) AS r FROM alias_history WHERE function_name = ? AND alias = ?',
  },
  apis: {
    delete: 'DELETE FROM apis WHERE name = ?',
    all: 'SELECT * FROM apis ORDER BY name',
    update: 'UPDATE apis SET definition_json = ?, updated_at = ? WHERE name = ?',
  },
  stages: {
    delete: 'DELETE FROM stages WHERE api = ? AND name = ?',
    upsert: `INSERT INTO stages (${STAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ${STAGE_UPSERT}`,
    all: 'SELECT * FROM stages ORDER BY api, name',
    byName: 'SELECT * FROM stages WHERE api = ? AND name = ?',
    ofApi: 'SELECT * FROM stages WHERE api = ? ORDER BY name',
  },
  stageHistory: {
    insert: `INSERT INTO stage_history (${STAGE_HISTORY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ofStage: 'SELECT * FROM stage_history WHERE api = ? AND stage = ? ORDER BY revision',
    lastRevision: 'SELECT MAX(revision) AS r FROM stage_history WHERE api = ? AND stage = ?',
  },
  rollouts: {
    insert: `INSERT INTO rollouts (${ROLLOUT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    update: 'UPDATE rollouts SET status = ?, state_json = ?, updated_at = ? WHERE id = ? AND updated_at = ?',
  },
  triggers: {
    delete: 'DELETE FROM triggers WHERE function_name = ? AND name = ?',
    all: 'SELECT * FROM triggers ORDER BY function_name, name',
    byName: 'SELECT * FROM triggers WHERE function_name = ? AND name = ?',
    ofFunction: 'SELECT * FROM triggers WHERE function_name = ? ORDER BY name',
  },
  provisioned: {
    delete: 'DELETE FROM provisioned WHERE function_name = ? AND qualifier = ?',
    all: 'SELECT * FROM provisioned ORDER BY function_name, qualifier',
    byQualifier: 'SELECT * FROM provisioned WHERE function_name = ? AND qualifier = ?',
    ofFunction: 'SELECT * FROM provisioned WHERE function_name = ? ORDER BY qualifier',
  },
  nodes: {
    delete: 'DELETE FROM nodes WHERE node = ?',
    forget: 'DELETE FROM nodes WHERE seen_at < ?',
    beat: 'INSERT INTO nodes (node, seen_at, provisioned) VALUES (?, ?, ?) ON CONFLICT (node) DO UPDATE SET seen_at = excluded.seen_at, provisioned = excluded.provisioned',
    all: 'SELECT * FROM nodes ORDER BY node',
  },
  asyncEvents: {
    prune: 'DELETE FROM async_events WHERE finished_at < ?',
    insert: `INSERT INTO async_events (${ASYNC_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    byId: 'SELECT * FROM async_events WHERE function_name = ? AND id = ?',
    setDestination: 'UPDATE async_events SET destination = ? WHERE id = ?',
  },
  metrics: {
    ofFunctionDelete: 'DELETE FROM metrics WHERE function_name = ?',
    range:
      'SELECT * FROM metrics WHERE resolution = ? AND function_name = ? AND bucket_start >= ? AND bucket_start < ? ORDER BY bucket_start',
  },
  logRuns: {
    ofFunctionDelete: 'DELETE FROM log_runs WHERE function_name = ?',
  },
  idempotency: {
    prune: 'DELETE FROM idempotency_keys WHERE created_at < ?',
    delete: 'DELETE FROM idempotency_keys WHERE scope = ? AND key = ?',
    deleteAbandoned:
      'DELETE FROM idempotency_keys WHERE scope = ? AND key = ? AND response IS NULL AND created_at < ?',
    claim:
      'INSERT INTO idempotency_keys (scope, key, fingerprint, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    byKey: 'SELECT * FROM idempotency_keys WHERE scope = ? AND key = ?',
    answer: 'UPDATE idempotency_keys SET response = ? WHERE scope = ? AND key = ?',
  },
  tokens: {
    delete: 'DELETE FROM api_tokens WHERE id = ?',
    insert:
      'INSERT INTO api_tokens (id, name, scope, function_prefix, created_at, sha256) VALUES (?, ?, ?, ?, ?, ?)',
    insertFirst:
      'INSERT INTO api_tokens (id, name, sha256, created_at) SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM api_tokens)',
    all: 'SELECT * FROM api_tokens ORDER BY name',
    byId: 'SELECT * FROM api_tokens WHERE id = ?',
    byHash: 'SELECT * FROM api_tokens WHERE sha256 = ?',
    named: 'SELECT 1 FROM api_tokens WHERE name = ?',
  },
  accessKeys: {
    delete: 'DELETE FROM access_keys WHERE id = ?',
    insert:
      'INSERT INTO access_keys (id, name, scope, function_prefix, created_at, sealed_secret) VALUES (?, ?, ?, ?, ?, ?)',
    all: 'SELECT * FROM access_keys ORDER BY name',
    byId: 'SELECT * FROM access_keys WHERE id = ?',
    named: 'SELECT 1 FROM access_keys WHERE name = ?',
    reseal: 'UPDATE access_keys SET sealed_secret = ? WHERE id = ? AND sealed_secret = ?',
  },
  nonces: {
    prune: 'DELETE FROM signature_nonces WHERE expires_at <= ?',
    claim:
      'INSERT INTO signature_nonces (access_key_id, nonce, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  },
};
