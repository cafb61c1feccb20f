package dev.pgkit.store;

import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.LogPresence;
import dev.pgkit.internal.Sql;

/**
 * Every statement the store adapter sends, in one place. Records and key-value entries share their
 * layout (and so their sync statements); {@link Table} holds the statements of one of them.
 */
final class StoreSql {
    /** A row's stamp as text, {@code micros@origin}, in a statement on table alias {@code a}. */
    static String stamp(String a) {
        return "((extract(epoch FROM " + a + ".updated_at) * 1000000)::bigint::text || '@' || " + a + ".origin)";
    }

    /** The columns sync reads of a row, in {@link RowState#read} order. */
    static String stateColumns(String a) {
        return a + ".value::text, " + a + ".deleted, (extract(epoch FROM " + a + ".updated_at) * 1000000)::bigint, " + a + ".origin, "
                + a + ".parents, " + a + ".field_stamps::text";
    }

    final Identifier schema;
    final Table records;
    final Table kv;
    final String queue;
    final String events;
    final String replicas;
    final String checkpoints;
    final String conflictsTable;

    final Sql replicaId;
    final Sql queueEntries;
    final Sql queueCounts;
    final Sql conflicts;
    final Sql conflictDismiss;
    final Sql checkpointRead;
    final Sql checkpointWrite;
    final Sql pushBatch;
    final Sql pushMarkFailed;
    final Sql conflictInsert;
    final Sql eventAppend;
    final Sql eventRead;
    final Sql eventLatest;

    /**
     * The change feed a peer pulls, read through the commit-safe ordered-log reader: queue entries in
     * {@code (tx, id)} order with their source (entries that came from the puller are read too, and skipped by it,
     * so that its checkpoint moves past them). Filter parameter: the store.
     */
    OrderedLogSource feed() {
        return new OrderedLogSource("q.source, q.kind, q.key", queue + " q", "q.store = ?", "q.tx", "q.id");
    }

    /** The events of one stream of one store, for the ordered-log reader. Filter parameters: store, stream. */
    OrderedLogSource eventLog() {
        return new OrderedLogSource("e.id, e.stream, e.payload::text, e.\"timestamp\"", events + " e", "e.store = ? AND e.stream = ?", "e.tx", "e.id");
    }

    /** The parts of an {@code OrderedLog.Source}. */
    record OrderedLogSource(String select, String from, String filter, String txColumn, String seqColumn) {
        dev.pgkit.internal.OrderedLog.Source source() {
            return new dev.pgkit.internal.OrderedLog.Source(select, from, filter, txColumn, seqColumn);
        }
    }

