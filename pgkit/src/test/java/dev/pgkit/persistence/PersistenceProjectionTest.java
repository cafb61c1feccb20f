package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A projection as users write one: each batch's effects and the offset after it are committed in one transaction of
 * the projection's own. Its process is killed (its {@code Pgkit} closed) and restarted from the stored offset three
 * times while writers keep appending: in the end every event was applied exactly once (the projection table's
 * primary key refuses a second application, which would also fail the server log check).
 */
@ExtendWith(PostgresExtension.class)
class PersistenceProjectionTest {

    @Test
    void aProjectionKilledAndResumedFromItsStoredOffsetAppliesEveryEventOnce(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("persistence_projection");
        Pgkit writerPgkit = Db.builder(postgres, schema).build();
        writerPgkit.persistence(); // creates the schema and the tables
        String projected = "\"" + schema + "\".projected";
        String offsets = "\"" + schema + "\".projection_offset";
        Db.execute(writerPgkit, "CREATE TABLE " + projected + " (persistence_id text, sequence_nr bigint, PRIMARY KEY (persistence_id, sequence_nr))");
        Db.execute(writerPgkit, "CREATE TABLE " + offsets + " (name text PRIMARY KEY, value text NOT NULL)");
        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicInteger written = new AtomicInteger();
        ExecutorService writers = Executors.newFixedThreadPool(4);
        try (Connection projection = Db.server(postgres).admin()) {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                int writer = w;
                futures.add(writers.submit(() -> {
                    EventJournal journal = writerPgkit.persistence().journal();
                    long highest = 0;
                    while (writing.get()) {
                        highest = journal.append("writer-" + writer, List.of("a", "b"), List.of("projected"), highest);
                        written.addAndGet(2);
                    }
                    return null;
                }));
            }
            for (int run = 0; run < 4; run++) {
                LogOffset start = storedOffset(projection, offsets);
                try (Pgkit reader = Db.builder(postgres, schema).build()) {
                    reader.persistence().queries().eventsByTag("projected", start, String.class, batch -> {
                        projection.setAutoCommit(false);
                        try (PreparedStatement apply = projection.prepareStatement("INSERT INTO " + projected + " VALUES (?, ?)");
                             PreparedStatement offset = projection.prepareStatement("INSERT INTO " + offsets + " VALUES ('p', ?)"
                                     + " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value")) {
                            for (EventEnvelope<String> e : batch) {
                                apply.setString(1, e.persistenceId());
                                apply.setLong(2, e.sequenceNr());
                                apply.addBatch();
                            }
                            apply.executeBatch();
                            offset.setString(1, batch.get(batch.size() - 1).offset().toString());
                            offset.executeUpdate();
                            projection.commit();
                        } catch (Exception e) {
                            projection.rollback();
                            throw e;
                        } finally {
                            projection.setAutoCommit(true);
                        }
                    });
                    Thread.sleep(400 + 200L * run); // killed while writers append
                }
            }
            writing.set(false);
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertThat(Db.scalar(writerPgkit, "SELECT count(*) FROM " + projected)).as("the live runs applied events").isPositive();
            // a last run catches up with everything written
            try (Pgkit reader = Db.builder(postgres, schema).build()) {
                LogOffset start = storedOffset(projection, offsets);
                List<EventEnvelope<String>> rest = reader.persistence().queries().currentEventsByTag("projected", start, String.class);
                for (EventEnvelope<String> e : rest) {
                    try (Statement s = projection.createStatement()) {
                        s.execute("INSERT INTO " + projected + " VALUES ('" + e.persistenceId() + "', " + e.sequenceNr() + ")");
                    }
                }
            }
            assertThat(Db.scalar(writerPgkit, "SELECT count(*) FROM " + projected)).isEqualTo(written.get());
            assertThat(Db.scalar(writerPgkit, "SELECT count(*) FROM \"" + schema + "\".events")).isEqualTo(written.get());
        } finally {
            writing.set(false);
            writers.shutdownNow();
            Db.dropAndClose(writerPgkit);
        }
    }

    private static LogOffset storedOffset(Connection c, String offsets) throws Exception {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT value FROM " + offsets + " WHERE name = 'p'")) {
            return rs.next() ? LogOffset.parse(rs.getString(1)) : LogOffset.START;
        }
    }
}
