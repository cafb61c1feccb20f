package dev.pgkit.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One adapter's schema: its versioned DDL and the privileges its statements need (the schema part of
 * its {@link Component}). Internal to pgkit (not exported).
 *
 * @param name         the adapter's name, as recorded in the version table
 * @param migrations   DDL scripts in version order, starting at 1
 * @param requirements what the runtime role must be able to do
 */
public record SchemaComponent(String name, List<Migration> migrations, List<Requirement> requirements) {

    public SchemaComponent {
        migrations = List.copyOf(migrations);
        requirements = List.copyOf(requirements);
        for (int i = 0; i < migrations.size(); i++) {
            if (migrations.get(i).version() != i + 1) {
                throw new IllegalArgumentException(name + ": migrations must be numbered 1, 2, 3, ... in order");
            }
        }
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
            String qualified = schema.quoted() + "." + object;
            return switch (kind) {
                case TABLE -> "GRANT " + privilege + " ON " + qualified + " TO <role>;";
                case COLUMN -> "GRANT " + privilege + " (" + column + ") ON " + qualified + " TO <role>;";
                case SEQUENCE -> "GRANT " + privilege + " ON SEQUENCE " + qualified + " TO <role>;";
                case SERIAL -> "GRANT USAGE ON SEQUENCE " + schema.quoted() + "." + object + "_" + column + "_seq TO <role>;";
            };
        }
    }
}