    StoreSql(Identifier schema) {
        this.schema = schema;
        String s = schema.quoted();
        this.queue = s + ".persist_sync_queue";
        this.events = s + ".persist_events";
        this.replicas = s + ".persist_sync_replicas";
        this.checkpoints = s + ".persist_sync_checkpoints";
        this.conflictsTable = s + ".persist_sync_conflicts";
        this.records = new Table("record", s, s + ".persist_records", queue);
        this.kv = new Table("kv", s, s + ".persist_kv", queue);

        // the store's replica id (created on first open) and, when given, its retention
        replicaId = Sql.idempotentWrite("store.replicaId", """
                INSERT INTO %1$s AS r (store, replica_id, retention_ms) VALUES (?, ?, ?) ON CONFLICT (store) DO UPDATE
                SET retention_ms = coalesce(EXCLUDED.retention_ms, r.retention_ms) RETURNING r.replica_id""".formatted(replicas));
        queueEntries = Sql.read("store.queue.entries", """
                SELECT id, kind, key, operation, status, error, retries, created_at, synced_at FROM %s
                WHERE store = ? AND (?::text IS NULL OR status = ?) AND id > ? ORDER BY id LIMIT ?""".formatted(queue));
        queueCounts = Sql.read("store.queue.counts", """
                SELECT count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE status = 'synced'),
                       count(*) FILTER (WHERE status = 'failed') FROM %s WHERE store = ?""".formatted(queue));
        conflicts = Sql.read("store.conflicts", """
                SELECT id, kind, key, kept::text, other::text, other_stamp, reason, detected_at FROM %s
                WHERE store = ? AND id > ? ORDER BY id LIMIT ?""".formatted(conflictsTable));
        conflictDismiss = Sql.idempotentWrite("store.conflicts.dismiss",
                "DELETE FROM %s WHERE store = ? AND id = ?".formatted(conflictsTable));
        checkpointRead = Sql.read("store.sync.checkpoint.read",
                "SELECT position FROM %s WHERE store = ? AND peer = ? AND direction = ?".formatted(checkpoints));
        checkpointWrite = Sql.idempotentWrite("store.sync.checkpoint.write", """
                INSERT INTO %s AS c (store, peer, direction, position) VALUES (?, ?, ?, ?)
                ON CONFLICT (store, peer, direction) DO UPDATE SET position = EXCLUDED.position, updated_at = now()""".formatted(checkpoints));
        // marks the entries of the batch pushed before as synced (null: none), and reads the unsynced entries after ?
        // with the current state of what each changed (the state is what is pushed); the read does not see the marks,
        // which are all at or below ?
        pushBatch = Sql.idempotentWrite("store.sync.pushBatch", """
                WITH m AS (
                  UPDATE %1$s SET status = 'synced', synced_at = now(), error = NULL
                  WHERE store = ? AND id = ANY(?::bigint[]) AND status <> 'synced')
                SELECT q.id, q.kind, q.key, st.* FROM (
                  SELECT id, store, kind, key FROM %1$s WHERE store = ? AND status <> 'synced' AND id > ? ORDER BY id LIMIT ?) q
                LEFT JOIN LATERAL (
                  SELECT %4$s FROM %2$s r WHERE q.kind = 'record' AND r.store = q.store AND r.key = q.key
                  UNION ALL
                  SELECT %5$s FROM %3$s k WHERE q.kind = 'kv' AND k.store = q.store AND k.key = q.key) st ON true
                ORDER BY q.id""".formatted(queue, records.table, kv.table, stateColumns("r"), stateColumns("k")));
        pushMarkFailed = Sql.write("store.sync.markFailed", """
                UPDATE %s SET status = 'failed', error = ?, retries = retries + 1
                WHERE store = ? AND id = ANY(?::bigint[]) AND status <> 'synced'""".formatted(queue));
        conflictInsert = Sql.idempotentWrite("store.sync.conflicts.insert", """
                INSERT INTO %s (store, kind, key, kept, other, other_stamp, reason)
                SELECT ?, ?, c.key, c.kept::jsonb, c.other::jsonb, c.other_stamp, c.reason
                FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[]) AS c(key, kept, other, other_stamp, reason)
                ON CONFLICT (store, kind, key, other_stamp) DO NOTHING""".formatted(conflictsTable));
        // NOTIFYs the store's channel only while a tail of it runs (LogPresence). The session picks the presence
        // shard: concurrent appenders are different sessions, so they seldom find each other's shard lock.
        eventAppend = Sql.write("store.events.append", """
                WITH e AS (INSERT INTO %s (store, stream, payload) VALUES (?, ?, ?::jsonb) RETURNING id, "timestamp"),
                p AS (SELECT ?::text AS channel)
                SELECT e.id, e."timestamp", %s FROM e, p""".formatted(events, LogPresence.notifySql("p.channel", "pg_backend_pid()")));
        eventRead = Sql.read("store.events.read", """
                SELECT id, payload::text, "timestamp", tx::text FROM %s WHERE store = ? AND stream = ? AND id >= ? ORDER BY id LIMIT ?"""
                .formatted(events));
        eventLatest = Sql.read("store.events.latest", """
                SELECT tx::text, id FROM %s WHERE store = ? AND stream = ? ORDER BY tx DESC, id DESC LIMIT 1""".formatted(events));
    }

