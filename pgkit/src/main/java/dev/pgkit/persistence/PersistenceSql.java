package dev.pgkit.persistence;

import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.LogPresence;
import dev.pgkit.internal.OrderedLog;
import dev.pgkit.internal.Sql;

/**
 * Every statement the persistence adapter sends, for its configured tables. Epoch-millisecond timestamps come
 * from the server's clock ({@code now()}), as one clock for every node; each statement is one round trip.
 */
final class PersistenceSql {
    /** The server clock in epoch milliseconds, actor-ts's {@code timestamp} format. */
    private static final String NOW_MS = "floor(extract(epoch FROM now()) * 1000)::bigint";

    final String events;
    final String tags;
    final String snapshots;
    final String state;
    final String streams;

    // ---------------------------------------------------------------- journal
    final Sql append;
    final Sql read;
    final Sql highest;
    final Sql deleteTo;
    final Sql persistenceIds;
    // ---------------------------------------------------------------- queries (read by the foundation's OrderedLog)
    /** The columns both queries read, in {@code PersistenceQueries}' row order. */
    private static final String QUERY_COLUMNS = "e.persistence_id, e.sequence_nr, e.payload, e.tags, e.timestamp";
    /** Events by tag, in the tags table's commit-safe {@code (tx, seq)} order; binds the tag. */
    final OrderedLog.Source byTag;
    /**
     * One stream's events in sequence order; binds the id and the last number delivered (so each read is a range scan of
     * the primary key). One stream needs no horizon (see {@code PersistenceQueries}): the transaction part of its
     * position is the constant 0.
     */
    final OrderedLog.Source byPersistenceId;
    // ---------------------------------------------------------------- snapshots
    final Sql snapshotSave;
    final Sql snapshotLoad;
    final Sql snapshotDelete;
    final Sql snapshotDeleteMatching;
    // ---------------------------------------------------------------- durable state
    final Sql stateUpsert;
    final Sql stateLoad;
    final Sql stateDelete;
    final Sql stateRevision;

