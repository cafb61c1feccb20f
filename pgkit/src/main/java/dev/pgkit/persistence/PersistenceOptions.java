package dev.pgkit.persistence;

import dev.pgkit.internal.Identifier;
import java.util.Optional;

/**
 * Options of a {@link Persistence}: the table names and snapshot retention of actor-ts's PostgreSQL backend
 * (seed 004), with its defaults, so that a Java service and an actor-ts node configured alike share the tables.
 *
 * <p>Table names come from configuration and are validated as safe identifiers (letters, digits and
 * underscores, not starting with a digit), as the Node backend validates them. pgkit adds tables of its own
 * whose names derive from {@code eventsTable} ({@code <eventsTable>_streams}) and indexes named after the
 * tags table, so those derived names must fit PostgreSQL's 63-byte limit too.
 *
 * @param eventsTable      the journal's table (default {@code events})
 * @param tagsTable        the mirrored tags table; empty means {@code <eventsTable>_tags}, the Node default
 * @param snapshotsTable   the snapshot table (default {@code snapshots})
 * @param keepN            snapshots kept per persistence id, newest by sequence number (default 3); zero or
 *                         less keeps all, as in actor-ts
 * @param table            the durable state table (default {@code durable_state})
 * @param autoCreateTables whether pgkit creates (and migrates) the tables on first use (default true); when
 *                         false it only checks that they exist with the privileges its statements need
 */
public record PersistenceOptions(String eventsTable, Optional<String> tagsTable, String snapshotsTable, int keepN, String table,
                                 boolean autoCreateTables) {
    /** The longest suffix pgkit appends to a configured name for its own objects. */
    static final String STREAMS_SUFFIX = "_streams";
    static final String TAGS_ORDER_SUFFIX = "_order_idx";

    /** @throws IllegalArgumentException naming the option whose value is not a safe identifier */
    public PersistenceOptions {
        if (tagsTable == null) {
            throw new IllegalArgumentException("tagsTable must not be null (use Optional.empty() for <eventsTable>_tags)");
        }
        check("eventsTable", eventsTable, STREAMS_SUFFIX);
        check("eventsTable", eventsTable, "_tags" + TAGS_ORDER_SUFFIX);
        tagsTable.ifPresent(t -> check("tagsTable", t, TAGS_ORDER_SUFFIX));
        check("snapshotsTable", snapshotsTable, "");
        check("table", table, "");
    }

    /** actor-ts's defaults: {@code events}, {@code events_tags}, {@code snapshots} keeping 3 per id, {@code durable_state}, auto-create on. */
    public static PersistenceOptions defaults() {
        return new PersistenceOptions("events", Optional.empty(), "snapshots", 3, "durable_state", true);
    }

    /** A copy with another events table (the tags table follows it unless set). */
    public PersistenceOptions withEventsTable(String eventsTable) {
        return new PersistenceOptions(eventsTable, tagsTable, snapshotsTable, keepN, table, autoCreateTables);
    }

    /** A copy with another tags table. */
    public PersistenceOptions withTagsTable(String tagsTable) {
        return new PersistenceOptions(eventsTable, Optional.ofNullable(tagsTable), snapshotsTable, keepN, table, autoCreateTables);
    }

    /** A copy with another snapshots table. */
    public PersistenceOptions withSnapshotsTable(String snapshotsTable) {
        return new PersistenceOptions(eventsTable, tagsTable, snapshotsTable, keepN, table, autoCreateTables);
    }

    /** A copy keeping {@code keepN} snapshots per persistence id (zero or less: all). */
    public PersistenceOptions withKeepN(int keepN) {
        return new PersistenceOptions(eventsTable, tagsTable, snapshotsTable, keepN, table, autoCreateTables);
    }

    /** A copy with another durable state table. */
    public PersistenceOptions withTable(String table) {
        return new PersistenceOptions(eventsTable, tagsTable, snapshotsTable, keepN, table, autoCreateTables);
    }

    /** A copy that creates the tables on first use, or only checks them. */
    public PersistenceOptions withAutoCreateTables(boolean autoCreateTables) {
        return new PersistenceOptions(eventsTable, tagsTable, snapshotsTable, keepN, table, autoCreateTables);
    }

    /** The tags table: as configured, else {@code <eventsTable>_tags}. */
    public String effectiveTagsTable() {
        return tagsTable.orElse(eventsTable + "_tags");
    }

    /** Whether every snapshot is kept ({@code keepN <= 0}). */
    public boolean keepsAllSnapshots() {
        return keepN <= 0;
    }

    /** pgkit's own table remembering each stream's highest sequence number (so deleted numbers are never reused). */
    String streamsTable() {
        return eventsTable + STREAMS_SUFFIX;
    }

    String tagsOrderIndex() {
        return effectiveTagsTable() + TAGS_ORDER_SUFFIX;
    }

    private static void check(String option, String name, String suffix) {
        Identifier.of(option, name);
        if (!suffix.isEmpty()) {
            Identifier.of(option + " '" + name + "' plus pgkit's suffix " + suffix, name + suffix);
        }
    }
}
