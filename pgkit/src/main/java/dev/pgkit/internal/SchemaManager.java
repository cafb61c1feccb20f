package dev.pgkit.internal;

import dev.pgkit.PgkitException;
import dev.pgkit.SchemaNotReadyException;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies each adapter's versioned DDL (once, however many instances start together) and checks a
 * schema that someone else manages. Internal to pgkit (not exported).
 */
public final class SchemaManager {
    private static final Logger log = LoggerFactory.getLogger(SchemaManager.class);
    /** The table recording which version of which adapter is applied. */
    public static final String VERSION_TABLE = "pgkit_schema_version";

    /** How long one DDL statement of a migration may wait for a table lock (not the wait for another instance's migration). */
    static final Duration DDL_LOCK_TIMEOUT = Duration.ofSeconds(60);

    private final Database database;
    private final Identifier schema;
    private final Duration ddlLockTimeout;

    public SchemaManager(Database database, Identifier schema) {
        this(database, schema, DDL_LOCK_TIMEOUT);
    }

    SchemaManager(Database database, Identifier schema, Duration ddlLockTimeout) {
        this.database = database;
        this.schema = schema;
        this.ddlLockTimeout = ddlLockTimeout;
    }

    public Identifier schema() {
        return schema;
    }

    /**
     * Applies the component's missing migrations in one transaction under an advisory lock, so that
     * concurrent instances migrate exactly once; returns what this call applied (usually nothing).
     */
    public List<Migration> migrate(SchemaComponent component) {
        // Up to date: no lock, no DDL, so a runtime role without CREATE starts against a migrated schema.
        if (appliedVersions().getOrDefault(component.versionKey(), 0) >= component.latestVersion()) {
            return List.of();
        }
        try {
            // READ COMMITTED (whatever the default): the version is read after the lock wait, so it sees the migration
            // a concurrent instance committed while this one waited.
            return database.inTransaction("migrate schema " + schema + " for " + component.name(), connection -> {
                String operation = "migrate schema " + schema + " for " + component.name();
                // the wait for another instance's migration is bounded by the transaction's statement timeout
                // (Database.MIN_TRANSACTION_TIMEOUT), not by lock_timeout, which applies to the DDL only: it is set after
                try (PreparedStatement lock = connection.prepareStatement("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))")) {
                    lock.setString(1, "pgkit.migrate." + schema.name());
                    lock.execute();
                }
                try (Statement statement = connection.createStatement()) {
                    statement.execute("SET LOCAL lock_timeout = " + ddlLockTimeout.toMillis());
                }
                // asked first, so that a role without CREATE gets the explanation without an ERROR in the server's log
                if (!exists(connection, "SELECT CASE WHEN n IS NULL THEN has_database_privilege(current_database(), 'CREATE')"
                        + " ELSE has_schema_privilege(n::oid, 'CREATE') END FROM (SELECT to_regnamespace(?) AS n) s", schema.quoted())) {
                    String denied = exists(connection, "SELECT to_regnamespace(?) IS NOT NULL", schema.quoted())
                            ? "permission denied for schema " + schema.name()
                            : "permission denied for database " + connection.getCatalog() + " (schema " + schema.name() + " does not exist)";
                    throw cannotCreate(component, denied, new SQLException(denied + " (checked before any DDL)", "42501"));
                }
                try (Statement statement = connection.createStatement()) {
                    if (!exists(connection, "SELECT to_regnamespace(?) IS NOT NULL", schema.quoted())) {
                        statement.execute("CREATE SCHEMA " + schema.quoted());
                    }
                    if (!exists(connection, "SELECT to_regclass(?) IS NOT NULL", schema.quoted() + "." + VERSION_TABLE)) {
                        statement.execute(versionTableDdl());
                    }
                }
                int applied = appliedVersion(connection, component.versionKey());
                List<Migration> done = new ArrayList<>();
                for (Migration migration : component.migrations()) {
                    if (migration.version() <= applied) {
                        continue;
                    }
                    try (Statement statement = connection.createStatement()) {
                        statement.execute(component.sql(migration, schema));
                        Database.logWarnings(operation, "version " + migration.version(), statement);
                    }
                    try (PreparedStatement record = connection.prepareStatement(recordVersionSql())) {
                        record.setString(1, component.versionKey());
                        record.setInt(2, migration.version());
                        record.setString(3, migration.description());
                        record.executeUpdate();
                    }
                    done.add(migration);
                    log.info("pgkit: applied {} schema version {} ({}) in schema {}", component.versionKey(), migration.version(), migration.description(), schema);
                }
                return done;
            });
        } catch (PgkitException e) {
            if (e.sqlState().filter("42501"::equals).isPresent()) {
                throw cannotCreate(component, e.getCause() != null ? e.getCause().getMessage() : e.getMessage(), e);
            }
            throw e;
        }
    }

