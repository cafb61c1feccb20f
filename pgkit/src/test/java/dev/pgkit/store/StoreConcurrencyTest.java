package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.ArrayList;
import java.util.List;
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

/** Concurrent writers of one record with expected versions, on several Pgkit instances (several servers). */
@ExtendWith(PostgresExtension.class)
class StoreConcurrencyTest {
    static final int INSTANCES = 3;
    static final int THREADS = 12;
    static List<Pgkit> pgkits = new ArrayList<>();
    static List<Store> stores = new ArrayList<>();
    static String schema;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        schema = TestPostgres.uniqueName("persist_cc");
        for (int i = 0; i < INSTANCES; i++) {
            Pgkit pgkit = StoreTestSupport.pgkit(postgres, "store_cc");
            pgkits.add(pgkit);
            stores.add(StoreTestSupport.store(pgkit, "analytics", schema));
        }
    }

    @AfterAll
    static void tearDown() {
        for (int i = 0; i < pgkits.size(); i++) {
            StoreTestSupport.drop(pgkits.get(i), i == 0 ? new String[] {schema} : new String[0]);
        }
    }

    @Test
    void ofWritersExpectingTheSameVersionExactlyOneWinsEachRound() throws Exception {
        String key = "contended";
        stores.get(0).records().put(key, -1, 0);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            for (int round = 1; round <= 20; round++) {
                long expected = stores.get(0).records().version(key);
                CyclicBarrier start = new CyclicBarrier(THREADS);
                AtomicInteger conflictsAtNext = new AtomicInteger();
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    Store store = stores.get(t % INSTANCES);
                    int writer = t;
                    results.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        try {
                            store.records().put(key, writer, expected);
                            return true;
                        } catch (VersionConflictException e) {
                            if (e.currentVersion() == expected + 1) {
                                conflictsAtNext.incrementAndGet();
                            }
                            return false;
                        }
                    }));
                }
                int wins = 0;
                for (Future<Boolean> result : results) {
                    wins += result.get(30, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertThat(wins).as("round %d", round).isEqualTo(1);
                assertThat(conflictsAtNext.get()).as("the losers are told the winner's version").isEqualTo(THREADS - 1);
                assertThat(stores.get(1).records().version(key)).isEqualTo(expected + 1);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(StoreTestSupport.count(pgkits.get(0), schema, "persist_sync_queue", "key = 'contended'")).isEqualTo(21);
    }

    @Test
    void compareAndSetIncrementsLoseNoUpdate() throws Exception {
        String key = "counter";
        int perThread = 25;
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                Store store = stores.get(t % INSTANCES);
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        while (true) {
                            var current = store.records().get(key, Integer.class);
                            long version = current.map(StoredRecord::version).orElse(0L);
                            int value = current.map(StoredRecord::value).orElse(0);
                            try {
                                store.records().put(key, value + 1, version); // unsynchronised read-modify-write, guarded by the version
                                break;
                            } catch (VersionConflictException e) {
                                // lost the race: read again
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        StoredRecord<Integer> counter = stores.get(2).records().get(key, Integer.class).orElseThrow();
        assertThat(counter.value()).isEqualTo(THREADS * perThread);
        assertThat(counter.version()).isEqualTo(THREADS * perThread);
    }
}
