/**
 * Schema changes, applied in order and recorded in `schema_migrations`. Never edit a released step: add one.
 * Versions and code blobs are made immutable here, by triggers, so no code path can change them.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );

  CREATE TABLE code_blobs (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    zip BLOB NOT NULL
  );
  CREATE TRIGGER code_blobs_immutable BEFORE UPDATE ON code_blobs
  BEGIN SELECT RAISE(ABORT, 'code blobs are immutable'); END;

  CREATE TABLE functions (
    name TEXT PRIMARY KEY,
    config_json TEXT NOT NULL,
    code_sha256 TEXT NOT NULL REFERENCES code_blobs(sha256),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  -- Outlives its function, so that a name re-created never reissues a version number.
  CREATE TABLE version_counters (
    function_name TEXT PRIMARY KEY,
    last_version INTEGER NOT NULL
  );

  CREATE TABLE versions (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    config_json TEXT NOT NULL,
    code_sha256 TEXT NOT NULL REFERENCES code_blobs(sha256),
    created_at TEXT NOT NULL,
    PRIMARY KEY (function_name, version)
  );
  CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions
  BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END;

  CREATE TABLE aliases (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
  );

  CREATE TABLE alias_history (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    PRIMARY KEY (function_name, alias, revision)
  );
  CREATE TRIGGER alias_history_immutable BEFORE UPDATE ON alias_history
  BEGIN SELECT RAISE(ABORT, 'alias history is append-only'); END;
  `,
  `
  -- INSERT OR REPLACE deletes the old row and inserts anew, which the UPDATE triggers above never see.
  CREATE TRIGGER versions_no_replace BEFORE INSERT ON versions
  WHEN EXISTS (SELECT 1 FROM versions WHERE function_name = NEW.function_name AND version = NEW.version)
  BEGIN SELECT RAISE(ABORT, 'published versions are immutable'); END;

  CREATE TRIGGER alias_history_no_replace BEFORE INSERT ON alias_history
  WHEN EXISTS (
    SELECT 1 FROM alias_history WHERE function_name = NEW.function_name AND alias = NEW.alias AND revision = NEW.revision
  )
  BEGIN SELECT RAISE(ABORT, 'alias history is append-only'); END;

  -- A digest names its bytes, so a blob stored again is dropped quietly (the store inserts blobs OR IGNORE).
  CREATE TRIGGER code_blobs_no_replace BEFORE INSERT ON code_blobs
  WHEN EXISTS (SELECT 1 FROM code_blobs WHERE sha256 = NEW.sha256)
  BEGIN SELECT RAISE(IGNORE); END;
  `,
  `
  -- Who may call the function's HTTP trigger: not part of versions, it applies whatever the qualifier.
  ALTER TABLE functions ADD COLUMN trigger_json TEXT NOT NULL DEFAULT '{"authType":"token"}';
  `,
  `
  -- Telemetry: each node writes its own rows, so that nodes add up without overwriting one another.
  CREATE TABLE metrics (
    resolution INTEGER NOT NULL,
    function_name TEXT NOT NULL,
    bucket_start INTEGER NOT NULL,
    version_id TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    node TEXT NOT NULL,
    invocations INTEGER NOT NULL,
    function_errors INTEGER NOT NULL,
    platform_errors INTEGER NOT NULL,
    throttles INTEGER NOT NULL,
    cold_starts INTEGER NOT NULL,
    duration_sum_ms REAL NOT NULL,
    histogram TEXT NOT NULL,
    PRIMARY KEY (resolution, function_name, bucket_start, version_id, qualifier, node)
  );

  CREATE TABLE invocation_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    function_name TEXT NOT NULL,
    version_id TEXT NOT NULL,
    qualifier TEXT,
    request_id TEXT,
    at INTEGER NOT NULL,
    duration_ms REAL,
    outcome TEXT NOT NULL,
    error_code TEXT,
    text TEXT NOT NULL
  );
  CREATE INDEX invocation_logs_by_function ON invocation_logs (function_name, id);
  CREATE INDEX invocation_logs_by_time ON invocation_logs (at);
  `,
  `
  CREATE TABLE apis (
    name TEXT PRIMARY KEY,
    definition_json TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE stages (
    api TEXT NOT NULL REFERENCES apis(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (api, name)
  );

  CREATE TABLE stage_history (
    api TEXT NOT NULL REFERENCES apis(name) ON DELETE CASCADE,
    stage TEXT NOT NULL,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT,
    PRIMARY KEY (api, stage, revision)
  );
  CREATE TRIGGER stage_history_immutable BEFORE UPDATE ON stage_history
  BEGIN SELECT RAISE(ABORT, 'stage history is append-only'); END;
  `,
  `
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    alias TEXT NOT NULL,
    status TEXT NOT NULL,
    state_json TEXT NOT NULL,
    lease_owner TEXT,
    lease_expires INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX rollouts_by_alias ON rollouts (function_name, alias, created_at);
  CREATE INDEX rollouts_active ON rollouts (status);
  `,
  `
  -- Logs move to runs (src/store/log-runs.ts): a row per function and flush instead of per invocation.
  CREATE TABLE log_runs (
    id_first INTEGER PRIMARY KEY,
    count INTEGER NOT NULL,
    function_name TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    records TEXT NOT NULL
  );
  CREATE INDEX log_runs_by_function ON log_runs (function_name, id_first);
  CREATE INDEX log_runs_by_time ON log_runs (last_at);

  -- The next log id: ids are never reused, whatever was pruned or deleted.
  CREATE TABLE log_ids (next INTEGER NOT NULL);
  INSERT INTO log_ids (next) SELECT max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'invocation_logs'), 0),
    coalesce((SELECT max(id) FROM invocation_logs), 0)
  ) + 1;

  INSERT INTO log_runs (id_first, count, function_name, first_at, last_at, records)
    SELECT id, 1, function_name, at, at,
      json_array(json_array(version_id, qualifier, request_id, 0, duration_ms, outcome, error_code, text))
    FROM invocation_logs;
  DROP TABLE invocation_logs;
  `,
  `
  -- A write's Idempotency-Key per credential, with its answer once given (src/api/idempotency.ts).
  CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
  `,
  `
  -- Provisioned instances per qualifier ($LATEST, a version or an alias), and the nodes that divide them.
  CREATE TABLE provisioned (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    target INTEGER NOT NULL,
    canary_ratio TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
  );
  CREATE TABLE nodes (
    node TEXT PRIMARY KEY,
    seen_at INTEGER NOT NULL,
    provisioned TEXT NOT NULL
  );
  `,
  `
  -- Scoped credentials (src/core/credentials.ts): the first token, made before scopes, is an admin's.
  ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin'
    CHECK (scope IN ('admin', 'deploy', 'invoke'));
  ALTER TABLE api_tokens ADD COLUMN function_prefix TEXT;
  CREATE UNIQUE INDEX api_tokens_by_name ON api_tokens (name);

  -- Access-key pairs; the secret sealed with the server's key (src/auth/seal.ts), never in clear.
  CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('admin', 'deploy', 'invoke')),
    function_prefix TEXT,
    created_at TEXT NOT NULL,
    sealed_secret TEXT NOT NULL
  );
  `,
  `
  -- The nonces of signed requests (Function Compute's API), until their x-acs-date leaves the window.
  CREATE TABLE signature_nonces (
    access_key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
  );
  CREATE INDEX signature_nonces_by_expiry ON signature_nonces (expires_at);
  `,
  `
  -- Asynchronous invocations: a function's settings (not versioned, like its HTTP trigger's), and the queue.
  ALTER TABLE functions ADD COLUMN async_json TEXT;
  CREATE TABLE async_events (
    id TEXT PRIMARY KEY,
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    source TEXT NOT NULL,
    payload BLOB NOT NULL,
    routing_key TEXT,
    status TEXT NOT NULL,
    attempts TEXT NOT NULL,
    next_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    result TEXT,
    error TEXT,
    destination TEXT,
    lease_owner TEXT,
    lease_expires INTEGER
  );
  CREATE INDEX async_events_due ON async_events (status, next_at);
  CREATE INDEX async_events_by_function ON async_events (function_name, created_at, id);
  CREATE INDEX async_events_ended ON async_events (finished_at);
  `,
  `
  -- Event triggers (timers, queue subscriptions), each bound to a qualifier of its function. A timer's
  -- last_fired is the time of its latest firing: a node fires a time only by moving it (see fireTimer).
  CREATE TABLE triggers (
    function_name TEXT NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    last_fired INTEGER,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
  );
  `,
];
