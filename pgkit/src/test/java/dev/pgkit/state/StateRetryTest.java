package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.OutcomeUnknownException;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.TcpProxy;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A connection that breaks after a statement was sent: reads and idempotent writes are repeated and
 * succeed; an enqueue or an append is never repeated (the break may come after its commit), and fails
 * with {@link OutcomeUnknownException} instead of being applied twice.
 */
@ExpectServerLog("terminating connection due to administrator command") // its backends are terminated on purpose
@ExtendWith(PostgresExtension.class)
class StateRetryTest {
    static TestPostgres postgres;
    static String schema;
    static String role;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        schema = TestPostgres.uniqueName("state_retry");
        role = TestPostgres.uniqueName("pgkit_terminated");
        Db.admin(postgres, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw'",
                "CREATE SCHEMA " + schema + " AUTHORIZATION " + role);
    }

    @AfterAll
    static void tearDown() {
        Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE", "DROP OWNED BY " + role, "DROP ROLE " + role);
    }

    static Pgkit through(TcpProxy proxy) {
        return Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", proxy.port())).schema(schema).poolSize(2)
                .disableHousekeeping().build();
    }

    @Test
    void writesThatMustNotRunTwiceAreNotRepeatedWhenTheirAnswerIsLost() throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port()); Pgkit pgkit = through(proxy)) {
            StateStore state = pgkit.state("lost-answers");

            String capped = "capped-" + UUID.randomUUID();
            proxy.loseAnswerTo(capped);
            assertThatThrownBy(() -> state.enqueue("q", capped, Duration.ofMinutes(5), 10))
                    .isInstanceOf(OutcomeUnknownException.class)
                    .hasMessageContaining("state.enqueue(q)")
                    .hasMessageContaining("may or may not have been applied");
            String uncapped = "uncapped-" + UUID.randomUUID();
            proxy.loseAnswerTo(uncapped);
            assertThatThrownBy(() -> state.enqueue("q", uncapped, Duration.ofMinutes(5))).isInstanceOf(OutcomeUnknownException.class);
            String appended = "appended-" + UUID.randomUUID();
            proxy.loseAnswerTo(appended);
            assertThatThrownBy(() -> state.appendToList("l", appended)).isInstanceOf(OutcomeUnknownException.class);
            assertThat(proxy.answersLost()).isEqualTo(3);

            // each reached the server and committed exactly once
            assertThat(count("chat_state_queues", capped)).isEqualTo(1);
            assertThat(count("chat_state_queues", uncapped)).isEqualTo(1);
            assertThat(count("chat_state_lists", appended)).isEqualTo(1);
        }
    }

    @Test
    void readsAndIdempotentWritesAreRepeatedWhenTheirAnswerIsLost() throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port()); Pgkit pgkit = through(proxy)) {
            StateStore state = pgkit.state("repeated");
            String key = "key-" + UUID.randomUUID();
            proxy.loseAnswerTo(key);
            state.set(key, "v1");
            proxy.loseAnswerTo(key);
            assertThat(state.get(key, String.class)).contains("v1");
            assertThat(proxy.answersLost()).isEqualTo(2);
        }
    }

    /** One terminated backend costs one connection, not the pool: the others stay open. */
    @Test
    void aTerminatedBackendDoesNotEvictTheWholePool() throws Exception {
        try (Pgkit pgkit = Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", 0)).schema(schema).poolSize(3)
                .disableHousekeeping().build()) {
            StateStore state = pgkit.state("evict");
            state.set("k", "v");
            Connection victim = pgkit.dataSource().getConnection();
            Connection survivor = pgkit.dataSource().getConnection();
            long victimPid = pid(victim);
            long survivorPid = pid(survivor);
            victim.close(); // the only idle connection now
            Db.admin(postgres, "SELECT pg_terminate_backend(" + victimPid + ")");
            awaitGone(victimPid);
            assertThat(state.get("k", String.class)).as("repeated on a new connection").contains("v");
            survivor.close();
            for (int i = 0; i < 3; i++) {
                assertThat(state.get("k", String.class)).contains("v");
            }
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + survivorPid))
                    .as("the other connection is still open").isEqualTo(1);
        }
    }

    static long pid(Connection connection) throws Exception {
        try (Statement s = connection.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void awaitGone(long pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        try (Connection admin = Db.server(postgres).admin(); Statement s = admin.createStatement()) {
            while (true) {
                try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid)) {
                    rs.next();
                    if (rs.getInt(1) == 0) {
                        return;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("backend " + pid + " did not end");
                }
                Thread.sleep(5);
            }
        }
    }

    /**
     * Backends of pgkit's pool terminated in a loop while threads read and enqueue: every read succeeds
     * (repeated on a live connection), every enqueue succeeds or reports an unknown outcome, none is
     * applied twice.
     */
    @Test
    void terminatedBackendsNeverFailAReadNorDuplicateAnEnqueue() throws Exception {
        try (Pgkit pgkit = Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", 0)).schema(schema).poolSize(4)
                .disableHousekeeping().build()) {
            StateStore state = pgkit.state("terminated");
            state.set("k", "v");
            state.appendToList("l", "x");
            AtomicBoolean running = new AtomicBoolean(true);
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            AtomicInteger reads = new AtomicInteger();
            AtomicInteger enqueued = new AtomicInteger();
            AtomicInteger unknown = new AtomicInteger();
            AtomicInteger terminated = new AtomicInteger();
            ExecutorService threads = Executors.newFixedThreadPool(5);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                futures.add(threads.submit(() -> {
                    while (running.get()) {
                        try {
                            assertThat(state.get("k", String.class)).contains("v");
                            assertThat(state.getList("l", String.class)).containsExactly("x");
                            reads.incrementAndGet();
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }
                }));
            }
            for (int t = 0; t < 2; t++) {
                int thread = t;
                futures.add(threads.submit(() -> {
                    for (int i = 0; running.get(); i++) {
                        try {
                            state.enqueue("q", "m-" + thread + "-" + i, Duration.ofMinutes(5));
                            enqueued.incrementAndGet();
                        } catch (OutcomeUnknownException e) {
                            unknown.incrementAndGet();
                        } catch (Throwable e) {
                            unexpected.add(e);
                        }
                    }
                }));
            }
            futures.add(threads.submit(() -> {
                try (Connection admin = Db.server(postgres).admin(); Statement s = admin.createStatement()) {
                    while (running.get()) {
                        try (ResultSet rs = s.executeQuery("SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM ("
                                + "SELECT pid FROM pg_stat_activity WHERE usename = '" + role + "' AND application_name = 'pgkit'"
                                + " ORDER BY random() LIMIT 1) victim")) {
                            rs.next();
                            terminated.addAndGet(rs.getInt(1));
                        }
                        Thread.sleep(100);
                    }
                }
                return null;
            }));
            Thread.sleep(4_000);
            running.set(false);
            for (Future<?> f : futures) {
                f.get(1, TimeUnit.MINUTES);
            }
            threads.shutdown();

            assertThat(unexpected).as("failures other than an unknown enqueue outcome").isEmpty();
            assertThat(terminated.get()).as("backends terminated").isGreaterThan(10);
            assertThat(reads.get()).isGreaterThan(100);
            long rows = Db.scalar(pgkit, "SELECT count(*) FROM " + schema + ".chat_state_queues WHERE key_prefix = 'terminated'");
            long duplicates = Db.scalar(pgkit, "SELECT count(*) FROM (SELECT value::json->>'message' FROM " + schema
                    + ".chat_state_queues WHERE key_prefix = 'terminated' GROUP BY 1 HAVING count(*) > 1) d");
            assertThat(duplicates).as("messages stored twice").isZero();
            assertThat(rows).as("rows (%d acknowledged, %d unknown)", enqueued.get(), unknown.get())
                    .isBetween((long) enqueued.get(), (long) enqueued.get() + unknown.get());
        }
    }

    static long count(String table, String text) throws Exception {
        try (Connection admin = Db.server(postgres).admin();
             var s = admin.prepareStatement("SELECT count(*) FROM " + schema + "." + table + " WHERE value LIKE ?")) {
            s.setString(1, "%" + text + "%");
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }
}
