package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.ConcurrencyConflictException;
import dev.pgkit.OutcomeUnknownException;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import dev.pgkit.PgkitTimeoutException;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The statement runner on its own: which failures are repeated, how each is reported, what a
 * connection looks like when it goes back to the pool, and that server warnings are logged.
 */
@ExtendWith(PostgresExtension.class)
class DatabaseTest {
    static TestPostgres postgres;
    static String table;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        table = TestPostgres.uniqueName("database_test");
        Db.admin(postgres, "CREATE TABLE " + table + " (id text PRIMARY KEY, body jsonb)");
    }

    @AfterAll
    static void tearDown() {
        Db.admin(postgres, "DROP TABLE " + table);
    }

    /** A pool of the test server's superuser. */
    static HikariDataSource pool(int size, Consumer<HikariConfig> tweak) {
        Db.Server server = Db.server(postgres);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(server.jdbcUrl());
        config.setDataSourceProperties(server.superuser());
        // no log suppression: each test declares the server messages it provokes
        config.setMaximumPoolSize(size);
        tweak.accept(config);
        return new HikariDataSource(config);
    }

    static Database database(HikariDataSource pool) {
        return new Database(pool, "test server", Timeouts.of(Duration.ofSeconds(30)), false);
    }

    static int selectOne(Database database) {
        return database.query(Sql.read("test.selectOne", "SELECT 1"), null, s -> { }, rs -> {
            rs.next();
            return rs.getInt(1);
        });
    }

    @Test
    void serializationFailuresAreRepeatedForEveryStatement() {
        try (HikariDataSource pool = pool(1, c -> { })) {
            Database database = database(pool);
            AtomicInteger attempts = new AtomicInteger();
            int result = database.withConnection("test.notSafe", false, connection -> {
                if (attempts.incrementAndGet() < 3) {
                    throw new SQLException("could not serialize access", attempts.get() == 1 ? "40001" : "40P01");
                }
                return 7;
            });
            assertThat(result).isEqualTo(7);
            assertThat(attempts.get()).isEqualTo(3);
            assertThat(database.retries()).isEqualTo(2);
        }
    }

    @Test
    void aLostConnectionRepeatsOnlyWhatIsSafeToRepeat() {
        try (HikariDataSource pool = pool(2, c -> { })) {
            Database database = database(pool);
            AtomicInteger unsafeAttempts = new AtomicInteger();
            assertThatThrownBy(() -> database.withConnection("test.enqueue", false, connection -> {
                unsafeAttempts.incrementAndGet();
                throw new SQLException("terminating connection due to administrator command", "57P01");
            })).isInstanceOf(OutcomeUnknownException.class)
                    .hasMessageContaining("test.enqueue: the connection to PostgreSQL at test server broke after the statement was sent")
                    .hasMessageContaining("may or may not have been applied");
            assertThat(unsafeAttempts.get()).as("a write that is not safe to repeat runs once").isEqualTo(1);

            AtomicInteger safeAttempts = new AtomicInteger();
            int result = database.withConnection("test.read", true, connection -> {
                if (safeAttempts.incrementAndGet() == 1) {
                    throw new SQLException("An I/O error occurred while sending to the backend.", "08006");
                }
                return 1;
            });
            assertThat(result).isEqualTo(1);
            assertThat(safeAttempts.get()).isEqualTo(2);

            AtomicInteger safeGivingUp = new AtomicInteger();
            assertThatThrownBy(() -> database.withConnection("test.read", true, connection -> {
                safeGivingUp.incrementAndGet();
                throw new SQLException("An I/O error occurred while sending to the backend.", "08006");
            })).isExactlyInstanceOf(PgkitConnectionException.class).hasMessageContaining("lost the connection");
            assertThat(safeGivingUp.get()).isEqualTo(Database.MAX_CONNECTION_ATTEMPTS);
        }
    }

    @Test
    void aConnectionGoneBeforeSendingIsRepeatedEvenForUnsafeWrites() {
        try (HikariDataSource pool = pool(2, c -> { })) {
            Database database = database(pool);
            for (String state : new String[] {"08003", "57P05"}) {
                AtomicInteger attempts = new AtomicInteger();
                int result = database.withConnection("test.enqueue", false, connection -> {
                    if (attempts.incrementAndGet() == 1) {
                        throw new SQLException("the session was already gone", state);
                    }
                    return 1;
                });
                assertThat(result).as(state).isEqualTo(1);
                assertThat(attempts.get()).as(state).isEqualTo(2);
            }
        }
    }

    @Test
    @ExpectServerLog("duplicate key value violates unique constraint") // provoked on purpose
    void eachFailureHasItsException() {
        try (HikariDataSource pool = pool(1, c -> { })) {
            Database database = database(pool);
            assertThatThrownBy(() -> database.withConnection("test.slow", true, c -> {
                throw new SQLException("canceling statement due to statement timeout", "57014");
            })).isInstanceOf(PgkitTimeoutException.class).hasMessageContaining("nothing was applied");

            Sql insert = Sql.write("test.insert", "INSERT INTO " + table + " (id) VALUES (?)");
            database.update(insert, "a", s -> s.setString(1, "conflict"));
            assertThatThrownBy(() -> database.update(insert.conflictOn(table + "_pkey"), "a", s -> s.setString(1, "conflict")))
                    .isInstanceOf(ConcurrencyConflictException.class)
                    .hasMessageContaining("test.insert(a): another writer got there first")
                    .satisfies(e -> assertThat(((ConcurrencyConflictException) e).constraint()).isEqualTo(table + "_pkey"));
            assertThatThrownBy(() -> database.update(insert, "a", s -> s.setString(1, "conflict")))
                    .isExactlyInstanceOf(PgkitException.class)
                    .satisfies(e -> assertThat(((PgkitException) e).sqlState()).contains("23505"));
        }
    }

    @Test
    @ExpectServerLog("division by zero") // provoked on purpose
    void aBatchThatFailsInsideItsTransactionIsRolledBackBeforeTheConnectionGoesBack() {
        try (HikariDataSource pool = pool(1, c -> { })) {
            Database database = database(pool);
            assertThatThrownBy(() -> database.query(Sql.write("test.batch", "BEGIN; SELECT 1/0; COMMIT"), null, s -> { }, rs -> null))
                    .isInstanceOf(PgkitException.class).hasMessageContaining("division by zero");
            // the pool's only connection: had the aborted transaction stayed open, this would fail with 25P02
            assertThat(selectOne(database)).isEqualTo(1);
        }
    }

    @Test
    void aCallersTransactionalConnectionRunsPgkitStatementsInAutocommitAndGoesBackAsItCame() throws Exception {
        try (HikariDataSource pool = pool(1, c -> c.setAutoCommit(false))) {
            Database database = database(pool);
            String logged = capturingLog(() -> database.query(Sql.write("test.batch",
                    "BEGIN ISOLATION LEVEL READ COMMITTED; INSERT INTO " + table + " (id) VALUES ('batched') RETURNING id; COMMIT"),
                    null, s -> { }, rs -> null));
            assertThat(logged).as("no 'there is already a transaction in progress'").doesNotContain("WARNING");
            database.update(Sql.write("test.insert", "INSERT INTO " + table + " (id) VALUES ('single')"), null, s -> { });
            try (Connection c = pool.getConnection()) {
                assertThat(c.getAutoCommit()).as("autocommit restored").isFalse();
            }
            assertThat(countRows("id IN ('batched', 'single')")).as("committed, seen from another connection").isEqualTo(2);
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command") // the test terminates the backend
    void afterALostConnectionAnUnrepeatableStatementChecksItsConnectionFirst() throws Exception {
        try (HikariDataSource pool = pool(1, c -> { }); Connection admin = Db.server(postgres).admin()) {
            Database database = database(pool);
            int pid = database.query(Sql.read("test.pid", "SELECT pg_backend_pid()"), null, s -> { }, rs -> {
                rs.next();
                return rs.getInt(1);
            });
            // a restart or failover: the pooled connection dies while idle, and HikariCP, having used it in the
            // last 500 ms, will hand it out again unchecked
            try (Statement terminate = admin.createStatement()) {
                terminate.execute("SELECT pg_terminate_backend(" + pid + ", 5000)"); // returns once it is gone
            }
            database.connectionTrouble(); // what the listener reports when the same event cuts it
            String id = TestPostgres.uniqueName("after_loss");
            database.update(Sql.write("test.insert", "INSERT INTO " + table + " (id) VALUES (?)"), id, s -> s.setString(1, id));
            int rows = database.query(Sql.read("test.count", "SELECT count(*) FROM " + table + " WHERE id = ?"), id,
                    s -> s.setString(1, id), rs -> {
                        rs.next();
                        return rs.getInt(1);
                    });
            assertThat(rows).as("sent once, on a live connection, not reported as 'outcome unknown'").isEqualTo(1);
        }
    }

    @Test
    @ExpectServerLog("pgkit-test: something is off") // raised on purpose; seen as a session notice against PGKIT_TEST_URL
    void serverWarningsAreLoggedWithTheOperation() throws Exception {
        try (HikariDataSource pool = pool(1, c -> { })) {
            Database database = database(pool);
            String logged = capturingLog(() -> database.query(Sql.read("test.warns",
                    "DO $$ BEGIN RAISE WARNING 'pgkit-test: something is off'; END $$; SELECT 1"), "key-1", s -> { }, rs -> null));
            assertThat(logged).contains("pgkit test.warns(key-1): PostgreSQL WARNING: pgkit-test: something is off");
        }
    }

    @Test
    void anExhaustedPoolSaysSo() throws Exception {
        try (HikariDataSource pool = pool(1, c -> c.setConnectionTimeout(250));
             Connection held = pool.getConnection()) {
            assertThat(held.isValid(1)).as("the only connection, held by the test").isTrue();
            assertThatThrownBy(() -> selectOne(database(pool)))
                    .isInstanceOf(PgkitConnectionException.class)
                    .hasMessageContaining("the connection pool is exhausted: all 1 connections")
                    .hasMessageContaining("acquireTimeout (250 ms)")
                    .hasMessageNotContaining("lost");
        }
    }

    @Test
    void aClosedDatabaseSaysThisPgkitIsClosed() {
        try (HikariDataSource pool = pool(1, c -> { })) {
            Database database = database(pool);
            database.close();
            assertThatThrownBy(() -> selectOne(database)).isInstanceOf(IllegalStateException.class)
                    .hasMessageStartingWith("this Pgkit is closed");
        }
    }

    @Test
    void jsonIsBoundAsJsonb() {
        try (HikariDataSource pool = pool(1, c -> { })) {
            Database database = database(pool);
            String type = database.query(Sql.read("test.jsonb", "SELECT pg_typeof(?)::text || ':' || coalesce(jsonb_typeof(?), 'null')"), null, s -> {
                Params.jsonb(s, 1, "{\"a\": [1, 2]}");
                Params.jsonb(s, 2, "{\"a\": [1, 2]}");
            }, rs -> {
                rs.next();
                return rs.getString(1);
            });
            assertThat(type).isEqualTo("jsonb:object");
            boolean isNull = database.query(Sql.read("test.jsonb", "SELECT ? IS NULL"), null, s -> Params.jsonb(s, 1, null), rs -> {
                rs.next();
                return rs.getBoolean(1);
            });
            assertThat(isNull).isTrue();
        }
    }

    /**
     * On a pool whose connections default to SERIALIZABLE, each single statement runs in its own READ
     * COMMITTED transaction: an upsert that waited for a concurrent writer's row lock goes on with the
     * committed row instead of failing with 40001 (which the server would log as an ERROR before the retry).
     */
    @Test
    @ExpectServerLog({"duplicate key value violates unique constraint", "division by zero"}) // provoked on purpose
    void onAStricterPoolEachStatementRunsInItsOwnReadCommittedTransaction() throws Exception {
        try (HikariDataSource pool = pool(2, c -> c.setTransactionIsolation("TRANSACTION_SERIALIZABLE"));
             Connection holder = Db.server(postgres).admin()) {
            Database database = new Database(pool, "test server", Timeouts.of(Duration.ofSeconds(30)), false, true);
            String isolation = database.query(Sql.read("test.isolation", "SELECT current_setting('transaction_isolation')"), null,
                    s -> { }, rs -> {
                        rs.next();
                        return rs.getString(1);
                    });
            assertThat(isolation).isEqualTo("read committed");
            assertThat(database.update(Sql.write("test.insertMany", "INSERT INTO " + table
                    + " (id) SELECT 'rc-' || i FROM generate_series(1, 3) i;"), null, s -> { }))
                    .as("the statement's own update count, not BEGIN's or COMMIT's").isEqualTo(3);

            Db.admin(postgres, "INSERT INTO " + table + " (id, body) VALUES ('contended', '{\"by\": \"setup\"}')");
            holder.setAutoCommit(false);
            try (var s = holder.createStatement()) {
                s.execute("UPDATE " + table + " SET body = '{\"by\": \"holder\"}' WHERE id = 'contended'");
            }
            Sql upsert = Sql.idempotentWrite("test.upsert", "INSERT INTO " + table + " (id, body) VALUES ('contended', '{\"by\": \"pgkit\"}')"
                    + " ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body");
            var upserted = java.util.concurrent.CompletableFuture.supplyAsync(() -> database.update(upsert, null, s -> { }));
            awaitLockWait("ON CONFLICT");
            holder.commit();
            assertThat(upserted.get(30, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo(1);
            assertThat(database.retries()).as("no serialization failure, so no retry").isZero();
            assertThat(countRows("id = 'contended' AND body->>'by' = 'pgkit'")).isEqualTo(1);

            // a statement that fails inside its wrapper leaves an aborted transaction, rolled back before the connection goes back
            Sql insert = Sql.write("test.insert", "INSERT INTO " + table + " (id) VALUES ('contended')");
            assertThatThrownBy(() -> database.update(insert, null, s -> { })).isInstanceOf(PgkitException.class)
                    .satisfies(e -> assertThat(((PgkitException) e).sqlState()).contains("23505"));
            assertThatThrownBy(() -> database.query(Sql.read("test.fails", "SELECT 1/0"), null, s -> { }, rs -> null))
                    .hasMessageContaining("division by zero");
            for (int i = 0; i < 2; i++) { // both connections of the pool
                assertThat(selectOne(database)).isEqualTo(1);
            }
        }
    }

    /** The caller's pool is probed once: only a pool whose default is not READ COMMITTED gets the wrapped statements. */
    @Test
    void aCallersPoolIsWrappedOnlyWhenItsDefaultIsNotReadCommitted() {
        Connector connector = new Connector(new Connector.Options(java.util.Optional.empty(), java.util.Optional.empty(),
                java.util.Optional.empty(), 2, Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(30)));
        try (HikariDataSource readCommitted = pool(1, c -> { });
             HikariDataSource repeatableRead = pool(1, c -> {
                 c.setTransactionIsolation("TRANSACTION_REPEATABLE_READ");
                 c.setAutoCommit(false);
             })) {
            assertThat(connector.callersPool(readCommitted, java.util.Optional.empty()).database().readCommittedPerStatement()).isFalse();
            assertThat(connector.callersPool(repeatableRead, java.util.Optional.empty()).database().readCommittedPerStatement()).isTrue();
        }
    }

    static void awaitLockWait(String queryFragment) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Connection c = Db.server(postgres).admin(); var s = c.prepareStatement("SELECT count(*) FROM pg_stat_activity"
                    + " WHERE wait_event_type = 'Lock' AND query LIKE '%' || ? || '%' AND query LIKE '%' || ? || '%'")) {
                s.setString(1, table);
                s.setString(2, queryFragment);
                try (var rs = s.executeQuery()) {
                    rs.next();
                    if (rs.getInt(1) > 0) {
                        return;
                    }
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no session waits for a lock in a statement containing " + queryFragment);
            }
            Thread.sleep(10);
        }
    }

    static long countRows(String where) {
        try (Connection c = Db.server(postgres).admin(); var s = c.createStatement(); var rs = s.executeQuery(
                "SELECT count(*) FROM " + table + " WHERE " + where)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** What pgkit logged (slf4j-simple writes to System.err) while {@code body} ran. */
    static String capturingLog(Runnable body) {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            System.setErr(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }
}
