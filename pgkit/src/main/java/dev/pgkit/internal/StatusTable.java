package dev.pgkit.internal;

import java.util.Optional;

/**
 * A table {@code pgkit status} counts: its rows and, for a table housekeeping cleans, how many of them are
 * garbage now. Internal to pgkit (not exported).
 *
 * @param table       the table
 * @param garbageWhen the condition (SQL over the table's columns) of the rows cleanup will delete, if any
 */
public record StatusTable(String table, Optional<String> garbageWhen) {

    public StatusTable {
        Identifier.of("table", table);
    }

    /** A table whose rows stay until the application deletes them. */
    public static StatusTable kept(String table) {
        return new StatusTable(table, Optional.empty());
    }

    /** A table with an {@code expires_at} column whose past rows are garbage. */
    public static StatusTable expiring(String table) {
        return new StatusTable(table, Optional.of("expires_at <= now()"));
    }
}
