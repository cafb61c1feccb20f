package dev.pgkit.store;

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
 */
public record StoreOptions(String name, String schema) {
    /** Persist's default schema. */
    public static final String DEFAULT_SCHEMA = "persist";

    /**
     * @throws IllegalArgumentException if the name is null, empty, longer than 1024 characters or holds a
     *                                  control character, or the schema is not a safe identifier
     */
    public StoreOptions {
        Check.key("store name", name);
        dev.pgkit.internal.Identifier.of("store schema", schema);
    }

    /** The store {@code name} in schema {@code persist}. */
    public static StoreOptions named(String name) {
        return new StoreOptions(name, DEFAULT_SCHEMA);
    }

    /** A copy in another schema (Persist's {@code postgres: { schema: "my_app_persist" }}). */
    public StoreOptions withSchema(String schema) {
        return new StoreOptions(name, schema);
    }
}
