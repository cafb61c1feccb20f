package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
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
        assertSurvivorsAreTheNewest("chat_state_lists", "list_key", "capped-list", maxLength, list, perThread);
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
        assertThat(Db.scalar(servers.get(0), "SELECT count(*) FROM " + table("chat_state_queues") + " WHERE key_prefix = '"
                + prefix + "' AND thread_id = 'capped-queue'")).as("rows in the table, not just live ones").isEqualTo(maxSize);
        List<Integer> survivors = Db.ints(servers.get(0), "SELECT (value::jsonb ->> 'message')::int FROM " + table("chat_state_queues")
                + " WHERE key_prefix = '" + prefix + "' AND thread_id = 'capped-queue' ORDER BY seq");
        assertSurvivorsAreTheNewest("chat_state_queues", "thread_id", "capped-queue", maxSize, survivors, perThread);
    }

    static String table(String name) {
        return "\"" + servers.get(0).schema() + "\"." + name;
    }

    /**
     * The entries a capped list or queue kept after a race are the newest ones: the {@code cap} highest
     * sequence numbers the race assigned (it was the only writer of the table, and a writer of one key
     * inserts while it holds that key), and for each writer thread its last ones, in its order.
     */
    static void assertSurvivorsAreTheNewest(String tableName, String keyColumn, String key, int cap, List<Integer> survivors, int perThread) {
        String table = table(tableName);
        long lastAssigned = Db.scalar(servers.get(0), "SELECT pg_sequence_last_value(pg_get_serial_sequence('" + table.replace("'", "''")
                + "', 'seq')::regclass)");
        List<Long> seqs = Db.longs(servers.get(0), "SELECT seq FROM " + table + " WHERE key_prefix = '" + prefix + "' AND " + keyColumn
                + " = '" + key + "' ORDER BY seq");
        List<Long> newest = new ArrayList<>();
        for (long seq = lastAssigned - cap + 1; seq <= lastAssigned; seq++) {
            newest.add(seq);
        }
        assertThat(seqs).as("the survivors are the %d newest entries by sequence: the oldest were dropped", cap).isEqualTo(newest);
        for (int t = 0; t < THREADS; t++) {
            int thread = t;
            List<Integer> own = survivors.stream().filter(v -> v / 1_000 == thread).toList();
            List<Integer> last = new ArrayList<>();
            for (int i = perThread - own.size(); i < perThread; i++) {
                last.add(thread * 1_000 + i);
            }
            assertThat(own).as("writer %d's surviving entries are its last ones, in its order", thread).isEqualTo(last);
        }
    }

    /**
     * Makes two writers of one full list or queue overlap, every time: another transaction row-locks
     * the key's oldest row (the one each writer must drop), both writers start, and the row lock is
     * released only once PostgreSQL shows both waiting. Writers serialised per key then drop one row
     * each; unserialised, both compute the same oldest row from the same snapshot, both delete it, and
     * the key ends one over its cap.
     */
    static void overlapTwoWritersOnTheOldestRow(String tableName, String keyColumn, String key,
                                                Callable<?> first, Callable<?> second) throws Exception {
        Pgkit admin = servers.get(0);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Connection locker = admin.dataSource().getConnection()) {
            locker.setAutoCommit(false);
            int lockerPid;
            try (Statement s = locker.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    lockerPid = rs.getInt(1);
                }
                try (ResultSet rs = s.executeQuery("SELECT seq FROM " + table(tableName) + " WHERE key_prefix = '" + prefix + "' AND "
                        + keyColumn + " = '" + key + "' ORDER BY seq LIMIT 1 FOR UPDATE")) {
                    assertThat(rs.next()).as("the key has an oldest row").isTrue();
                }
            }
            Future<?> a = pool.submit(first);
            Future<?> b = pool.submit(second);
            Db.awaitSessionsBlockedBy(admin, lockerPid, 2);
            locker.commit();
            locker.setAutoCommit(true);
            a.get(30, TimeUnit.SECONDS);
            b.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void queueCapHoldsWhenTwoEnqueuersOverlapOnAFullQueue() throws Exception {
        int cap = 5;
        for (int i = 0; i < cap; i++) {
            stores.get(0).enqueue("overlap-queue", i, Duration.ofMinutes(10), cap);
        }
        List<Integer> depths = new java.util.concurrent.CopyOnWriteArrayList<>();
        overlapTwoWritersOnTheOldestRow("chat_state_queues", "thread_id", "overlap-queue",
                () -> depths.add(stores.get(1).enqueue("overlap-queue", 100, Duration.ofMinutes(10), cap)),
                () -> depths.add(stores.get(2).enqueue("overlap-queue", 101, Duration.ofMinutes(10), cap)));
        assertThat(depths).containsExactly(cap, cap);
        assertThat(stores.get(0).queueDepth("overlap-queue")).isEqualTo(cap);
        List<Integer> rows = Db.ints(servers.get(0), "SELECT (value::jsonb ->> 'message')::int FROM " + table("chat_state_queues")
                + " WHERE key_prefix = '" + prefix + "' AND thread_id = 'overlap-queue' ORDER BY seq");
        assertThat(rows).as("rows in the table: the two oldest dropped, both new entries kept").hasSize(cap)
                .startsWith(2, 3, 4).containsAll(List.of(100, 101));
    }

    @Test
    void listCapHoldsWhenTwoAppendersOverlapOnAFullList() throws Exception {
        int cap = 5;
        ListOptions capped = ListOptions.none().maxLength(cap);
        for (int i = 0; i < cap; i++) {
            stores.get(0).appendToList("overlap-list", i, capped);
        }
        overlapTwoWritersOnTheOldestRow("chat_state_lists", "list_key", "overlap-list",
                () -> {
                    stores.get(1).appendToList("overlap-list", 100, capped);
                    return null;
                },
                () -> {
                    stores.get(2).appendToList("overlap-list", 101, capped);
                    return null;
                });
        assertThat(stores.get(0).getList("overlap-list", Integer.class)).hasSize(cap);
        List<Integer> rows = Db.ints(servers.get(0), "SELECT value::int FROM " + table("chat_state_lists")
                + " WHERE key_prefix = '" + prefix + "' AND list_key = 'overlap-list' ORDER BY seq");
        assertThat(rows).as("rows in the table: the two oldest dropped, both new entries kept").hasSize(cap)
                .startsWith(2, 3, 4).containsAll(List.of(100, 101));
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
