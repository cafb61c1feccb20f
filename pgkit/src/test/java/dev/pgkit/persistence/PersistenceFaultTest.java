package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.EmbeddedPostgres;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Faults under live queries: the LISTEN connection killed (appends during the outage send their NOTIFY to nobody),
 * every pooled connection killed mid-stream, the server restarted. Queries re-check only every 60 s here, so a
 * delivery within the bounds below came from the reconnect's gap signal, not the re-check.
 */
@ExtendWith(PostgresExtension.class)
class PersistenceFaultTest {
    static final Duration RECHECK = Duration.ofSeconds(60);

    static List<String> ids(List<EventEnvelope<String>> seen) {
        return seen.stream().map(e -> e.persistenceId() + "#" + e.sequenceNr()).toList();
    }

    static void await(String what, java.util.function.BooleanSupplier condition, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + millis + " ms waiting until " + what);
            }
            Thread.sleep(10);
        }
    }

    static int awaitListenerPid(Pgkit pgkit) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Optional<Integer> pid = pgkit.status().listenerBackendPid();
            if (pid.isPresent() && pgkit.status().channels().stream().anyMatch(c -> c.startsWith("pgkit_journal_"))) {
                return pid.get();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the listener never connected");
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command")
    void aLiveTagQueryDeliversWhatWasAppendedWhileItsListenerWasKilled(TestPostgres postgres) throws Exception {
        Pgkit pgkit = Db.builder(postgres, TestPostgres.uniqueName("persistence_fault_listener")).waitRecheckInterval(RECHECK).build();
        try {
            EventJournal journal = pgkit.persistence().journal();
            journal.append("f", List.of("before"), List.of("fault"), 0);
            List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
            try (LiveQuery query = pgkit.persistence().queries().eventsByTag("fault", LogOffset.START, String.class, seen::addAll)) {
                await("the first event", () -> seen.size() == 1, 10_000);
                int pid = awaitListenerPid(pgkit);
                long start = System.nanoTime();
                Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
                journal.append("f", List.of("during 1", "during 2"), List.of("fault"), 1); // its NOTIFY reaches nobody
                await("the events appended during the outage", () -> seen.size() == 3, 15_000);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("woken by the reconnect's gap, not the re-check")
                        .isLessThan(15_000);
                await("the listener reconnected", () -> pgkit.status().listenerReconnects() >= 1, 15_000);
                // and the new listener connection delivers again at once
                long again = System.nanoTime();
                journal.append("f", List.of("after"), List.of("fault"), 3);
                await("the event after the reconnect", () -> seen.size() == 4, 5_000);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - again)).isLessThan(5_000);
                Thread.sleep(200);
                assertThat(ids(seen)).containsExactly("f#1", "f#2", "f#3", "f#4");
                assertThat(query.isRunning()).isTrue();
            }
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command")
    void aLiveQueryKeepsDeliveringOnceWhenItsReadingConnectionsAreKilled(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("persistence_fault_pool");
        Db.admin(postgres, "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgkit_fault_reader')"
                + " THEN CREATE ROLE pgkit_fault_reader LOGIN SUPERUSER; END IF; END $$");
        Pgkit writer = Db.builder(postgres, schema).waitRecheckInterval(RECHECK).build();
        writer.persistence(); // the tables exist before the reader starts
        Pgkit reader = Pgkit.builder().url(Db.withUser(postgres.url(), "pgkit_fault_reader")).schema(schema).poolSize(4)
                .disableHousekeeping().waitRecheckInterval(RECHECK).build();
        try {
            EventJournal journal = writer.persistence().journal();
            List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
            try (LiveQuery query = reader.persistence().queries().eventsByPersistenceId("kill", 1, String.class, seen::addAll);
                 LiveQuery tagged = reader.persistence().queries().eventsByTag("kill", LogOffset.START, String.class, seen::addAll)) {
                long killed = 0;
                for (int i = 0; i < 30; i++) {
                    journal.append("kill", List.of("e" + (i + 1)), List.of("kill"), i);
                    if (i % 10 == 5) {
                        killed += Db.scalar(writer, "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                                + " WHERE usename = 'pgkit_fault_reader' AND application_name = 'pgkit'");
                    }
                }
                assertThat(killed).as("reading connections were killed").isPositive();
                await("60 deliveries", () -> seen.size() >= 60, 30_000);
                Thread.sleep(300);
                assertThat(seen).hasSize(60);
                assertThat(new HashSet<>(seen.stream().map(e -> e.offset().toString() + e.persistenceId() + e.sequenceNr()).toList())).hasSize(60);
                assertThat(query.isRunning()).isTrue();
                assertThat(tagged.isRunning()).isTrue();
            }
        } finally {
            writer.close();
            Db.dropAndClose(reader);
        }
    }

    @Test
    @ExpectServerLog({"terminating connection due to administrator command", "canceling authentication due to timeout",
            "the database system is shutting down", "the database system is starting up", "the database system is not yet accepting connections"})
    void aLiveQueryResumesAfterAServerRestartWithoutLossOrDuplicates() throws Exception {
        try (EmbeddedPostgres server = EmbeddedPostgres.start("persistence-restart");
             Pgkit pgkit = Pgkit.builder().url(server.jdbcUrl()).poolSize(8).disableHousekeeping().waitRecheckInterval(RECHECK).build()) {
            EventJournal journal = pgkit.persistence().journal();
            journal.append("r", List.of("e1", "e2"), List.of("restart"), 0);
            List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
            try (LiveQuery query = pgkit.persistence().queries().eventsByTag("restart", LogOffset.START, String.class, seen::addAll)) {
                await("the stored events", () -> seen.size() == 2, 10_000);
                server.stop();
                server.start();
                long start = System.nanoTime();
                journal.append("r", List.of("e3"), List.of("restart"), 2);
                await("the event after the restart", () -> seen.size() == 3, 25_000);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("not the 60 s re-check").isLessThan(25_000);
                journal.append("r", List.of("e4"), List.of("restart"), 3);
                await("one more", () -> seen.size() == 4, 10_000);
                Thread.sleep(200);
                assertThat(ids(seen)).containsExactly("r#1", "r#2", "r#3", "r#4");
                assertThat(query.isRunning()).isTrue();
            }
        }
    }
}
