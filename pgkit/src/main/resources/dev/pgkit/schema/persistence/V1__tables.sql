-- The tables of actor-ts's PostgreSQL backend (seed 004), column for column, so that an actor-ts node and
-- a Java service can share them (IF NOT EXISTS: either side may have created them first).
CREATE TABLE IF NOT EXISTS ${schema}.${events} (
  persistence_id TEXT NOT NULL,
  sequence_nr BIGINT NOT NULL,
  payload TEXT NOT NULL,
  tags TEXT,
  timestamp BIGINT NOT NULL,
  PRIMARY KEY (persistence_id, sequence_nr)
);
CREATE TABLE IF NOT EXISTS ${schema}.${events_tags} (
  persistence_id TEXT NOT NULL,
  sequence_nr BIGINT NOT NULL,
  tag TEXT NOT NULL,
  timestamp BIGINT NOT NULL,
  PRIMARY KEY (tag, timestamp, persistence_id, sequence_nr)
);
CREATE TABLE IF NOT EXISTS ${schema}.${snapshots} (
  persistence_id TEXT NOT NULL,
  sequence_nr BIGINT NOT NULL,
  payload TEXT NOT NULL,
  timestamp BIGINT NOT NULL,
  PRIMARY KEY (persistence_id, sequence_nr)
);
CREATE TABLE IF NOT EXISTS ${schema}.${durable_state} (
  persistence_id TEXT PRIMARY KEY,
  revision BIGINT NOT NULL,
  payload TEXT NOT NULL,
  timestamp BIGINT NOT NULL
);
