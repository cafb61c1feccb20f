-- pgkit: how long each store keeps its delete tombstones and synced queue entries, recorded when a store is opened
-- with a retention (StoreOptions.withTombstoneRetention); NULL: 30 days. The cleanups read it, so `pgkit cleanup`
-- keeps each store's own retention.
ALTER TABLE ${schema}.persist_sync_replicas ADD COLUMN IF NOT EXISTS retention_ms bigint CHECK (retention_ms > 0);
