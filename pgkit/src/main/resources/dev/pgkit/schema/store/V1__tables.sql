-- Persist's four tables (persist_records, persist_events, persist_kv, persist_sync_queue) with the seed's
-- column names, plus what named stores and sync need (each addition is commented), and three tables of
-- pgkit's own for sync: replica ids, checkpoints and kept conflicts.

-- Records: key, value (jsonb), version, updated_at as in the seed.
--   store            pgkit: the named store ("analytics"); stores in one schema never see each other's rows
--   key COLLATE "C"  pgkit: byte order, so that a key-prefix listing is an index range and its cursor is stable
--   deleted          pgkit: a delete keeps a tombstone (value NULL) until cleanup, so that sync can carry it
--   updated_at       the time of the write by the server that made it (kept when sync copies the row)
--   origin           pgkit: the replica that made the write; (updated_at, origin) is the write's stamp
--   parents          pgkit: stamps of the versions this one replaced (the newest 16), to tell a newer version from a concurrent one
--   field_stamps     pgkit: per-field stamps for the field-merge sync policy (NULL: every field has the row's stamp)
CREATE TABLE IF NOT EXISTS ${schema}.persist_records (
  store        text COLLATE "C" NOT NULL,
  key          text COLLATE "C" NOT NULL,
  value        jsonb,
  version      bigint      NOT NULL,
  updated_at   timestamptz NOT NULL,
  deleted      boolean     NOT NULL DEFAULT false,
  origin       text        NOT NULL,
  parents      text[]      NOT NULL DEFAULT '{}',
  field_stamps jsonb,
  PRIMARY KEY (store, key)
);
-- containment and field-value queries (value @> '{"field": ...}')
CREATE INDEX IF NOT EXISTS persist_records_value_idx ON ${schema}.persist_records USING gin (value jsonb_path_ops);
-- full-text search over the JSON's string values
CREATE INDEX IF NOT EXISTS persist_records_text_idx ON ${schema}.persist_records
  USING gin (jsonb_to_tsvector('simple'::regconfig, value, '["string"]'::jsonb));

-- Key-value: key, value, updated_at as in the seed; value is jsonb; the same pgkit additions as records
-- (version included, so that sync treats both alike).
CREATE TABLE IF NOT EXISTS ${schema}.persist_kv (
  store        text COLLATE "C" NOT NULL,
  key          text COLLATE "C" NOT NULL,
  value        jsonb,
  version      bigint      NOT NULL,
  updated_at   timestamptz NOT NULL,
  deleted      boolean     NOT NULL DEFAULT false,
  origin       text        NOT NULL,
  parents      text[]      NOT NULL DEFAULT '{}',
  field_stamps jsonb,
  PRIMARY KEY (store, key)
);

-- Events: id, stream, payload (jsonb), timestamp as in the seed.
--   store  pgkit: the named store
--   tx     pgkit: the writing transaction, so that a live tail reads in commit-safe order (an id is taken at
--          insert but visible at commit, so ids alone would let a reader skip a late-committing event)
CREATE TABLE IF NOT EXISTS ${schema}.persist_events (
  id          bigserial PRIMARY KEY,
  store       text COLLATE "C" NOT NULL,
  stream      text COLLATE "C" NOT NULL,
  payload     jsonb       NOT NULL,
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  tx          xid8        NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS persist_events_stream_idx ON ${schema}.persist_events (store, stream, id);
CREATE INDEX IF NOT EXISTS persist_events_tail_idx ON ${schema}.persist_events (store, stream, tx, id);

-- Sync queue: id, operation, payload, status as in the seed. Every change to a record or a kv entry adds one
-- row in the same statement as the change.
--   store, kind ('record' | 'kv'), key  pgkit: what changed
--   status      'pending' (to push), 'synced', or 'failed' (error and retries say why and how often)
--   source      pgkit: the replica the change came from (this one for local writes, the peer for synced ones)
--   tx          pgkit: the writing transaction, for the commit-safe change feed peers pull from
CREATE TABLE IF NOT EXISTS ${schema}.persist_sync_queue (
  id         bigserial PRIMARY KEY,
  store      text COLLATE "C" NOT NULL,
  kind       text        NOT NULL CHECK (kind IN ('record', 'kv')),
  key        text COLLATE "C" NOT NULL,
  operation  text        NOT NULL CHECK (operation IN ('put', 'delete')),
  payload    jsonb       NOT NULL,
  status     text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'synced', 'failed')),
  error      text,
  retries    integer     NOT NULL DEFAULT 0,
  source     text        NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  synced_at  timestamptz,
  tx         xid8        NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX IF NOT EXISTS persist_sync_queue_unsynced_idx ON ${schema}.persist_sync_queue (store, id) WHERE status <> 'synced';
CREATE INDEX IF NOT EXISTS persist_sync_queue_feed_idx ON ${schema}.persist_sync_queue (store, tx, id);

-- pgkit: the id of each named store in this schema as a sync replica (the origin of its writes).
CREATE TABLE IF NOT EXISTS ${schema}.persist_sync_replicas (
  store      text COLLATE "C" PRIMARY KEY,
  replica_id text        NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- pgkit: sync checkpoints, kept on both sides (a pull's position in the peer's change feed is stored here and
-- copied to the peer; it is used only when both copies agree).
CREATE TABLE IF NOT EXISTS ${schema}.persist_sync_checkpoints (
  store      text COLLATE "C" NOT NULL,
  peer       text        NOT NULL,
  direction  text        NOT NULL CHECK (direction IN ('pulled', 'pulled_by', 'pushed_by')),
  position   text        NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store, peer, direction)
);

-- pgkit: conflicts a sync policy could not decide: the version kept in the table won deterministically,
-- the other is kept here until the application resolves it.
CREATE TABLE IF NOT EXISTS ${schema}.persist_sync_conflicts (
  id          bigserial PRIMARY KEY,
  store       text COLLATE "C" NOT NULL,
  kind        text        NOT NULL,
  key         text COLLATE "C" NOT NULL,
  kept        jsonb,
  other       jsonb,
  other_stamp text        NOT NULL,
  reason      text        NOT NULL,
  detected_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (store, kind, key, other_stamp)
);

-- pgkit: the per-field stamps of a local write (field-merge policy): a changed or new field gets the new stamp,
-- an unchanged one keeps its stamp, a removed one becomes a tombstone [stamp]; "c" is the stamp before which
-- every field was cleared (by a delete or a non-object value).
CREATE OR REPLACE FUNCTION ${schema}.persist_field_stamps(old_value jsonb, old_deleted boolean, old_stamps jsonb,
                                                          old_stamp text, new_value jsonb, new_stamp text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
  -- plpgsql, not sql: its statement's plan is kept by the session instead of being made again at every write
  IF new_value IS NULL THEN
    RETURN NULL;
  END IF;
  IF old_deleted OR old_value IS NULL OR jsonb_typeof(old_value) <> 'object' OR jsonb_typeof(new_value) <> 'object' THEN
    RETURN jsonb_build_object('c', old_stamp);
  END IF;
  RETURN jsonb_build_object('c', old_stamps -> 'c', 'f', (
    SELECT coalesce(jsonb_object_agg(k, s), '{}'::jsonb) FROM (
      SELECT k, CASE
          WHEN new_value ? k AND old_value -> k IS NOT DISTINCT FROM new_value -> k
            THEN coalesce(old_stamps -> 'f' -> k, to_jsonb(old_stamp))
          WHEN new_value ? k THEN to_jsonb(new_stamp)
          WHEN old_value ? k THEN jsonb_build_array(new_stamp)
          ELSE old_stamps -> 'f' -> k
        END AS s
      FROM (SELECT jsonb_object_keys(old_value) UNION SELECT jsonb_object_keys(new_value)
            UNION SELECT jsonb_object_keys(coalesce(old_stamps -> 'f', '{}'::jsonb))) AS keys(k)) per_field
    WHERE s IS NOT NULL));
END
$$;
