package dev.pgkit.test;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitBuilder;
import dev.pgkit.testing.TestPostgres;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/** Test helpers: a Pgkit on the run's server in a schema of its own, and plain SQL for assertions. */
public final class Db {
    private Db() {
    }

    /** A Pgkit in a fresh schema, without background housekeeping (tests call cleanup themselves). */
    public static Pgkit pgkit(TestPostgres postgres, String schema) {
        return builder(postgres, schema).build();
    }

    public static PgkitBuilder builder(TestPostgres postgres, String schema) {
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

    /** Where the run's server is, as a JDBC URL without parameters plus the superuser's driver properties. */
    public record Server(String host, int port, String database, Properties superuser) {
        public String jdbcUrl() {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database;
        }

        /** A {@code jdbc:postgresql://} URL for {@code user} (and password), to the server or to {@code port} on loopback. */
        public String urlFor(String user, String password, int viaPort) {
            return "jdbc:postgresql://" + (viaPort > 0 ? "127.0.0.1:" + viaPort : host + ":" + port) + "/" + database
                    + "?user=" + user + (password != null ? "&password=" + password : "");
        }

        /** A direct superuser connection, for setting up roles, schemas and faults. */
        public Connection admin() throws SQLException {
            return DriverManager.getConnection(jdbcUrl(), superuser);
        }
    }

    /** The run's server, parsed from its URL ({@code jdbc:postgresql://} or {@code postgres://}). */
    public static Server server(TestPostgres postgres) {
        String url = postgres.url();
        Properties props = new Properties();
        if (url.startsWith("jdbc:")) {
            Properties parsed = org.postgresql.Driver.parseURL(url, new Properties());
            parsed.stringPropertyNames().stream().filter(n -> !n.startsWith("PG")).forEach(n -> props.setProperty(n, parsed.getProperty(n)));
            return new Server(parsed.getProperty("PGHOST"), Integer.parseInt(parsed.getProperty("PGPORT")), parsed.getProperty("PGDBNAME"), props);
        }
        URI uri = URI.create(url);
        String userInfo = uri.getUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            props.setProperty("user", colon >= 0 ? userInfo.substring(0, colon) : userInfo);
            if (colon >= 0) {
                props.setProperty("password", userInfo.substring(colon + 1));
            }
        }
        return new Server(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 5432, uri.getPath().substring(1), props);
    }

    /** Runs statements as the superuser on a direct connection. */
    public static void admin(TestPostgres postgres, String... statements) {
        try (Connection c = server(postgres).admin(); Statement s = c.createStatement()) {
            for (String sql : statements) {
                s.execute(sql);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(String.join("; ", statements), e);
        }
    }

    /**
     * Waits until {@code count} sessions wait for a lock that session {@code blockerPid} holds, directly
     * or behind another waiter (PostgreSQL's {@code pg_blocking_pids}), and returns their pids.
     *
     * @throws AssertionError if they are not all waiting within 30 s
     */
    public static List<Integer> awaitSessionsBlockedBy(Pgkit pgkit, int blockerPid, int count) {
        String blocked = """
                WITH RECURSIVE blocked(pid) AS (
                  SELECT pid FROM pg_stat_activity WHERE %1$d = ANY (pg_blocking_pids(pid))
                  UNION
                  SELECT a.pid FROM pg_stat_activity a JOIN blocked b ON b.pid = ANY (pg_blocking_pids(a.pid)))
                SELECT b.pid FROM blocked b JOIN pg_stat_activity a USING (pid) WHERE a.wait_event_type = 'Lock' ORDER BY b.pid"""
                .formatted(blockerPid);
        List<Integer> pids = List.of();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            pids = ints(pgkit, blocked);
            if (pids.size() >= count) {
                return pids;
            }
            pause(10);
        }
        throw new AssertionError("expected " + count + " sessions waiting behind session " + blockerPid + ", saw " + pids);
    }

    /**
     * Waits until {@code sql} (a query returning one boolean) is true.
     *
     * @throws AssertionError naming {@code what} if it is not within 30 s
     */
    public static void awaitTrue(Pgkit pgkit, String what, String sql) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (scalar(pgkit, "SELECT CASE WHEN (" + sql + ") THEN 1 ELSE 0 END") == 1) {
                return;
            }
            pause(10);
        }
        throw new AssertionError("timed out after 30 s waiting until " + what);
    }

    /** Runs SQL on a fresh pooled connection and returns the first column of every row as ints. */
    public static List<Integer> ints(Pgkit pgkit, String sql) {
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<Integer> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getInt(1));
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    /** Runs SQL on a fresh pooled connection and returns the first column of every row as longs. */
    public static List<Long> longs(Pgkit pgkit, String sql) {
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            List<Long> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getLong(1));
            }
            return out;
        } catch (SQLException e) {
            throw new IllegalStateException(sql, e);
        }
    }

    private static void pause(long millis) {
        try {
            Thread.sleep(millis); // between polls of the server's state
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while waiting", e);
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
            String schema = pgkit.schema();
            pgkit.close(); // first: its housekeeping must not run against a dropped schema
            admin(TestPostgres.shared(), "DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
    }
}
