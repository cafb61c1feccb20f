package dev.pgkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Building a Pgkit: clear configuration and connection errors, and a caller's pool left alone. */
@ExtendWith(PostgresExtension.class)
class PgkitBuilderTest {
    @Test
    void impossibleOptionsNameTheOption() {
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://u@localhost/db").poolSize(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("poolSize must be between 1 and 1000, was 0");
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://u@localhost/db").schema("x\"; DROP SCHEMA public; --").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("schema").hasMessageContaining("not a safe identifier");
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://u@localhost/db").connectTimeout(Duration.ZERO).build())
                .hasMessageContaining("connectTimeout must be at least PT1S, was PT0S");
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://u@localhost/db").waitRecheckInterval(Duration.ZERO).build())
                .hasMessageContaining("waitRecheckInterval must be at least PT0.001S, was PT0S");
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://u@localhost/db").waitRecheckInterval(null).build())
                .hasMessageContaining("waitRecheckInterval must be at least PT0.001S, was null");
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://u@localhost/db").sslMode("sometimes").build())
                .hasMessageContaining("sslMode 'sometimes'");
        assertThatThrownBy(() -> Pgkit.builder().environment(Map.of()).build())
                .hasMessageContaining("no database configured");
    }

    @Test
    void valuesAreNeverSilentlyChanged() {
        String url = "postgres://u@localhost/db";
        assertThatThrownBy(() -> Pgkit.builder().url(url).connectTimeout(Duration.ofMillis(500)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("connectTimeout must be at least PT1S, was PT0.5S");
        assertThatThrownBy(() -> Pgkit.builder().url(url).connectTimeout(Duration.ofMillis(1_500)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("connectTimeout must be a whole number of seconds (pgjdbc's connectTimeout and loginTimeout count in seconds)");
        assertThatThrownBy(() -> Pgkit.builder().url(url).housekeepingInterval(null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("call disableHousekeeping()");
        assertThatThrownBy(() -> Pgkit.builder().url(url).acquireTimeout(Duration.ofMillis(100)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("acquireTimeout must be at least PT0.25S");
        assertThatThrownBy(() -> Pgkit.builder().url(url).statementTimeout(Duration.ZERO).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("statementTimeout must be at least");
    }

    @Test
    void hugeDurationsNameTheOptionInsteadOfOverflowing() {
        Duration huge = Duration.ofDays(365L * 1_000_000);
        for (String option : new String[] {"connectTimeout", "acquireTimeout", "statementTimeout", "housekeepingInterval"}) {
            PgkitBuilder builder = Pgkit.builder().url("postgres://u@localhost/db");
            switch (option) {
                case "connectTimeout" -> builder.connectTimeout(huge);
                case "acquireTimeout" -> builder.acquireTimeout(huge);
                case "statementTimeout" -> builder.statementTimeout(huge);
                default -> builder.housekeepingInterval(huge);
            }
            assertThatThrownBy(builder::build).as(option).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(option + " must be at most");
        }
    }

    @Test
    void aClosedPgkitSaysSo(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("closed");
        Pgkit pgkit = Db.pgkit(postgres, schema);
        var state = pgkit.state();
        Db.execute(pgkit, "DROP SCHEMA \"" + schema + "\" CASCADE");
        pgkit.close();
        assertThatThrownBy(() -> state.get("k", String.class))
                .isInstanceOf(IllegalStateException.class).hasMessageStartingWith("this Pgkit is closed");
    }

    /** A database whose name needs percent-encoding in a URL is reached by its name, not a misparse of it. */
    @Test
    void databaseNamesNeedingEncodingReachThatDatabase(TestPostgres postgres) throws Exception {
        String name = "pgkit +%?\u00e9 " + TestPostgres.uniqueName("db");
        Db.admin(postgres, "CREATE DATABASE \"" + name + "\"");
        try {
            Db.Server server = Db.server(postgres);
            String user = server.superuser().getProperty("user");
            String password = server.superuser().getProperty("password");
            String encoded = java.net.URLEncoder.encode(name, java.nio.charset.StandardCharsets.UTF_8).replace("+", "%20");
            String url = "postgres://" + user + (password != null ? ":" + password : "") + "@" + server.host() + ":" + server.port() + "/" + encoded;
            try (Pgkit pgkit = Pgkit.builder().url(url).disableHousekeeping().build();
                 var c = pgkit.dataSource().getConnection(); var s = c.createStatement(); var rs = s.executeQuery("SELECT current_database()")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo(name);
                assertThat(pgkit.status().server()).contains(name);
            }
        } finally {
            Db.admin(postgres, "DROP DATABASE \"" + name + "\" WITH (FORCE)");
        }
    }

    @Test
    void unreachableServerIsOneClearException() {
        long start = System.nanoTime();
        assertThatThrownBy(() -> Pgkit.builder().url("postgres://app:secret@127.0.0.1:1/orders").connectTimeout(Duration.ofSeconds(3)).build())
                .isInstanceOf(PgkitConnectionException.class)
                .hasMessageStartingWith("cannot connect to PostgreSQL at 127.0.0.1:1/orders as app: ")
                .hasMessageNotContaining("secret");
        assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(15_000);
    }

    @Test

    @ExpectServerLog("database \"no_such_db_pgkit\" does not exist")
    void unknownDatabaseNamesTheDatabase(TestPostgres postgres) {
        String url = postgres.url();
        String other = url.startsWith("jdbc:") ? url.replaceFirst("(jdbc:postgresql://[^/]+/)[^?]*", "$1no_such_db_pgkit")
                : url.replaceFirst("(postgres(ql)?://[^/]+/)[^?]*", "$1no_such_db_pgkit");
        assertThatThrownBy(() -> Pgkit.builder().url(other).build())
                .isInstanceOf(PgkitConnectionException.class)
                .hasMessageContaining("no_such_db_pgkit")
                .satisfies(e -> assertThat(((PgkitException) e).sqlState()).contains("3D000"));
    }

    @Test
    void callersDataSourceIsUsedAndNeverClosed(TestPostgres postgres) throws InterruptedException {
        String schema = TestPostgres.uniqueName("caller_pool");
        try (Pgkit owner = Db.pgkit(postgres, schema)) {
            HikariConfig config = new HikariConfig();
            config.setDataSource(owner.dataSource());
            config.setMaximumPoolSize(3);
            config.setAutoCommit(false); // a pool that hands out transactional connections must still work
            try (HikariDataSource callers = new HikariDataSource(config)) {
                try (Pgkit pgkit = Pgkit.builder().dataSource(callers).schema(schema).disableHousekeeping().build()) {
                    pgkit.state().set("via-caller-pool", 7);
                    assertThat(owner.state().get("via-caller-pool", Integer.class)).as("committed").contains(7);
                    // waits work too: the LISTEN connection then comes from the caller's pool
                    assertThat(pgkit.state().dequeue("nothing-here", String.class, Duration.ofMillis(200))).isEmpty();
                    long deadline = System.nanoTime() + 10_000_000_000L;
                    while (!pgkit.status().listenerConnected() && System.nanoTime() < deadline) {
                        Thread.sleep(10); // registration does not wait for the listener: it connects in the background
                    }
                    assertThat(pgkit.status().listenerConnected()).isTrue();
                }
                assertThat(callers.isClosed()).isFalse();
                assertThat(Db.scalar(owner, "SELECT 1")).isEqualTo(1);
            }
            Db.execute(owner, "DROP SCHEMA \"" + schema + "\" CASCADE");
        }
    }

    @Test
    void listenerCanUseItsOwnUrl(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("listener_url");
        String role = TestPostgres.uniqueName("listener_role");
        try (Pgkit admin = Db.pgkit(postgres, "public")) {
            Db.execute(admin, "CREATE ROLE " + role + " LOGIN");
            try {
                try (Pgkit pgkit = Db.builder(postgres, schema).listenerUrl(Db.withUser(postgres.url(), role))
                        .waitRecheckInterval(Duration.ofSeconds(60)).build()) {
                    var state = pgkit.state();
                    var result = new java.util.concurrent.CompletableFuture<java.util.Optional<dev.pgkit.state.QueueEntry<String>>>();
                    Thread waiter = new Thread(() -> result.complete(state.dequeue("q", String.class, Duration.ofSeconds(30))));
                    waiter.start();
                    int pid = awaitListener(pgkit);
                    assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid + " AND usename = '" + role + "'"))
                            .as("the LISTEN connection uses the listener URL").isEqualTo(1);
                    awaitSleepingIn(waiter);
                    long start = System.nanoTime();
                    state.enqueue("q", "through the direct listener", Duration.ofMinutes(1));
                    assertThat(result.get(40, java.util.concurrent.TimeUnit.SECONDS)).map(e -> e.message()).contains("through the direct listener");
                    assertThat((System.nanoTime() - start) / 1_000_000).as("woken by NOTIFY, not by the 60 s re-check").isLessThan(3_000);
                    Db.execute(pgkit, "DROP SCHEMA \"" + schema + "\" CASCADE");
                }
            } finally {
                Db.execute(admin, "DROP ROLE " + role);
            }
        }
    }

    /** The listener's backend pid, once its presence lock and channel are active. */
    static int awaitListener(Pgkit pgkit) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Pgkit.Status status = pgkit.status();
            if (status.listenerBackendPid().isPresent() && status.channels().contains("pgkit_state")
                    && Db.scalar(pgkit, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = "
                    + status.listenerBackendPid().get()) > 0) {
                return status.listenerBackendPid().get();
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the listener never became active");
    }

    /** Returns once {@code waiter} has slept in its wait for 200 ms without interruption. */
    static void awaitSleepingIn(Thread waiter) throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
        long since = -1;
        while (System.nanoTime() < deadline) {
            boolean parked = waiter.getState() == Thread.State.TIMED_WAITING
                    && java.util.List.of(waiter.getStackTrace()).toString().contains("WakeupService$Waiter.await");
            long now = System.nanoTime();
            if (!parked) {
                since = -1;
            } else if (since < 0) {
                since = now;
            } else if (now - since > 200_000_000L) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the waiter never went to sleep");
    }

    @Test
    void closeStopsAndJoinsPgkitThreads(TestPostgres postgres) {
        java.util.Set<Thread> before = Thread.getAllStackTraces().keySet();
        String schema = TestPostgres.uniqueName("threads");
        Pgkit pgkit = Db.builder(postgres, schema).housekeepingInterval(Duration.ofMillis(200)).build();
        pgkit.state().dequeue("nothing", String.class, Duration.ofMillis(100)); // starts the listener
        assertThat(newPgkitThreads(before)).extracting(Thread::getName).contains("pgkit-listener", "pgkit-housekeeping");
        assertThat(newPgkitThreads(before)).allMatch(Thread::isDaemon);
        Db.dropAndClose(pgkit);
        assertThat(newPgkitThreads(before)).as("threads left running after close()").isEmpty();
    }

    static java.util.List<Thread> newPgkitThreads(java.util.Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !before.contains(t) && t.isAlive() && t.getName().startsWith("pgkit-"))
                .toList();
    }
}
