package dev.pgkit.test;

import dev.pgkit.Pgkit;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** Test helpers: a Pgkit on the run's server in a schema of its own, and plain SQL for assertions. */
public final class Db {
    private Db() {
    }

    /** A Pgkit in a fresh schema, without background housekeeping (tests call cleanup themselves). */
    public static Pgkit pgkit(TestPostgres postgres, String schema) {
        return builder(postgres, schema).build();
    }

    public static Pgkit.Builder builder(TestPostgres postgres, String schema) {
        return Pgkit.builder().url(postgres.url()).schema(schema).poolSize(8).disableHousekeeping();
    }

    /** Runs SQL on a fresh pooled connection and returns the first column of the first row as a long (or -1). */
    public static long scalar(Pgkit pgkit, String sql) {
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            return rs.next() ? rs.getLong(1) : -1;
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    public static void execute(Pgkit pgkit, String sql) {
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** The same server's URL as another role (the test servers trust local connections). */
    public static String withUser(String url, String user) {
        if (url.startsWith("jdbc:")) {
            return url.contains("user=") ? url.replaceFirst("user=[^&]*", "user=" + user)
                    : url + (url.contains("?") ? "&" : "?") + "user=" + user;
        }
        return url.replaceFirst("^(postgres(ql)?://)([^@/]*@)?", "$1" + user + "@");
    }

    /** Drops the test's schema and closes the Pgkit. */
    public static void dropAndClose(Pgkit pgkit) {
        if (pgkit != null) {
            execute(pgkit, "DROP SCHEMA IF EXISTS \"" + pgkit.schema() + "\" CASCADE");
            pgkit.close();
        }
    }
}
