package dev.pgkit.store;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;

/**
 * One record's or key-value entry's synced state: what sync reads from one side and writes to the other.
 *
 * @param key         the key
 * @param value       JSON text, null when deleted
 * @param deleted     whether this version is a delete (a tombstone)
 * @param stamp       the write this version is
 * @param parents     stamps of versions this one replaced (newest 16)
 * @param fieldStamps per-field stamps (field-merge policy), JSON text or null
 */
record RowState(String key, String value, boolean deleted, Stamp stamp, List<String> parents, String fieldStamps) {
    static final int MAX_PARENTS = 16;

    /** Reads the {@link StoreSql#stateColumns} starting at column {@code first}; null when the row is absent. */
    static RowState read(String key, ResultSet rs, int first) throws SQLException {
        rs.getObject(first + 2);
        if (rs.wasNull()) {
            return null;
        }
        Array parents = rs.getArray(first + 4);
        List<String> list = parents == null ? List.of() : List.of((String[]) parents.getArray());
        return new RowState(key, rs.getString(first), rs.getBoolean(first + 1), new Stamp(rs.getLong(first + 2), rs.getString(first + 3)),
                list, rs.getString(first + 5));
    }

    boolean descendsFrom(RowState other) {
        return parents.contains(other.stamp.toString());
    }

    /** The parents as a PostgreSQL array literal (stamps hold digits, '@' and the origin's letters, digits and '-'). */
    String parentsLiteral() {
        return "{" + String.join(",", parents.stream().map(p -> "\"" + p + "\"").toList()) + "}";
    }
}
