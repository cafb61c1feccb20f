package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * 16 threads over 4 {@code Pgkit} instances (standing for 4 servers), all on the same keys: mutual
 * exclusion, exact caps, and exactly-once dequeue.
 */
@ExtendWith(PostgresExtension.class)
class StateConcurrencyTest {
    static final int INSTANCES = 4;
    static final int THREADS = 16;
    static final List<Pgkit> servers = new ArrayList<>();
    static final List<StateStore> stores = new ArrayList<>();
    static String prefix;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("state_concurrency");
        prefix = TestPostgres.uniqueName("c");
        for (int i = 0; i < INSTANCES; i++) {
            // a re-check far above every wait's bound: waiters are woken by NOTIFY or not at all
            Pgkit pgkit = Db.builder(postgres, schema).poolSize(THREADS / INSTANCES + 1).waitRecheckInterval(Duration.ofSeconds(60)).build();
            servers.add(pgkit);
            stores.add(pgkit.state(prefix));
        }
    }

    @AfterAll
    static void tearDown() {
        for (int i = 1; i < servers.size(); i++) {
            servers.get(i).close();
        }
        Db.dropAndClose(servers.get(0));
    }

    interface Worker {
        void run(StateStore store, int thread) throws Exception;
    }

    /** Runs one worker per thread, thread i on instance i % 4, all released at once. */
    static void race(Worker worker) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            futures.add(pool.submit(() -> {
                start.await();
                worker.run(stores.get(thread % INSTANCES), thread);
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get(3, TimeUnit.MINUTES);
        }
        pool.shutdown();
    }

    @Test
    void noTwoHoldersOfOneLockEver() throws Exception {
        int perThread = 300;
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        AtomicLong acquisitions = new AtomicLong();
        long[] unsafeCounter = {0};
        Set<Long> fences = ConcurrentHashMap.newKeySet();
        race((store, thread) -> {
            int done = 0;
            while (done < perThread) {
                Optional<Lock> lock = store.acquireLock("hot-lock", Duration.ofSeconds(30));
                if (lock.isEmpty()) {
                    continue;
                }
                int now = holders.incrementAndGet();
                maxHolders.accumulateAndGet(now, Math::max);
                long read = unsafeCounter[0];
                Thread.onSpinWait();
                unsafeCounter[0] = read + 1; // a lost update here means two holders overlapped
                holders.decrementAndGet();
                fences.add(lock.get().fence());
                assertThat(store.releaseLock(lock.get())).isTrue();
                acquisitions.incrementAndGet();
                done++;
            }
        });
        assertThat(maxHolders.get()).isEqualTo(1);
        assertThat(acquisitions.get()).isEqualTo((long) THREADS * perThread);
        assertThat(unsafeCounter[0]).isEqualTo((long) THREADS * perThread);
        assertThat(fences).as("every acquisition has its own fence").hasSize(THREADS * perThread);
    }

    @Test
    void waitingAcquirersAllGetTheLockInTurn() throws Exception {
        int perThread = 20;
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        AtomicInteger acquired = new AtomicInteger();
        race((store, thread) -> {
            for (int i = 0; i < perThread; i++) {
                Lock lock = store.acquireLock("queue-lock", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(20)))
                        .orElseThrow(() -> new AssertionError("a waiter gave up although every holder releases promptly (a wake-up was missed)"));
                maxHolders.accumulateAndGet(holders.incrementAndGet(), Math::max);
                holders.decrementAndGet();
                lock.close();
                acquired.incrementAndGet();
            }
        });
        assertThat(maxHolders.get()).isEqualTo(1);
        assertThat(acquired.get()).isEqualTo(THREADS * perThread);
    }

    @Test
    void listCapHoldsExactlyUnderConcurrentAppenders() throws Exception {
        int perThread = 150;
        int maxLength = 25;
        AtomicInteger overCap = new AtomicInteger();
        race((store, thread) -> {
            for (int i = 0; i < perThread; i++) {
                store.appendToList("capped-list", thread * 1_000 + i, ListOptions.none().maxLength(maxLength).ttl(Duration.ofMinutes(10)));
                if (i % 10 == 0 && store.getList("capped-list", Integer.class).size() > maxLength) {
                    overCap.incrementAndGet();
                }
            }
        });
        List<Integer> list = stores.get(0).getList("capped-list", Integer.class);
        assertThat(overCap.get()).as("the list was never observed over its cap").isZero();
        assertThat(list).hasSize(maxLength);
        assertThat(Db.scalar(servers.get(0), "SELECT count(*) FROM \"" + servers.get(0).schema() + "\".chat_state_lists WHERE key_prefix = '"
                + prefix + "' AND list_key = 'capped-list'")).as("rows in the table, not just visible ones").isEqualTo(maxLength);
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            List<Integer> own = list.stream().filter(v -> v / 1_000 == thread).toList();
            assertThat(own).as("each writer's surviving entries keep their order").isSorted();
        }
    }

    @Test
    void queueCapHoldsExactlyUnderConcurrentEnqueuers() throws Exception {
        int perThread = 150;
        int maxSize = 40;
        AtomicInteger reportedOverCap = new AtomicInteger();
        race((store, thread) -> {
            for (int i = 0; i < perThread; i++) {
                int depth = store.enqueue("capped-queue", thread * 1_000 + i, Duration.ofMinutes(10), maxSize);
                if (depth > maxSize || depth < 1) {
                    reportedOverCap.incrementAndGet();
                }
            }
        });
        assertThat(reportedOverCap.get()).isZero();
        assertThat(stores.get(0).queueDepth("capped-queue")).isEqualTo(maxSize);
    }

    @Test
    void everyEnqueuedEntryIsDequeuedExactlyOnce() throws Exception {
        int producers = 8;
        int perProducer = 250;
        Set<Integer> seen = ConcurrentHashMap.newKeySet();
        AtomicInteger duplicates = new AtomicInteger();
        AtomicInteger consumed = new AtomicInteger();
        int total = producers * perProducer;
        race((store, thread) -> {
            if (thread < producers) {
                for (int i = 0; i < perProducer; i++) {
                    store.enqueue("work", thread * 10_000 + i, Duration.ofMinutes(10));
                }
            } else {
                while (consumed.get() < total) {
                    Optional<QueueEntry<Integer>> entry = store.dequeue("work", Integer.class, Duration.ofMillis(200));
                    if (entry.isPresent()) {
                        if (!seen.add(entry.get().message())) {
                            duplicates.incrementAndGet();
                        }
                        consumed.incrementAndGet();
                    }
                }
            }
        });
        assertThat(duplicates.get()).isZero();
        assertThat(seen).hasSize(total);
        assertThat(stores.get(0).queueDepth("work")).isZero();
    }

    @Test
    void dequeueNeverReportsEmptyWhileAnEntryIsUnclaimed() throws Exception {
        // Fill a queue, then let 16 consumers drain it without waiting: no consumer may see "empty" before
        // the queue really is empty, which a plain SELECT ... LIMIT 1 + DELETE would do under contention.
        int entries = 1_600;
        for (int i = 0; i < entries; i++) {
            stores.get(i % INSTANCES).enqueue("drain", i, Duration.ofMinutes(10));
        }
        AtomicInteger taken = new AtomicInteger();
        AtomicInteger falseEmpties = new AtomicInteger();
        race((store, thread) -> {
            while (true) {
                Optional<QueueEntry<Integer>> entry = store.dequeue("drain", Integer.class);
                if (entry.isPresent()) {
                    taken.incrementAndGet();
                } else {
                    if (taken.get() < entries) {
                        // the entries still unclaimed at this moment must be held by other consumers' open deletes
                        int remaining = store.queueDepth("drain");
                        if (remaining > THREADS) {
                            falseEmpties.incrementAndGet();
                        }
                    }
                    return;
                }
            }
        });
        assertThat(taken.get()).isEqualTo(entries);
        assertThat(falseEmpties.get()).isZero();
    }

    @Test
    void capsHoldWhenThePoolDefaultsToRepeatableRead() throws Exception {
        com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
        config.setDataSource(servers.get(0).dataSource());
        config.setMaximumPoolSize(8);
        config.setTransactionIsolation("TRANSACTION_REPEATABLE_READ");
        try (com.zaxxer.hikari.HikariDataSource repeatableRead = new com.zaxxer.hikari.HikariDataSource(config);
             Pgkit pgkit = Pgkit.builder().dataSource(repeatableRead).schema(servers.get(0).schema()).disableHousekeeping().build()) {
            StateStore store = pgkit.state(prefix);
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int thread = t;
                futures.add(pool.submit(() -> {
                    for (int i = 0; i < 60; i++) {
                        store.enqueue("rr-queue", thread * 1_000 + i, Duration.ofMinutes(10), 7);
                        store.appendToList("rr-list", i, ListOptions.none().maxLength(7));
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(2, TimeUnit.MINUTES);
            }
            pool.shutdown();
            assertThat(store.queueDepth("rr-queue")).isEqualTo(7);
            assertThat(store.getList("rr-list", Integer.class)).hasSize(7);
        }
    }
}
