package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many writers on one stream, from several {@code Pgkit} instances (standing for several servers). The server log
 * check fails these tests on any ERROR, so a conflict detected only by the primary key (a 23505 ERROR) fails them:
 * the stream's claim must detect every lost race by design.
 */
@ExtendWith(PostgresExtension.class)
class PersistenceConcurrencyTest {
    static final int INSTANCES = 3;
    static final int THREADS = 12;
    static final List<Pgkit> pgkits = new ArrayList<>();

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("persistence_concurrency");
        for (int i = 0; i < INSTANCES; i++) {
            pgkits.add(Db.builder(postgres, schema).poolSize(THREADS).build());
        }
    }

    @AfterAll
    static void tearDown() {
        for (int i = 1; i < pgkits.size(); i++) {
            pgkits.get(i).close();
        }
        Db.dropAndClose(pgkits.get(0));
    }

    static EventJournal journal(int thread) {
        return pgkits.get(thread % INSTANCES).persistence().journal();
    }

    @Test
    void ofWritersExpectingTheSameNumberExactlyOneWinsEachRound() throws Exception {
        int rounds = 40;
        CyclicBarrier barrier = new CyclicBarrier(THREADS);
        AtomicInteger[] winners = new AtomicInteger[rounds];
        for (int r = 0; r < rounds; r++) {
            winners[r] = new AtomicInteger();
        }
        ConcurrentLinkedQueue<Long> reportedCurrent = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    EventJournal journal = journal(thread);
                    for (int r = 0; r < rounds; r++) {
                        barrier.await(30, TimeUnit.SECONDS);
                        long expected = 2L * r; // each round appends a batch of 2
                        try {
                            journal.append("race", List.of("r" + r + "-t" + thread + "-a", "r" + r + "-t" + thread + "-b"), expected);
                            winners[r].incrementAndGet();
                        } catch (JournalConcurrencyException e) {
                            reportedCurrent.add(e.currentSequenceNr());
                        }
                        barrier.await(30, TimeUnit.SECONDS);
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (int r = 0; r < rounds; r++) {
            assertThat(winners[r].get()).as("winners of round %d", r).isEqualTo(1);
        }
        assertThat(reportedCurrent).hasSize(rounds * (THREADS - 1)).allSatisfy(c -> assertThat(c % 2).isZero());
        List<JournalEvent<String>> events = journal(0).read("race", String.class);
        assertThat(events).extracting(JournalEvent::sequenceNr).containsExactlyElementsOf(range(1, 2L * rounds));
        for (int r = 0; r < rounds; r++) {
            // a batch is atomic: both of a round's events come from one writer
            String a = events.get(2 * r).event();
            String b = events.get(2 * r + 1).event();
            assertThat(a).startsWith("r" + r + "-").endsWith("-a");
            assertThat(b).isEqualTo(a.substring(0, a.length() - 1) + "b");
        }
    }

    @Test
    void writersRetryingOnConflictsBuildOneStreamWithoutGapsOrDuplicates() throws Exception {
        int perThread = 25;
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        AtomicInteger conflicts = new AtomicInteger();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    EventJournal journal = journal(thread);
                    for (int i = 0; i < perThread; i++) {
                        long expected = journal.highestSequenceNr("busy");
                        while (true) {
                            try {
                                journal.append("busy", List.of(thread + ":" + i), expected);
                                break;
                            } catch (JournalConcurrencyException e) {
                                conflicts.incrementAndGet();
                                expected = e.currentSequenceNr();
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
            pool.shutdownNow();
        }
        List<JournalEvent<String>> events = journal(0).read("busy", String.class);
        assertThat(events).extracting(JournalEvent::sequenceNr).containsExactlyElementsOf(range(1, THREADS * perThread));
        Set<String> unique = new HashSet<>();
        events.forEach(e -> assertThat(unique.add(e.event())).as("event %s once", e.event()).isTrue());
        assertThat(conflicts.get()).as("the writers did race").isPositive();
    }

    @Test
    void durableStateCompareAndSetLosesNoUpdate() throws Exception {
        int perThread = 20;
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    DurableStateStore state = pgkits.get(thread % INSTANCES).persistence().durableState();
                    for (int i = 0; i < perThread; i++) {
                        while (true) {
                            var current = state.load("counter", Integer.class);
                            long revision = current.map(DurableState::revision).orElse(0L);
                            int value = current.map(DurableState::value).orElse(0);
                            try {
                                state.upsert("counter", revision, value + 1);
                                break;
                            } catch (DurableStateConcurrencyException e) {
                                assertThat(e.currentRevision()).isNotEqualTo(revision);
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
            pool.shutdownNow();
        }
        DurableState<Integer> end = pgkits.get(0).persistence().durableState().load("counter", Integer.class).orElseThrow();
        assertThat(end.value()).isEqualTo(THREADS * perThread);
        assertThat(end.revision()).isEqualTo(THREADS * perThread);
    }

    static List<Long> range(long from, long to) {
        List<Long> out = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            out.add(i);
        }
        return out;
    }
}
