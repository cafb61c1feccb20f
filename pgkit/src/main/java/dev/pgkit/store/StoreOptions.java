package dev.pgkit.store;

import java.time.Duration;
import java.util.Optional;

/**
 * Options of a named {@link Store}. The connection is the {@code Pgkit}'s own configuration (a store borrows its
 * pool), so Persist's connection options are set on {@link dev.pgkit.PgkitBuilder}: {@code connectionString} is
 * {@code url}; {@code host}, {@code port}, {@code database} are {@code host}, {@code port}, {@code database};
 * {@code user} and {@code password} are {@code credentials}; {@code ssl: {rejectUnauthorized: true}} is
 * {@code sslMode("verify-full")} (with {@code sslRootCert}); {@code poolSize}, {@code idleTimeout} and
 * {@code connectionTimeout} are {@code poolSize}, {@code idleTimeout} and {@code connectTimeout}.
 *
 * @param name   the store's name ({@code "analytics"}); stores with different names in one schema never see
 *               each other's data
 * @param schema the schema holding the store's tables (default {@code persist}, as Persist's adapter)
 * @param tombstoneRetention how long the store keeps a delete's tombstone and a synced queue entry (empty: as recorded
 *               by the last open that set it, else 30 days); a peer that syncs less often than this may miss a delete
 */
public record StoreOptions(String name, String schema, Optional<Duration> tombstoneRetention) {
    /** Persist's default schema. */
    public static final String DEFAULT_SCHEMA = "persist";
    /** The retention of a store that never set one. */
    public static final Duration DEFAULT_RETENTION = Duration.ofDays(30);
    /** The shortest retention accepted (shorter is surely a unit mistake, and would drop deletes peers have not pulled). */
    public static final Duration MIN_RETENTION = Duration.ofHours(1);
    /** The longest retention accepted. */
    public static final Duration MAX_RETENTION = Duration.ofDays(3650);

    /**
     * @throws IllegalArgumentException if the name is null, empty, longer than 1024 characters or holds a
     *                                  control character, or the schema is not a safe identifier
     */
    public StoreOptions {
        Check.key("store name", name);
        dev.pgkit.internal.Identifier.of("store schema", schema);
        dev.pgkit.internal.Checks.notNull("tombstoneRetention", tombstoneRetention);
        tombstoneRetention.ifPresent(retention -> {
            if (retention.compareTo(MIN_RETENTION) < 0 || retention.compareTo(MAX_RETENTION) > 0) {
                throw new IllegalArgumentException("tombstoneRetention must be between " + MIN_RETENTION + " and " + MAX_RETENTION
                        + ", was " + retention);
            }
        });
    }

    /** The store {@code name} in {@code schema}, keeping the retention it has. */
    public StoreOptions(String name, String schema) {
        this(name, schema, Optional.empty());
    }

    /** The store {@code name} in schema {@code persist}. */
    public static StoreOptions named(String name) {
        return new StoreOptions(name, DEFAULT_SCHEMA);
    }

    /** A copy in another schema (Persist's {@code postgres: { schema: "my_app_persist" }}). */
    public StoreOptions withSchema(String schema) {
        return new StoreOptions(name, schema, tombstoneRetention);
    }

    /**
     * A copy that sets the store's retention of tombstones and synced queue entries (recorded in the database when
     * the store is opened, so that every process's cleanup, {@code pgkit cleanup} included, keeps it).
     */
    public StoreOptions withTombstoneRetention(Duration retention) {
        dev.pgkit.internal.Checks.notNull("tombstoneRetention", retention);
        return new StoreOptions(name, schema, Optional.of(retention));
    }
}
