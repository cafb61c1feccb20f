package dev.pgkit.internal;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import org.postgresql.util.PGobject;

/** Binding helpers for values JDBC has no direct setter for. Internal to pgkit (not exported). */
public final class Params {
    private Params() {
    }

    /** Binds JSON text as {@code jsonb} (the server parses it), or SQL NULL for {@code null}. */
    public static void jsonb(PreparedStatement statement, int index, String json) throws SQLException {
        PGobject value = new PGobject(); // typed even when null, so the server never has to guess the parameter's type
        value.setType("jsonb");
        value.setValue(json);
        statement.setObject(index, value);
    }

    /** Binds a {@code bigint} or SQL NULL. */
    public static void nullableLong(PreparedStatement statement, int index, Long value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.BIGINT);
        } else {
            statement.setLong(index, value);
        }
    }

    /** Binds an {@code integer} or SQL NULL. */
    public static void nullableInt(PreparedStatement statement, int index, Integer value) throws SQLException {
        if (value == null) {
            statement.setNull(index, Types.INTEGER);
        } else {
            statement.setInt(index, value);
        }
    }
}
