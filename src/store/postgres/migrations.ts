/**
 * PostgreSQL schema changes, applied in order and recorded in `schema_migrations`. Never edit a released
 * step: add one. Tables and columns mirror the SQLite store's, so that the same raw SQL reads (and is refused
 * by) both. Differences, and why:
 * - Names that are sorted or paged on use `COLLATE "C"`, so that listings order by code point exactly as the
 *   SQLite store (and JavaScript's sort) do, whatever the database's default collation.
 * - JSON columns are `json`: checked to be JSON on the way in, but kept as the text written (key order
 *   included), unlike `jsonb`, so that what is read back is exactly what was stored.
 * - Times stay ISO-8601 `text`: the store is handed its clock (`Change.now`) and gives it back verbatim.
 * - Versions, code blobs and alias history are made immutable by triggers (statement-level, so they also fire
 *   on an `UPDATE` that matches no row and on `INSERT … ON CONFLICT DO UPDATE`); a version or history row
 *   cannot be inserted over an existing one; the version counter can only grow and cannot be deleted, so that
 *   no code path, and no one behind the store, can reissue a version number.
 * Errors raised here carry SQLSTATE `SLU01`.
 */
export const migrations: readonly string[] = [
  `
  CREATE FUNCTION sluice_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'SLU01';
  END
  $$;

  CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
  );

  CREATE TABLE code_blobs (
    sha256 TEXT COLLATE "C" PRIMARY KEY,
    size INTEGER NOT NULL CHECK (size >= 0),
    zip BYTEA NOT NULL
  );
  -- Zips are compressed already: store them out of line without compressing them again.
  ALTER TABLE code_blobs ALTER COLUMN zip SET STORAGE EXTERNAL;
  CREATE TRIGGER code_blobs_immutable BEFORE UPDATE ON code_blobs
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_refuse('code blobs are immutable');

  CREATE TABLE functions (
    name TEXT COLLATE "C" PRIMARY KEY,
    config_json JSON NOT NULL,
    -- Who may call the function's HTTP trigger: not part of versions, it applies whatever the qualifier.
    trigger_json JSON NOT NULL DEFAULT '{"authType":"token"}',
    code_sha256 TEXT COLLATE "C" NOT NULL REFERENCES code_blobs(sha256),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX functions_code ON functions (code_sha256);

  -- Outlives its function, so that a name re-created never reissues a version number.
  CREATE TABLE version_counters (
    function_name TEXT COLLATE "C" PRIMARY KEY,
    last_version INTEGER NOT NULL CHECK (last_version > 0)
  );
  CREATE FUNCTION sluice_counter_grows() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.function_name IS DISTINCT FROM OLD.function_name OR NEW.last_version <= OLD.last_version THEN
      RAISE EXCEPTION 'version numbers are never reused: the counter of % only grows', OLD.function_name
        USING ERRCODE = 'SLU01';
    END IF;
    RETURN NEW;
  END
  $$;
  CREATE TRIGGER version_counters_grow BEFORE UPDATE ON version_counters
    FOR EACH ROW EXECUTE FUNCTION sluice_counter_grows();
  CREATE TRIGGER version_counters_kept BEFORE DELETE ON version_counters
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_refuse('version numbers are never reused: counters are kept');
  CREATE TRIGGER version_counters_not_truncated BEFORE TRUNCATE ON version_counters
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_refuse('version numbers are never reused: counters are kept');

  CREATE TABLE versions (
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0),
    description TEXT NOT NULL,
    config_json JSON NOT NULL,
    code_sha256 TEXT COLLATE "C" NOT NULL REFERENCES code_blobs(sha256),
    created_at TEXT NOT NULL,
    PRIMARY KEY (function_name, version)
  );
  CREATE INDEX versions_code ON versions (code_sha256);
  CREATE TRIGGER versions_immutable BEFORE UPDATE ON versions
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_refuse('published versions are immutable');
  CREATE FUNCTION sluice_versions_no_reinsert() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    present BOOLEAN;
  BEGIN
    EXECUTE format(
      'SELECT EXISTS (SELECT 1 FROM %I.versions WHERE function_name = $1 AND version = $2)', TG_TABLE_SCHEMA
    ) INTO present USING NEW.function_name, NEW.version;
    IF present THEN
      RAISE EXCEPTION 'published versions are immutable' USING ERRCODE = 'SLU01';
    END IF;
    RETURN NEW;
  END
  $$;
  CREATE TRIGGER versions_no_reinsert BEFORE INSERT ON versions
    FOR EACH ROW EXECUTE FUNCTION sluice_versions_no_reinsert();

  CREATE TABLE aliases (
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    spec_json JSON NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
  );

  CREATE TABLE alias_history (
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    alias TEXT COLLATE "C" NOT NULL,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'rollback', 'delete')),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    before_json JSON,
    after_json JSON,
    PRIMARY KEY (function_name, alias, revision)
  );
  CREATE TRIGGER alias_history_immutable BEFORE UPDATE ON alias_history
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_refuse('alias history is append-only');
  CREATE FUNCTION sluice_alias_history_no_reinsert() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    present BOOLEAN;
  BEGIN
    EXECUTE format(
      'SELECT EXISTS (SELECT 1 FROM %I.alias_history WHERE function_name = $1 AND alias = $2 AND revision = $3)',
      TG_TABLE_SCHEMA
    ) INTO present USING NEW.function_name, NEW.alias, NEW.revision;
    IF present THEN
      RAISE EXCEPTION 'alias history is append-only' USING ERRCODE = 'SLU01';
    END IF;
    RETURN NEW;
  END
  $$;
  CREATE TRIGGER alias_history_no_reinsert BEFORE INSERT ON alias_history
    FOR EACH ROW EXECUTE FUNCTION sluice_alias_history_no_reinsert();
  `,
  `
  -- Telemetry: each node writes its own rows, so that nodes add up without overwriting one another.
  CREATE TABLE metrics (
    resolution INTEGER NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    bucket_start BIGINT NOT NULL,
    version_id TEXT COLLATE "C" NOT NULL,
    qualifier TEXT COLLATE "C" NOT NULL,
    node TEXT COLLATE "C" NOT NULL,
    invocations INTEGER NOT NULL,
    function_errors INTEGER NOT NULL,
    platform_errors INTEGER NOT NULL,
    throttles INTEGER NOT NULL,
    cold_starts INTEGER NOT NULL,
    duration_sum_ms DOUBLE PRECISION NOT NULL,
    histogram JSON NOT NULL,
    PRIMARY KEY (resolution, function_name, bucket_start, version_id, qualifier, node)
  );
  CREATE INDEX metrics_by_time ON metrics (resolution, bucket_start);

  CREATE TABLE invocation_logs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    function_name TEXT COLLATE "C" NOT NULL,
    version_id TEXT NOT NULL,
    qualifier TEXT,
    request_id TEXT,
    at BIGINT NOT NULL,
    duration_ms DOUBLE PRECISION,
    outcome TEXT NOT NULL,
    error_code TEXT,
    text TEXT NOT NULL
  );
  CREATE INDEX invocation_logs_by_function ON invocation_logs (function_name, id);
  CREATE INDEX invocation_logs_by_time ON invocation_logs (at);
  `,
  `
  CREATE TABLE apis (
    name TEXT COLLATE "C" PRIMARY KEY,
    definition_json JSON NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );

  CREATE TABLE stages (
    api TEXT COLLATE "C" NOT NULL REFERENCES apis(name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    spec_json JSON NOT NULL,
    revision INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (api, name)
  );

  CREATE TABLE stage_history (
    api TEXT COLLATE "C" NOT NULL REFERENCES apis(name) ON DELETE CASCADE,
    stage TEXT COLLATE "C" NOT NULL,
    revision INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    before_json JSON,
    after_json JSON,
    PRIMARY KEY (api, stage, revision)
  );
  CREATE TRIGGER stage_history_immutable BEFORE UPDATE ON stage_history
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_refuse('stage history is append-only');
  `,
  `
  CREATE TABLE rollouts (
    id TEXT COLLATE "C" PRIMARY KEY,
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    alias TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    state_json JSON NOT NULL,
    lease_owner TEXT,
    lease_expires BIGINT NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE INDEX rollouts_by_alias ON rollouts (function_name, alias, created_at);
  CREATE INDEX rollouts_active ON rollouts (status);
  `,
  `
  -- Logs move to runs (src/store/log-runs.ts): a row per function and flush instead of per invocation.
  CREATE TABLE log_runs (
    id_first BIGINT PRIMARY KEY,
    count INTEGER NOT NULL,
    function_name TEXT COLLATE "C" NOT NULL,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    records TEXT NOT NULL
  );
  CREATE INDEX log_runs_by_function ON log_runs (function_name, id_first);
  CREATE INDEX log_runs_by_time ON log_runs (last_at);

  -- The next log id. Taking ids locks this row until the taker commits, so runs commit in id order.
  CREATE TABLE log_ids (next BIGINT NOT NULL);
  INSERT INTO log_ids (next) SELECT nextval(pg_get_serial_sequence('invocation_logs', 'id'));

  INSERT INTO log_runs (id_first, count, function_name, first_at, last_at, records)
    SELECT id, 1, function_name, at, at,
      json_build_array(json_build_array(version_id, qualifier, request_id, 0, duration_ms, outcome, error_code, text))::text
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
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
  );
  CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
  `,
  `
  -- Provisioned instances per qualifier ($LATEST, a version or an alias), and the nodes that divide them.
  CREATE TABLE provisioned (
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT COLLATE "C" NOT NULL,
    target INTEGER NOT NULL,
    canary_ratio TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_name, qualifier)
  );
  CREATE TABLE nodes (
    node TEXT COLLATE "C" PRIMARY KEY,
    seen_at BIGINT NOT NULL,
    provisioned JSON NOT NULL
  );
  `,
  `
  -- Scoped credentials (src/core/credentials.ts): the first token, made before scopes, is an admin's.
  ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin'
    CHECK (scope IN ('admin', 'deploy', 'invoke'));
  ALTER TABLE api_tokens ADD COLUMN function_prefix TEXT;
  ALTER TABLE api_tokens ALTER COLUMN name TYPE TEXT COLLATE "C";
  CREATE UNIQUE INDEX api_tokens_by_name ON api_tokens (name);

  -- Access-key pairs; the secret sealed with the server's key (src/auth/seal.ts), never in clear.
  CREATE TABLE access_keys (
    id TEXT PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    scope TEXT NOT NULL CHECK (scope IN ('admin', 'deploy', 'invoke')),
    function_prefix TEXT,
    created_at TEXT NOT NULL,
    sealed_secret TEXT NOT NULL
  );
  `,
  `
  -- The nonces of signed requests (Function Compute's API), until their x-acs-date leaves the window.
  CREATE TABLE signature_nonces (
    access_key_id TEXT COLLATE "C" NOT NULL,
    nonce TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (access_key_id, nonce)
  );
  CREATE INDEX signature_nonces_by_expiry ON signature_nonces (expires_at);
  `,
  `
  -- Asynchronous invocations: a function's settings (not versioned, like its HTTP trigger's), and the queue.
  -- Nodes claim events with FOR UPDATE SKIP LOCKED under a lease (see PostgresStore.claimAsync).
  ALTER TABLE functions ADD COLUMN async_json JSON;
  CREATE TABLE async_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    qualifier TEXT NOT NULL,
    source TEXT NOT NULL,
    payload BYTEA NOT NULL,
    routing_key JSON,
    status TEXT NOT NULL,
    attempts JSON NOT NULL,
    next_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    result TEXT,
    error JSON,
    destination JSON,
    lease_owner TEXT,
    lease_expires BIGINT
  );
  CREATE INDEX async_events_due ON async_events (status, next_at);
  CREATE INDEX async_events_by_function ON async_events (function_name, created_at, id);
  CREATE INDEX async_events_ended ON async_events (finished_at);
  `,
  `
  -- Event triggers (timers, queue subscriptions), each bound to a qualifier of its function. A timer's
  -- last_fired is the time of its latest firing: a node fires a time only by moving it (see fireTimer).
  CREATE TABLE triggers (
    function_name TEXT COLLATE "C" NOT NULL REFERENCES functions(name) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    qualifier TEXT NOT NULL,
    spec_json JSON NOT NULL,
    last_fired BIGINT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (function_name, name)
  );
  `,
];
