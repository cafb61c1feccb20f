package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 8 writers on 100 streams whose events share 4 tags, from two {@code Pgkit} instances, while live tag queries run on
 * both: every query delivers every event of its tag exactly once, and all queries of a tag deliver them in one
 * order (the order the current query reads afterwards).
 */
@ExtendWith(PostgresExtension.class)
class PersistenceLiveConcurrencyTest {
    static final int WRITERS = 8;
    static final int STREAMS = 100;
    static final int APPENDS_PER_WRITER = 60;
    static final List<String> TAGS = List.of("t0", "t1", "t2", "t3");

    @Test
    void everyEventIsDeliveredOnceInOneOrderPerTag(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("persistence_live_concurrency");
        Pgkit first = Db.builder(postgres, schema).poolSize(12).waitRecheckInterval(Duration.ofSeconds(60)).build();
        Pgkit second = Db.builder(postgres, schema).poolSize(12).waitRecheckInterval(Duration.ofSeconds(60)).build();
        List<Pgkit> pgkits = List.of(first, second);
        Map<String, List<List<String>>> delivered = new ConcurrentHashMap<>();
        List<LiveQuery> queries = new ArrayList<>();
        try {
            for (String tag : TAGS) {
                for (Pgkit pgkit : pgkits) {
                    List<String> seen = new CopyOnWriteArrayList<>();
                    delivered.computeIfAbsent(tag, t -> new CopyOnWriteArrayList<>()).add(seen);
                    queries.add(pgkit.persistence().queries().eventsByTag(tag, LogOffset.START, String.class,
                            batch -> batch.forEach(e -> seen.add(e.persistenceId() + "#" + e.sequenceNr()))));
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
            Map<String, Set<String>> written = new ConcurrentHashMap<>();
            TAGS.forEach(t -> written.put(t, ConcurrentHashMap.newKeySet()));
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    int writer = w;
                    futures.add(pool.submit(() -> {
                        EventJournal journal = pgkits.get(writer % 2).persistence().journal();
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        for (int i = 0; i < APPENDS_PER_WRITER; i++) {
                            String stream = "s" + random.nextInt(STREAMS);
                            int size = 1 + random.nextInt(3);
                            List<NewEvent> batch = new ArrayList<>();
                            for (int k = 0; k < size; k++) {
                                List<String> tags = List.of(TAGS.get(random.nextInt(TAGS.size())), TAGS.get(random.nextInt(TAGS.size())));
                                batch.add(new NewEvent("w" + writer + "-" + i + "-" + k, tags));
                            }
                            long expected = journal.highestSequenceNr(stream);
                            while (true) {
                                try {
                                    journal.appendAll(stream, batch, expected);
                                    break;
                                } catch (JournalConcurrencyException e) {
                                    expected = e.currentSequenceNr();
                                }
                            }
                            for (int k = 0; k < size; k++) {
                                for (String tag : batch.get(k).tags()) {
                                    written.get(tag).add(stream + "#" + (expected + k + 1));
                                }
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : futures) {
                    f.get(180, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            for (String tag : TAGS) {
                int expected = written.get(tag).size();
                for (List<String> seen : delivered.get(tag)) {
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                    while (seen.size() < expected && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                }
            }
            Thread.sleep(300); // nothing more may arrive
            for (String tag : TAGS) {
                List<String> current = first.persistence().queries().currentEventsByTag(tag, LogOffset.START, String.class).stream()
                        .map(e -> e.persistenceId() + "#" + e.sequenceNr()).toList();
                assertThat(new HashSet<>(current)).as("tag %s as stored", tag).isEqualTo(written.get(tag));
                for (List<String> seen : delivered.get(tag)) {
                    assertThat(new HashSet<>(seen)).as("tag %s: no duplicates", tag).hasSize(seen.size());
                    assertThat(seen).as("tag %s: every event once, in the one order", tag).containsExactlyElementsOf(current);
                }
            }
            queries.forEach(q -> assertThat(q.isRunning()).isTrue());
        } finally {
            queries.forEach(LiveQuery::close);
            second.close();
            Db.dropAndClose(first);
        }
    }
}
