package dev.pgkit.internal;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/** Counts the rows of the adapters' {@link StatusTable}s, for {@code pgkit status}. Internal to pgkit (not exported). */
public final class StatusTables {
    /**
     * One counted table.
     *
     * @param component the adapter owning it
     * @param table     the table
     * @param exists    whether the table exists in the schema
     * @param rows      its rows (0 when it does not exist)
     * @param garbage   rows cleanup will delete, for tables it cleans
     */
    public record Count(String component, String table, boolean exists, long rows, OptionalLong garbage) {
    }

    private StatusTables() {
    }

    /** Counts every status table of {@code components} in {@code schema}, scanning each table once. */
    public static List<Count> count(Database database, Identifier schema, List<Component> components) {
        return database.withConnection("count pgkit's tables in " + schema, true, connection -> {
            List<Count> counts = new ArrayList<>();
            for (Component component : components) {
                for (StatusTable table : component.statusTables()) {
                    String qualified = component.schema().schemaOr(schema).qualify(table.table());
                    try (PreparedStatement exists = connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
                        exists.setString(1, qualified);
                        try (ResultSet rs = exists.executeQuery()) {
                            rs.next();
                            if (!rs.getBoolean(1)) {
                                counts.add(new Count(component.name(), table.table(), false, 0, OptionalLong.empty()));
                                continue;
                            }
                        }
                    }
                    String garbage = table.garbageWhen().map(condition -> "count(*) FILTER (WHERE " + condition + ")").orElse("NULL::bigint");
                    try (PreparedStatement count = connection.prepareStatement("SELECT count(*), " + garbage + " FROM " + qualified);
                         ResultSet rs = count.executeQuery()) {
                        rs.next();
                        long rows = rs.getLong(1);
                        long found = rs.getLong(2);
                        counts.add(new Count(component.name(), table.table(), true, rows,
                                rs.wasNull() ? OptionalLong.empty() : OptionalLong.of(found)));
                    }
                }
            }
            return counts;
        });
    }
}
