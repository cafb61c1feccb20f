package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The journal and durable state stay correct when the caller's pool hands out SERIALIZABLE connections (the role's
 * default) and the role's search_path leads elsewhere: each statement is sent in its own READ COMMITTED transaction,
 * so concurrent appenders and compare-and-set writers see each other's commits; no serialization failure reaches the
 * server log, and no table is looked up through the search_path.
 */
@ExtendWith(PostgresExtension.class)
class PersistenceIsolationTest {
    static final int THREADS = 6;

    @Test
    void concurrentWritersThroughASerializablePoolLoseNothing(TestPostgres postgres) throws Exception {
        String role = TestPostgres.uniqueName("pgkit_persistence_serializable");
        String schema = TestPostgres.uniqueName("persistence_isolation");
        String decoy = TestPostgres.uniqueName("persistence_decoy");
        Db.admin(postgres, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw'",
                "ALTER ROLE " + role + " SET default_transaction_isolation = 'serializable'",
                "CREATE SCHEMA " + schema + " AUTHORIZATION " + role,
                "CREATE SCHEMA " + decoy + " AUTHORIZATION " + role,
                // a table of the same name earlier on the search_path: pgkit must never use it
                "CREATE TABLE " + decoy + ".events (persistence_id text, sequence_nr bigint, payload text, tags text, timestamp bigint)",
                "ALTER TABLE " + decoy + ".events OWNER TO " + role,
                "ALTER ROLE " + role + " SET search_path = " + decoy + ", public");
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(Db.server(postgres).urlFor(role, "pw", 0));
        config.setMaximumPoolSize(THREADS + 2);
        config.setAutoCommit(false);
        try (HikariDataSource pool = new HikariDataSource(config);
             Pgkit pgkit = Pgkit.builder().dataSource(pool).schema(schema).disableHousekeeping().build()) {
            Persistence persistence = pgkit.persistence();
            ExecutorService executor = Executors.newFixedThreadPool(THREADS);
            int perThread = 15;
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    futures.add(executor.submit(() -> {
                        for (int i = 0; i < perThread; i++) {
                            long expected = persistence.journal().highestSequenceNr("hot");
                            while (true) {
                                try {
                                    persistence.journal().append("hot", List.of(thread + ":" + i), List.of("iso"), expected);
                                    break;
                                } catch (JournalConcurrencyException e) {
                                    expected = e.currentSequenceNr();
                                }
                            }
                            while (true) {
                                var state = persistence.durableState().load("counter", Integer.class);
                                try {
                                    persistence.durableState().upsert("counter", state.map(DurableState::revision).orElse(0L),
                                            state.map(DurableState::value).orElse(0) + 1);
                                    break;
                                } catch (DurableStateConcurrencyException e) {
                                    // lost the race: load again
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                executor.shutdownNow();
            }
            int total = THREADS * perThread;
            List<JournalEvent<String>> events = persistence.journal().read("hot", String.class);
            assertThat(events).hasSize(total);
            assertThat(new HashSet<>(events.stream().map(JournalEvent::event).toList())).hasSize(total);
            assertThat(events.get(total - 1).sequenceNr()).isEqualTo(total);
            assertThat(persistence.queries().currentEventsByTag("iso", LogOffset.START, String.class)).hasSize(total);
            assertThat(persistence.durableState().load("counter", Integer.class).orElseThrow().value()).isEqualTo(total);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM " + decoy + ".events")).isZero();
        } finally {
            Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE", "DROP SCHEMA " + decoy + " CASCADE", "DROP OWNED BY " + role,
                    "DROP ROLE " + role);
        }
    }
}
