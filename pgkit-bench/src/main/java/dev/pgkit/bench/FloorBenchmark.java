package dev.pgkit.bench;

import dev.pgkit.Pgkit;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The PostgreSQL floor: the single statements pgkit's get and writes are compared with, on one
 * dedicated connection per thread, without pgkit or a pool.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 5)
@Fork(1)
public class FloorBenchmark {
    private static final AtomicInteger NEXT = new AtomicInteger();

    @State(Scope.Thread)
    public static class Session {
        Pgkit pgkit;
        Connection connection;
        PreparedStatement select;
        PreparedStatement upsert;

        @Setup(Level.Trial)
        public void open() throws SQLException {
            pgkit = BenchServer.pgkit(1);
            pgkit.migrate();
            String cache = "\"" + BenchServer.SCHEMA + "\".chat_state_cache";
            String key = "floor" + NEXT.incrementAndGet();
            connection = java.sql.DriverManager.getConnection(((com.zaxxer.hikari.HikariDataSource) pgkit.dataSource()).getJdbcUrl(),
                    ((com.zaxxer.hikari.HikariDataSource) pgkit.dataSource()).getDataSourceProperties());
            upsert = connection.prepareStatement("INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at)"
                    + " VALUES ('jmh-floor', ?, '\"v\"', now() + interval '1 hour')"
                    + " ON CONFLICT (key_prefix, cache_key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at");
            upsert.setString(1, key);
            upsert.executeUpdate();
            select = connection.prepareStatement("SELECT value FROM " + cache + " WHERE key_prefix = 'jmh-floor' AND cache_key = ?");
            select.setString(1, key);
        }

        @TearDown(Level.Trial)
        public void close() throws SQLException {
            connection.close();
            pgkit.close();
        }
    }

    @Benchmark
    public boolean selectByPrimaryKey(Session session) throws SQLException {
        try (ResultSet rs = session.select.executeQuery()) {
            return rs.next();
        }
    }

    @Benchmark
    public int upsertOneRow(Session session) throws SQLException {
        return session.upsert.executeUpdate();
    }
}