    /** The statements of one of the two synced tables ({@code persist_records} or {@code persist_kv}). */
    static final class Table {
        final String kind;
        final String table;
        final Sql get;
        final Sql put;
        final Sql putNew;
        final Sql putIfVersion;
        final Sql delete;
        final Sql deleteIfVersion;
        final Sql currentVersion;
        final Sql list;
        final Sql contains;
        final Sql search;
        final Sql lockStates;
        final Sql states;
        final Sql applyStates;

        Table(String kind, String schema, String table, String queue) {
            this.kind = kind;
            this.table = table;
            String newStamp = "greatest(clock_timestamp(), r.updated_at + interval '1 microsecond')";
            String newStampText = "((extract(epoch FROM " + newStamp + ") * 1000000)::bigint::text || '@' || p.origin)";
            String keepParents = "(r.parents || " + stamp("r") + ")[greatest(1, cardinality(r.parents) - 14):]";
            String queueInsert = """
                    , q AS (INSERT INTO %s (store, kind, key, operation, payload, source)
                            SELECT p.store, '%s', w.key, w.op, jsonb_build_object('version', w.version, 'stamp', w.stamp), p.origin FROM w, p)
                    SELECT w.version, w.updated_at FROM w""".formatted(queue, kind);
            String returning = "RETURNING r.key, r.version, r.updated_at, " + stamp("r") + " AS stamp, ";
            String params = "WITH p AS (SELECT ?::text AS store, ?::text AS key, ?::jsonb AS value, ?::text AS origin, ?::bigint AS expected)\n";
            String upsert = """
                    , w AS (
                      INSERT INTO %1$s AS r (store, key, value, version, updated_at, origin)
                      SELECT p.store, p.key, p.value, 1, clock_timestamp(), p.origin FROM p
                      ON CONFLICT (store, key) DO UPDATE SET
                        value = EXCLUDED.value, version = r.version + 1, deleted = false,
                        updated_at = %2$s, origin = EXCLUDED.origin, parents = %3$s,
                        field_stamps = %4$s.persist_field_stamps(r.value, r.deleted, r.field_stamps, %5$s, EXCLUDED.value,
                            ((extract(epoch FROM %2$s) * 1000000)::bigint::text || '@' || EXCLUDED.origin))
                      %%s
                      %6$s 'put'::text AS op)
                    """.formatted(table, newStamp, keepParents, schema, stamp("r"), returning);
            get = Sql.read("store." + kind + ".get",
                    "SELECT value::text, version, updated_at FROM " + table + " WHERE store = ? AND key = ? AND NOT deleted");
            put = Sql.write("store." + kind + ".put", params + upsert.formatted("") + queueInsert);
            // expected version 0: absent, or deleted
            putNew = Sql.write("store." + kind + ".putNew", params + upsert.formatted("WHERE r.deleted") + queueInsert);
            putIfVersion = Sql.write("store." + kind + ".putIfVersion", params + """
                    , w AS (
                      UPDATE %1$s AS r SET value = p.value, version = r.version + 1, deleted = false,
                        updated_at = %2$s, origin = p.origin, parents = %3$s,
                        field_stamps = %4$s.persist_field_stamps(r.value, r.deleted, r.field_stamps, %5$s, p.value, %6$s)
                      FROM p WHERE r.store = p.store AND r.key = p.key AND NOT r.deleted AND r.version = p.expected
                      %7$s 'put'::text AS op)
                    """.formatted(table, newStamp, keepParents, schema, stamp("r"), newStampText, returning) + queueInsert);
            String deleteSql = params + """
                    , w AS (
                      UPDATE %1$s AS r SET value = NULL, version = r.version + 1, deleted = true,
                        updated_at = %2$s, origin = p.origin, parents = %3$s, field_stamps = NULL
                      FROM p WHERE r.store = p.store AND r.key = p.key AND NOT r.deleted AND (p.expected IS NULL OR r.version = p.expected)
                      %4$s 'delete'::text AS op)
                    """.formatted(table, newStamp, keepParents, returning) + queueInsert;
            delete = Sql.write("store." + kind + ".delete", deleteSql);
            deleteIfVersion = Sql.write("store." + kind + ".deleteIfVersion", deleteSql);
            currentVersion = Sql.read("store." + kind + ".currentVersion",
                    "SELECT CASE WHEN deleted THEN 0 ELSE version END FROM " + table + " WHERE store = ? AND key = ?");
            // key >= prefix AND key < upper bound: an index range of the primary key (byte order, COLLATE "C")
            list = Sql.read("store." + kind + ".list", """
                    SELECT key, value::text, version, updated_at FROM %s
                    WHERE store = ? AND key >= ? AND (?::text IS NULL OR key < ?) AND key > ? AND NOT deleted
                    ORDER BY key LIMIT ?""".formatted(table));
            contains = Sql.read("store." + kind + ".contains", """
                    SELECT key, value::text, version, updated_at FROM %s
                    WHERE store = ? AND value @> ?::jsonb AND key > ? AND NOT deleted ORDER BY key LIMIT ?""".formatted(table));
            search = Sql.read("store." + kind + ".search", """
                    SELECT key, value::text, version, updated_at FROM %s
                    WHERE store = ? AND jsonb_to_tsvector('simple'::regconfig, value, '["string"]'::jsonb) @@ websearch_to_tsquery('simple', ?)
                      AND key > ? AND NOT deleted ORDER BY key LIMIT ?""".formatted(table));
            states = Sql.read("store.sync." + kind + ".states", """
                    SELECT key, %s FROM %s r WHERE store = ? AND key = ANY(?::text[])""".formatted(stateColumns("r"), table));
            lockStates = Sql.read("store.sync." + kind + ".lock", """
                    SELECT key, %s FROM %s r WHERE store = ? AND key = ANY(?::text[]) ORDER BY key FOR UPDATE"""
                    .formatted(stateColumns("r"), table));
            // writes resolved states, keeping the writing server's stamp (updated_at, origin); version is local. Rows read
            // (and locked) before are updated; absent ones inserted unless a concurrent writer inserted the key meanwhile,
            // which the count returned shows (the caller then repeats the batch)
            String micros = "timestamptz 'epoch' + n.micros * interval '1 microsecond'";
            applyStates = Sql.write("store.sync." + kind + ".apply", """
                    WITH n AS (
                      SELECT * FROM unnest(?::text[], ?::text[], ?::boolean[], ?::bigint[], ?::text[], ?::text[], ?::text[],
                                           ?::boolean[], ?::text[], ?::text[])
                        AS n(key, value, deleted, micros, origin, parents, field_stamps, existed, status, source)),
                    u AS (
                      UPDATE %1$s AS r SET value = n.value::jsonb, version = r.version + 1, updated_at = %5$s, deleted = n.deleted,
                        origin = n.origin, parents = n.parents::text[], field_stamps = n.field_stamps::jsonb
                      FROM n WHERE n.existed AND r.store = ? AND r.key = n.key
                      RETURNING r.key, r.version, r.deleted, %3$s AS stamp),
                    i AS (
                      INSERT INTO %1$s AS r (store, key, value, version, updated_at, deleted, origin, parents, field_stamps)
                      SELECT ?, n.key, n.value::jsonb, 1, %5$s, n.deleted, n.origin, n.parents::text[], n.field_stamps::jsonb
                      FROM n WHERE NOT n.existed
                      ON CONFLICT (store, key) DO NOTHING
                      RETURNING r.key, r.version, r.deleted, %3$s AS stamp),
                    w AS (SELECT * FROM u UNION ALL SELECT * FROM i),
                    q AS (
                      INSERT INTO %2$s (store, kind, key, operation, payload, status, source, synced_at)
                      SELECT ?, '%4$s', w.key, CASE WHEN w.deleted THEN 'delete' ELSE 'put' END,
                             jsonb_build_object('version', w.version, 'stamp', w.stamp), n.status, n.source,
                             CASE WHEN n.status = 'synced' THEN now() END
                      FROM w JOIN n ON n.key = w.key)
                    SELECT count(*) FROM w"""
                    .formatted(table, queue, stamp("r"), kind, micros));
        }
    }
}
