package dev.pgkit.internal;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * One named housekeeping statement: it deletes at most one batch of garbage rows of one table and
 * skips rows other sessions hold ({@code FOR UPDATE SKIP LOCKED}), so a cleanup never waits for the
 * application, never holds many row locks, and several instances can run it at once. The
 * {@link Housekeeper} repeats it while it deletes full batches. Internal to pgkit (not exported).
 *
 * <p>The statement text names the table as {@code ${table}} (filled in schema-qualified and quoted);
 * its bind parameters are {@link #parameters()} in order, then the batch size, last.
 *
 * @param name       what the cleanup removes, for logs and messages ({@code state.cache.expired})
 * @param table      the table it deletes from
 * @param template   the statement, with {@code ${table}} for the qualified table
 * @param parameters values bound before the batch size
 */
public record Cleanup(String name, String table, String template, List<Object> parameters) {

    public Cleanup {
        Objects.requireNonNull(name, "name");
        Identifier.of("table", table);
        if (!template.contains("${table}")) {
            throw new IllegalArgumentException(name + ": the cleanup statement must name its table as ${table}");
        }
        parameters = List.copyOf(parameters);
    }

    /** Rows whose {@code expires_at} has passed (by the server's clock). */
    public static Cleanup expired(String name, String table) {
        return new Cleanup(name, table, deleteWhere("expires_at <= now()"), List.of());
    }

    /**
     * Rows older than {@code retention} by their {@code timeColumn} (a {@code timestamptz}), for tables that
     * keep what was written for a retention window.
     */
    public static Cleanup olderThan(String name, String table, String timeColumn, Duration retention) {
        if (retention == null || retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException(name + ": retention must be a positive duration, was " + retention);
        }
        String column = Identifier.of("time column", timeColumn).quoted();
        return new Cleanup(name, table, deleteWhere(column + " < now() - ? * interval '1 millisecond'"), List.of(retention.toMillis()));
    }

    /**
     * Rows older than {@code retention} by their {@code timeColumn}, a {@code timestamp} without time zone that
     * holds UTC (the BuilderBot tables' columns, which pgkit writes as {@code now() AT TIME ZONE 'UTC'}): compared
     * in UTC, so the session's TimeZone never shifts the boundary.
     */
    public static Cleanup olderThanUtc(String name, String table, String timeColumn, Duration retention) {
        if (retention == null || retention.isNegative() || retention.isZero()) {
            throw new IllegalArgumentException(name + ": retention must be a positive duration, was " + retention);
        }
        String column = Identifier.of("time column", timeColumn).quoted();
        return new Cleanup(name, table, deleteWhere(column + " < (now() AT TIME ZONE 'UTC') - ? * interval '1 millisecond'"),
                List.of(retention.toMillis()));
    }

    /**
     * Every row of a key beyond its newest {@code keep}, newest by {@code orderColumn}: a snapshot store that
     * keeps the last N snapshots per entity, a capped log.
     */
    public static Cleanup keepNewest(String name, String table, List<String> keyColumns, String orderColumn, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException(name + ": keep must be at least 1, was " + keep);
        }
        if (keyColumns.isEmpty()) {
            throw new IllegalArgumentException(name + ": keepNewest needs at least one key column");
        }
        String keys = keyColumns.stream().map(c -> Identifier.of("key column", c).quoted()).collect(Collectors.joining(", "));
        String order = Identifier.of("order column", orderColumn).quoted();
        return new Cleanup(name, table, deleteRanked("SELECT ranked.ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY " + keys
                + " ORDER BY " + order + " DESC) AS newer FROM ${table}) ranked WHERE ranked.newer > ? LIMIT ?"), List.of(keep));
    }

    /** Deletes up to a batch of the rows matching {@code condition} that no other session holds. */
    private static String deleteWhere(String condition) {
        return "DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE " + condition
                + " LIMIT ? FOR UPDATE SKIP LOCKED))";
    }

    /**
     * Deletes the rows {@code candidates} finds (a query of ctids, ending {@code LIMIT ?}) that no other
     * session holds. The candidates are chosen first and locked second because {@code FOR UPDATE} cannot
     * sit beside a window function; a row updated in between is re-checked by its ctid and skipped.
     */
    private static String deleteRanked(String candidates) {
        return "DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ctid = ANY(ARRAY(" + candidates
                + ")) FOR UPDATE SKIP LOCKED))";
    }

    /** The statement for {@code schema}. */
    public String sql(Identifier schema) {
        return template.replace("${table}", schema.qualify(table));
    }
}