    PersistenceSql(Identifier schema, PersistenceOptions options) {
        events = qualified(schema, "eventsTable", options.eventsTable());
        tags = qualified(schema, "tagsTable", options.effectiveTagsTable());
        snapshots = qualified(schema, "snapshotsTable", options.snapshotsTable());
        state = qualified(schema, "table", options.table());
        streams = qualified(schema, "eventsTable", options.streamsTable());

        // Optimistic concurrency by design: the stream's row in the streams table is claimed with a compare-and-set
        // (ON CONFLICT DO UPDATE ... WHERE locks the row, waits for a concurrent appender and re-checks its latest
        // version), so of two writers expecting the same number exactly one inserts. The head also counts events a
        // Node writer (which never touches the streams table) appended; a Node writer racing with pgkit is caught by
        // the primary key. The NOTIFY wakes live queries, in the appending transaction, and only while one runs
        // (LogPresence: the stream's id picks the presence shard).
        append = Sql.write("persistence.append", """
                WITH p AS (
                  SELECT ?::text AS pid, ?::bigint AS expected, ?::bigint AS n, ?::text[] AS payloads, ?::text[] AS csv,
                         ?::bigint[] AS tag_ord, ?::text[] AS tag_names, ?::text AS channel, %3$s AS ms
                ), head AS (
                  SELECT greatest(
                    (SELECT coalesce(max(e.sequence_nr), 0) FROM %1$s e WHERE e.persistence_id = (SELECT pid FROM p)),
                    (SELECT coalesce(max(s.highest_sequence_nr), 0) FROM %2$s s WHERE s.persistence_id = (SELECT pid FROM p))) AS highest
                ), claim AS (
                  INSERT INTO %2$s AS s (persistence_id, highest_sequence_nr)
                  SELECT p.pid, p.expected + p.n FROM p, head WHERE head.highest = p.expected
                  ON CONFLICT (persistence_id) DO UPDATE SET highest_sequence_nr = EXCLUDED.highest_sequence_nr
                    WHERE s.highest_sequence_nr <= (SELECT expected FROM p)
                  RETURNING s.highest_sequence_nr
                ), written AS (
                  INSERT INTO %1$s (persistence_id, sequence_nr, payload, tags, timestamp)
                  SELECT p.pid, p.expected + e.ord, e.payload, e.csv, p.ms
                  FROM p, unnest(p.payloads, p.csv) WITH ORDINALITY AS e(payload, csv, ord)
                  WHERE EXISTS (SELECT 1 FROM claim)
                  RETURNING 1
                ), tagged AS (
                  INSERT INTO %4$s (persistence_id, sequence_nr, tag, timestamp)
                  SELECT p.pid, p.expected + t.ord, t.tag, p.ms
                  FROM p, unnest(p.tag_ord, p.tag_names) AS t(ord, tag)
                  WHERE EXISTS (SELECT 1 FROM claim)
                  RETURNING 1
                )
                SELECT (SELECT highest_sequence_nr FROM claim), (SELECT highest FROM head), (SELECT count(*) FROM written),
                       (SELECT count(*) FROM tagged), (SELECT %5$s FROM claim, p)"""
                .formatted(events, streams, NOW_MS, tags, LogPresence.notifySql("p.channel", "p.pid")));

        read = Sql.read("persistence.read", """
                SELECT sequence_nr, payload, tags, timestamp FROM %s
                WHERE persistence_id = ? AND sequence_nr >= ? AND sequence_nr <= ?
                ORDER BY sequence_nr LIMIT ?""".formatted(events));

        highest = Sql.read("persistence.highestSequenceNr", """
                SELECT greatest(
                  (SELECT coalesce(max(sequence_nr), 0) FROM %1$s WHERE persistence_id = ?),
                  (SELECT coalesce(max(highest_sequence_nr), 0) FROM %2$s WHERE persistence_id = ?))""".formatted(events, streams));

        // The highest number is remembered in the streams table before the events go, so it is never reused. Tag rows
        // go with their events, found by the tags table's own primary key (tag, timestamp, id, number) from the
        // deleted events' CSV tags and timestamp.
        deleteTo = Sql.idempotentWrite("persistence.deleteTo", """
                WITH p AS (SELECT ?::text AS pid, ?::bigint AS upto),
                remembered AS (
                  INSERT INTO %2$s AS s (persistence_id, highest_sequence_nr)
                  SELECT p.pid, max(e.sequence_nr) FROM p JOIN %1$s e ON e.persistence_id = p.pid GROUP BY p.pid
                  ON CONFLICT (persistence_id) DO UPDATE
                    SET highest_sequence_nr = greatest(s.highest_sequence_nr, EXCLUDED.highest_sequence_nr)
                  RETURNING 1
                ), gone AS (
                  DELETE FROM %1$s e USING p WHERE e.persistence_id = p.pid AND e.sequence_nr <= p.upto
                  RETURNING e.persistence_id, e.sequence_nr, e.tags, e.timestamp
                ), gone_tags AS (
                  DELETE FROM %3$s t USING gone g, unnest(string_to_array(g.tags, ',')) AS tag(name)
                  WHERE t.tag = tag.name AND t.timestamp = g.timestamp AND t.persistence_id = g.persistence_id
                    AND t.sequence_nr = g.sequence_nr
                  RETURNING 1
                )
                SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM gone_tags), (SELECT count(*) FROM remembered)"""
                .formatted(events, streams, tags));

        byTag = new OrderedLog.Source(QUERY_COLUMNS,
                tags + " t JOIN " + events + " e ON e.persistence_id = t.persistence_id AND e.sequence_nr = t.sequence_nr",
                "t.tag = ?", "t.tx", "t.seq");
        byPersistenceId = new OrderedLog.Source(QUERY_COLUMNS, events + " e", "e.persistence_id = ? AND e.sequence_nr > ?", "'0'::xid8",
                "e.sequence_nr");

        persistenceIds = Sql.read("persistence.persistenceIds", """
                SELECT persistence_id FROM (
                  SELECT persistence_id FROM %1$s WHERE persistence_id > ?
                  UNION SELECT persistence_id FROM %2$s WHERE persistence_id > ?) ids
                ORDER BY persistence_id LIMIT ?""".formatted(events, streams));

        // Keep the newest keepN per persistence id, the one saved included: older rows of that id go in the same
        // statement (one id's rows, by its primary key; never a window over the whole table). A snapshot older than
        // the keepN newest is not stored at all. keep <= 0 keeps every snapshot.
        snapshotSave = Sql.idempotentWrite("persistence.snapshot.save", """
                WITH p AS (SELECT ?::text AS pid, ?::bigint AS seq, ?::text AS payload, ?::int AS keep, %2$s AS ms),
                threshold AS (
                  SELECT coalesce((
                    SELECT u.seq FROM (
                      SELECT n.sequence_nr AS seq FROM %1$s n WHERE n.persistence_id = (SELECT pid FROM p)
                      UNION SELECT seq FROM p) u
                    ORDER BY u.seq DESC OFFSET greatest((SELECT keep FROM p) - 1, 0) LIMIT 1), -1) AS lowest_kept
                  FROM p WHERE p.keep > 0
                ), saved AS (
                  INSERT INTO %1$s AS n (persistence_id, sequence_nr, payload, timestamp)
                  SELECT p.pid, p.seq, p.payload, p.ms FROM p
                  WHERE p.seq >= coalesce((SELECT lowest_kept FROM threshold), -1)
                  ON CONFLICT (persistence_id, sequence_nr) DO UPDATE SET payload = EXCLUDED.payload, timestamp = EXCLUDED.timestamp
                  RETURNING n.timestamp
                ), pruned AS (
                  DELETE FROM %1$s n USING p, threshold
                  WHERE n.persistence_id = p.pid AND n.sequence_nr < threshold.lowest_kept
                  RETURNING 1
                )
                SELECT (SELECT timestamp FROM saved), (SELECT ms FROM p), (SELECT count(*) FROM pruned)"""
                .formatted(snapshots, NOW_MS));

        snapshotLoad = Sql.read("persistence.snapshot.load", """
                SELECT sequence_nr, payload, timestamp FROM %s
                WHERE persistence_id = ? AND sequence_nr >= ? AND sequence_nr <= ? AND timestamp >= ? AND timestamp <= ?
                ORDER BY sequence_nr DESC LIMIT 1""".formatted(snapshots));

        snapshotDelete = Sql.idempotentWrite("persistence.snapshot.delete", """
                DELETE FROM %s WHERE persistence_id = ? AND sequence_nr = ?""".formatted(snapshots));

        snapshotDeleteMatching = Sql.idempotentWrite("persistence.snapshot.deleteMatching", """
                DELETE FROM %s
                WHERE persistence_id = ? AND sequence_nr >= ? AND sequence_nr <= ? AND timestamp >= ? AND timestamp <= ?"""
                .formatted(snapshots));

        // Revision compare-and-set in one statement: revision 0 creates (a concurrent creator wins, this one inserts
        // nothing), a positive revision updates only that revision (UPDATE re-checks the row's latest version after
        // waiting for a concurrent writer). The third column is the current revision as of the statement's snapshot,
        // for the conflict's message; a row committed during the statement is re-read by the caller.
        stateUpsert = Sql.write("persistence.state.upsert", """
                WITH p AS (SELECT ?::text AS pid, ?::bigint AS expected, ?::text AS payload, %2$s AS ms),
                created AS (
                  INSERT INTO %1$s (persistence_id, revision, payload, timestamp)
                  SELECT p.pid, 1, p.payload, p.ms FROM p WHERE p.expected = 0
                  ON CONFLICT (persistence_id) DO NOTHING
                  RETURNING revision
                ), updated AS (
                  UPDATE %1$s d SET revision = d.revision + 1, payload = p.payload, timestamp = p.ms
                  FROM p WHERE p.expected > 0 AND d.persistence_id = p.pid AND d.revision = p.expected
                  RETURNING d.revision
                )
                SELECT coalesce((SELECT revision FROM created), (SELECT revision FROM updated)),
                       (SELECT d.revision FROM %1$s d WHERE d.persistence_id = (SELECT pid FROM p))""".formatted(state, NOW_MS));

        stateLoad = Sql.read("persistence.state.load", """
                SELECT revision, payload, timestamp FROM %s WHERE persistence_id = ?""".formatted(state));

        stateRevision = Sql.read("persistence.state.revision", """
                SELECT revision FROM %s WHERE persistence_id = ?""".formatted(state));

        stateDelete = Sql.idempotentWrite("persistence.state.delete", """
                DELETE FROM %s WHERE persistence_id = ?""".formatted(state));
    }

    private static String qualified(Identifier schema, String option, String table) {
        return schema.quoted() + "." + Identifier.of(option, table).quoted();
    }
}
