package dev.pgkit.internal;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What one adapter contributes to a {@code Pgkit}: its schema (versioned DDL and the privileges its
 * statements need), the cleanup statements housekeeping runs, and the tables {@code pgkit status}
 * counts. Each adapter declares one and registers it with the {@link AdapterRegistry}. Internal to
 * pgkit (not exported).
 *
 * @param schema       versioned DDL and privilege requirements
 * @param cleanups     what housekeeping and {@code pgkit cleanup} delete, in order
 * @param statusTables what {@code pgkit status} counts, in order
 */
public record Component(SchemaComponent schema, List<Cleanup> cleanups, List<StatusTable> statusTables) {

    public Component {
        cleanups = List.copyOf(cleanups);
        statusTables = List.copyOf(statusTables);
        Set<String> names = new HashSet<>();
        for (Cleanup cleanup : cleanups) {
            if (!names.add(cleanup.name())) {
                throw new IllegalArgumentException(schema.name() + ": two cleanups are named " + cleanup.name());
            }
        }
    }

    /** The adapter's name ({@code state}). */
    public String name() {
        return schema.name();
    }

    /** Which tables these are: the adapter's name, plus its configured table names where they differ from the defaults. */
    public String key() {
        return schema.versionKey();
    }
}