    /** The role may not create pgkit's tables (PostgreSQL 15+ grants CREATE on schema public to its owner only). */
    private SchemaNotReadyException cannotCreate(SchemaComponent component, String serverMessage, Throwable e) {
        String problem = "the role may not create pgkit's " + component.name() + " tables in schema " + schema.name()
                + " (" + serverMessage + ")";
        return new SchemaNotReadyException("pgkit cannot create its " + component.name() + " tables in schema " + schema.name()
                + " of " + database.describe() + ": " + serverMessage + " [SQLState 42501]. Since PostgreSQL 15 only the owner"
                + " of schema public, and roles granted CREATE on a schema, may create tables in it.\nFix: run `pgkit migrate`"
                + " (or apply `pgkit schema` output) once as the schema's owner, after which this role starts without CREATE;"
                + " or GRANT CREATE ON SCHEMA " + schema.quoted() + " TO <role>; (for a new schema: GRANT CREATE ON DATABASE"
                + " <database> TO <role>;), or pass autoCreateSchema(false) to only check the schema.", List.of(problem), e);
    }

    /**
     * Checks that the component's tables and sequences exist and that the current role holds every
     * privilege its statements need.
     *
     * @throws SchemaNotReadyException listing what is missing and how to fix it
     */
    public void verify(SchemaComponent component) {
        List<Requirement> requirements = component.requirements();
        List<String> problems = database.withConnection("verify schema " + schema + " for " + component.name(), true, connection -> {
            String sql = """
                    SELECT r.ord, CASE
                      WHEN to_regclass(r.obj) IS NULL THEN 'missing'
                      WHEN r.kind IN ('COLUMN', 'SERIAL') AND NOT EXISTS (
                        SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = to_regclass(r.obj) AND a.attname = r.col AND a.attnum > 0 AND NOT a.attisdropped)
                        THEN 'missing column'
                      WHEN r.kind = 'TABLE' THEN has_table_privilege(r.obj, r.priv)::text
                      WHEN r.kind = 'COLUMN' THEN has_column_privilege(r.obj, r.col, r.priv)::text
                      WHEN r.kind = 'SEQUENCE' THEN has_sequence_privilege(r.obj, r.priv)::text
                      ELSE (pg_get_serial_sequence(r.obj, r.col) IS NULL
                            OR has_sequence_privilege(pg_get_serial_sequence(r.obj, r.col), 'USAGE'))::text
                    END
                    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS r(kind, obj, priv, col, ord)
                    ORDER BY r.ord""";
            try (PreparedStatement statement = connection.prepareStatement(sql)) {
                statement.setArray(1, textArray(connection, requirements.stream().map(r -> r.kind().name()).toList()));
                statement.setArray(2, textArray(connection, requirements.stream().map(r -> schema.qualify(r.object())).toList()));
                statement.setArray(3, textArray(connection, requirements.stream().map(Requirement::privilege).toList()));
                statement.setArray(4, textArray(connection, requirements.stream().map(Requirement::column).toList()));
                List<String> found = new ArrayList<>();
                java.util.Set<String> missingObjects = new java.util.LinkedHashSet<>();
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        Requirement requirement = requirements.get(rs.getInt(1) - 1);
                        String verdict = rs.getString(2);
                        if ("missing".equals(verdict)) {
                            String kind = requirement.kind() == Requirement.Kind.SEQUENCE ? "sequence " : "table ";
                            if (missingObjects.add(requirement.object())) {
                                found.add(kind + schema.name() + "." + requirement.object() + " does not exist");
                            }
                        } else if ("missing column".equals(verdict)) {
                            if (missingObjects.add(requirement.object() + "." + requirement.column())) {
                                found.add("column " + schema.name() + "." + requirement.object() + "." + requirement.column() + " does not exist");
                            }
                        } else if (!"true".equals(verdict)) {
                            found.add("the role lacks " + requirement.describe(schema) + " (" + requirement.grant(schema) + ")");
                        }
                    }
                }
                return found;
            }
        });
        if (!problems.isEmpty()) {
            String message = "pgkit's " + component.name() + " schema is not ready in schema " + schema + " of " + database.describe()
                    + ":\n  - " + String.join("\n  - ", problems)
                    + "\nFix: run `pgkit migrate` (or apply `pgkit schema` output) as a role that may create tables, grant the "
                    + "runtime role the privileges listed, or enable autoCreateSchema.";
            throw new SchemaNotReadyException(message, problems, null);
        }
    }

    /** The full DDL of a component for DBAs and Flyway/Liquibase users, version bookkeeping included. */
    public String ddl(SchemaComponent component) {
        StringBuilder out = new StringBuilder();
        out.append("-- pgkit ").append(component.name()).append(" schema, version ").append(component.latestVersion())
                .append(", in schema ").append(schema.name()).append('\n');
        out.append("CREATE SCHEMA IF NOT EXISTS ").append(schema.quoted()).append(";\n");
        out.append(versionTableDdl()).append(";\n");
        for (Migration migration : component.migrations()) {
            out.append("\n-- version ").append(migration.version()).append(": ").append(migration.description()).append('\n');
            out.append(component.sql(migration, schema).strip()).append('\n');
            out.append("INSERT INTO ").append(schema.quoted()).append('.').append(VERSION_TABLE)
                    .append(" (component, version, description) VALUES ('").append(component.versionKey()).append("', ")
                    .append(migration.version()).append(", '").append(migration.description().replace("'", "''"))
                    .append("') ON CONFLICT DO NOTHING;\n");
        }
        return out.toString();
    }

    /** The applied version of every component recorded in this schema (empty before the first migration). */
    public Map<String, Integer> appliedVersions() {
        return database.withConnection("read schema versions in " + schema, true, connection -> {
            Map<String, Integer> versions = new LinkedHashMap<>();
            try (PreparedStatement exists = connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
                exists.setString(1, schema.quoted() + "." + VERSION_TABLE);
                try (ResultSet rs = exists.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return versions;
                    }
                }
            }
            try (Statement statement = connection.createStatement();
                 ResultSet rs = statement.executeQuery("SELECT component, max(version) FROM " + schema.quoted() + "." + VERSION_TABLE
                         + " GROUP BY component ORDER BY component")) {
                while (rs.next()) {
                    versions.put(rs.getString(1), rs.getInt(2));
                }
            }
            return versions;
        });
    }

    private static boolean exists(Connection connection, String sql, String name) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, name);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return rs.getBoolean(1);
            }
        }
    }

    private int appliedVersion(Connection connection, String component) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(
                "SELECT coalesce(max(version), 0) FROM " + schema.quoted() + "." + VERSION_TABLE + " WHERE component = ?")) {
            statement.setString(1, component);
            try (ResultSet rs = statement.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private String versionTableDdl() {
        return "CREATE TABLE IF NOT EXISTS " + schema.quoted() + "." + VERSION_TABLE + """
                 (
                  component   text        NOT NULL,
                  version     integer     NOT NULL,
                  description text        NOT NULL,
                  applied_at  timestamptz NOT NULL DEFAULT now(),
                  PRIMARY KEY (component, version)
                )""";
    }

    private String recordVersionSql() {
        return "INSERT INTO " + schema.quoted() + "." + VERSION_TABLE + " (component, version, description) VALUES (?, ?, ?)";
    }

    private static Array textArray(Connection connection, List<String> values) throws SQLException {
        return connection.createArrayOf("text", values.toArray());
    }
}
