package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.OutcomeUnknownException;
import dev.pgkit.Pgkit;
import dev.pgkit.PgkitTimeoutException;
import dev.pgkit.test.Db;
import dev.pgkit.test.TcpProxy;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every call is bounded: a connection the server stopped answering on (a proxy that stops forwarding
 * without closing, as after a failover without a reset) fails the call within statementTimeout plus a
 * small margin, on pgkit's pool and on a caller's; the server cancels a statement that runs too long.
 * Both recover once the network does.
 */
@ExtendWith(PostgresExtension.class)
class StateTimeoutTest {
    /** With a 1 s statement timeout the client gives up after 3 s (1 s + the 2 s margin). */
    static final Duration STATEMENT_TIMEOUT = Duration.ofSeconds(1);
    static final long SOCKET_TIMEOUT_MILLIS = 3_000;
    static TestPostgres postgres;
    static String schema;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        schema = TestPostgres.uniqueName("state_timeout");
        try (Pgkit pgkit = Db.pgkit(postgres, schema)) {
            pgkit.migrate();
        }
    }

    @AfterAll
    static void tearDown() {
        Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE");
    }

    /** The proxied URL; deliberate faults are kept out of the server log. */
    static String proxied(TcpProxy proxy) {
        Db.Server server = Db.server(postgres);
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + server.database() + "?user=" + server.superuser().getProperty("user")
                + (server.superuser().getProperty("password") != null ? "&password=" + server.superuser().getProperty("password") : "");
    }

    @Test
    void pgkitsPoolFailsAStalledCallWithinTheBoundAndRecovers() throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port());
             Pgkit pgkit = Pgkit.builder().url(proxied(proxy)).schema(schema).poolSize(1).statementTimeout(STATEMENT_TIMEOUT)
                     .acquireTimeout(Duration.ofSeconds(2)).disableHousekeeping().build()) {
            StateStore state = pgkit.state("stall-own");
            stalledCallsFailInTimeAndRecover(proxy, state);
        }
    }

    @Test
    void aCallersPoolGetsTheSameBound() throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port())) {
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl(proxied(proxy)); // no socketTimeout of its own: pgkit bounds its calls per borrow
            config.setMaximumPoolSize(1);
            config.setConnectionTimeout(2_000);
            config.setValidationTimeout(1_000);
            try (HikariDataSource callers = new HikariDataSource(config);
                 Pgkit pgkit = Pgkit.builder().dataSource(callers).schema(schema).statementTimeout(STATEMENT_TIMEOUT)
                         .disableHousekeeping().build()) {
                stalledCallsFailInTimeAndRecover(proxy, pgkit.state("stall-callers"));
            }
        }
    }

    static void stalledCallsFailInTimeAndRecover(TcpProxy proxy, StateStore state) throws Exception {
        state.set("k", "v");
        // an unrepeatable write first: nothing has been lost yet, so it goes out on the pooled connection unchecked
        proxy.stall(); // the call below reuses the connection at once (HikariCP checks only connections idle for 500 ms)
        long started = System.nanoTime();
        assertThatThrownBy(() -> bounded(() -> state.enqueue("q", "m", Duration.ofMinutes(1), 5)))
                .isInstanceOf(OutcomeUnknownException.class)
                .hasMessageContaining("no answer came from PostgreSQL");
        assertThat(millisSince(started)).isBetween(SOCKET_TIMEOUT_MILLIS - 200, SOCKET_TIMEOUT_MILLIS + 2_000);

        proxy.resume();
        assertThat(bounded(() -> state.enqueue("q", "after", Duration.ofMinutes(1), 5))).isBetween(1, 2);
        assertThat(bounded(() -> state.get("k", String.class))).as("recovered").contains("v");
        proxy.stall();
        started = System.nanoTime();
        assertThatThrownBy(() -> bounded(() -> state.get("k", String.class)))
                .isInstanceOf(PgkitTimeoutException.class)
                .hasMessageContaining("state.get(k): no answer from PostgreSQL")
                .hasMessageContaining("within 3 s");
        assertThat(millisSince(started)).as("failed after the socket timeout, not before").isBetween(SOCKET_TIMEOUT_MILLIS - 200, SOCKET_TIMEOUT_MILLIS + 2_000);

        proxy.resume();
        assertThat(bounded(() -> state.get("k", String.class))).as("recovered").contains("v");
        assertThat(bounded(() -> state.enqueue("q", "again", Duration.ofMinutes(1), 5))).isBetween(1, 3);
    }

    /** Runs {@code call}, failing the test rather than hanging if it is not bounded. */
    static <T> T bounded(Supplier<T> call) throws Exception {
        try {
            return CompletableFuture.supplyAsync(call).get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    static long millisSince(long started) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    }

    /**
     * PostgreSQL itself cancels a statement after statementTimeout (here an enqueue waiting for its key's
     * lock): the call fails with a timeout that says nothing was applied, and the connection is usable at once.
     */
    @Test
    @ExpectServerLog("canceling statement due to statement timeout") // the cancellation is what this test provokes
    void theServerCancelsAStatementThatRunsTooLong() throws Exception {
        Db.Server server = Db.server(postgres);
        String url = server.jdbcUrl();
        try (Pgkit pgkit = Pgkit.builder().url(url).credentials(server.superuser().getProperty("user"), server.superuser().getProperty("password"))
                     .schema(schema).poolSize(1).statementTimeout(STATEMENT_TIMEOUT).disableHousekeeping().build();
             Connection holder = server.admin()) {
            StateStore state = pgkit.state("cancelled");
            holder.setAutoCommit(false);
            try (var lock = holder.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext('cancelled' || chr(31) || 'q'))")) {
                lock.setInt(1, StateSql.QUEUE_LOCK_CLASS);
                lock.execute();
            }
            long started = System.nanoTime();
            assertThatThrownBy(() -> bounded(() -> state.enqueue("q", "m", Duration.ofMinutes(1), 5)))
                    .isInstanceOf(PgkitTimeoutException.class)
                    .hasMessageContaining("state.enqueue(q): cancelled by PostgreSQL")
                    .hasMessageContaining("nothing was applied")
                    .satisfies(e -> assertThat(((PgkitTimeoutException) e).sqlState()).contains("57014"));
            assertThat(millisSince(started)).as("cancelled by the server, before the client's socket timeout")
                    .isBetween(STATEMENT_TIMEOUT.toMillis() - 100, SOCKET_TIMEOUT_MILLIS - 500);
            holder.rollback();
            assertThat(state.queueDepth("q")).as("nothing applied").isZero();
            // the pool's only connection was left with its batch's transaction aborted: rolled back before reuse
            assertThat(state.enqueue("q", "m", Duration.ofMinutes(1), 5)).isEqualTo(1);
        }
    }
}
