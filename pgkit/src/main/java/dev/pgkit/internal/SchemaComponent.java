package dev.pgkit.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * One adapter's schema: its versioned DDL and the privileges its statements need (the schema part of
 * its {@link Component}). Internal to pgkit (not exported).
 *
 * <p>An adapter whose table names or schema are options (the seeds' {@code eventsTable},
 * {@code tableName}, {@code schema}) declares its tables by their default names and {@link #bind binds}
 * the configured ones: in the DDL, {@code ${default_name}} becomes the configured name quoted and
 * {@code ${default_name:name}} the bare name (for derived index names inside quotes). Each binding whose
 * names differ from the defaults has its own entry in the version table ({@link #versionKey()}).
 *
 * @param name           the adapter's name
 * @param migrations     DDL scripts in version order, starting at 1
 * @param requirements   what the runtime role must be able to do (objects by their bound names)
 * @param schemaOverride the schema of these tables when the adapter has its own (else the {@code Pgkit}'s)
 * @param names          the configured name of each table declared by its default name
 */
public record SchemaComponent(String name, List<Migration> migrations, List<Requirement> requirements,
                              Optional<Identifier> schemaOverride, Map<String, Identifier> names) {

    /** A component with fixed table names in the {@code Pgkit}'s schema. */
    public SchemaComponent(String name, List<Migration> migrations, List<Requirement> requirements) {
        this(name, migrations, requirements, Optional.empty(), Map.of());
    }

    public SchemaComponent {
        migrations = List.copyOf(migrations);
        requirements = List.copyOf(requirements);
        names = java.util.Collections.unmodifiableMap(new TreeMap<>(names)); // sorted: the version key must not change between runs
        Objects.requireNonNull(schemaOverride, "schemaOverride");
        for (int i = 0; i < migrations.size(); i++) {
            if (migrations.get(i).version() != i + 1) {
                throw new IllegalArgumentException(name + ": migrations must be numbered 1, 2, 3, ... in order");
            }
        }
    }

    /**
     * This component with configured names: {@code schema} (null: the {@code Pgkit}'s) and, per default
     * table name, the configured one. The requirements' objects are renamed alike.
     */
    public SchemaComponent bind(Identifier schema, Map<String, Identifier> configured) {
        List<Requirement> renamed = requirements.stream().map(r -> configured.containsKey(r.object())
                ? new Requirement(r.kind(), configured.get(r.object()).name(), r.privilege(), r.column()) : r).toList();
        return new SchemaComponent(name, migrations, renamed, Optional.ofNullable(schema), configured);
    }

    /**
     * The key of this component's versions in the version table: its name, followed by the names that
     * differ from the defaults ({@code persistence[events=journal]}), so each set of tables migrates on its own.
     */
    public String versionKey() {
        String renamed = names.entrySet().stream().filter(e -> !e.getKey().equals(e.getValue().name()))
                .map(e -> e.getKey() + "=" + e.getValue().name()).collect(Collectors.joining(","));
        return renamed.isEmpty() ? name : name + "[" + renamed + "]";
    }

    /** The schema of these tables: the override, else {@code fallback} (the {@code Pgkit}'s). */
    public Identifier schemaOr(Identifier fallback) {
        return schemaOverride.orElse(fallback);
    }

    /** The script of {@code migration} with the schema and the bound table names filled in. */
    public String sql(Migration migration, Identifier schema) {
        String sql = migration.sql(schema);
        for (Map.Entry<String, Identifier> entry : names.entrySet()) {
            sql = sql.replace("${" + entry.getKey() + ":name}", entry.getValue().name())
                    .replace("${" + entry.getKey() + "}", entry.getValue().quoted());
        }
        if (sql.contains("${")) {
            throw new IllegalStateException(name + " migration " + migration.version() + " has a placeholder no name is bound to: "
                    + sql.substring(sql.indexOf("${"), Math.min(sql.length(), sql.indexOf("${") + 40)));
        }
        return sql;
    }

    /** The newest version this build of pgkit knows. */
    public int latestVersion() {
        return migrations.size();
    }

    /**
     * One versioned DDL script, a class-path resource in which {@code ${schema}} stands for the
     * quoted schema name.
     */
    public record Migration(int version, String description, String resource) {
        /** The script with the schema filled in. */
        public String sql(Identifier schema) {
            // Class#getResourceAsStream, not the class loader's: in the dev.pgkit module the scripts' package is
            // encapsulated, and only a lookup from inside the module finds them
            try (InputStream in = SchemaComponent.class.getResourceAsStream("/" + resource)) {
                if (in == null) {
                    throw new IllegalStateException("missing migration resource " + resource);
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("${schema}", schema.quoted());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** A privilege the runtime role needs: on a table, a column, a sequence or a table's serial column. */
    public record Requirement(Kind kind, String object, String privilege, String column) {
        public enum Kind { TABLE, COLUMN, SEQUENCE, SERIAL }

        public static Requirement table(String table, String privilege) {
            return new Requirement(Kind.TABLE, table, privilege, null);
        }

        public static List<Requirement> columns(String table, String privilege, String... columns) {
            return java.util.Arrays.stream(columns).map(c -> new Requirement(Kind.COLUMN, table, privilege, c)).toList();
        }

        public static Requirement sequence(String sequence, String privilege) {
            return new Requirement(Kind.SEQUENCE, sequence, privilege, null);
        }

        /** USAGE on the sequence behind a serial column (identity columns need nothing). */
        public static Requirement serial(String table, String column) {
            return new Requirement(Kind.SERIAL, table, "USAGE", column);
        }

        String describe(Identifier schema) {
            String qualified = schema.name() + "." + object;
            return switch (kind) {
                case TABLE -> privilege + " on table " + qualified;
                case COLUMN -> privilege + " (" + column + ") on table " + qualified;
                case SEQUENCE -> privilege + " on sequence " + qualified;
                case SERIAL -> "USAGE on the sequence of " + qualified + "." + column;
            };
        }

        String grant(Identifier schema) {
            String qualified = schema.qualify(object);
            return switch (kind) {
                case TABLE -> "GRANT " + privilege + " ON " + qualified + " TO <role>;";
                case COLUMN -> "GRANT " + privilege + " (" + column + ") ON " + qualified + " TO <role>;";
                case SEQUENCE -> "GRANT " + privilege + " ON SEQUENCE " + qualified + " TO <role>;";
                case SERIAL -> "GRANT USAGE ON SEQUENCE " + schema.qualify(object + "_" + column + "_seq") + " TO <role>;";
            };
        }
    }
}
