package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
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
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every operation stays correct when the role's default isolation is SERIALIZABLE: 8 threads over two
 * {@code Pgkit} instances hammer one hot key per operation, through pgkit's own pool (which runs at
 * READ COMMITTED) and through a caller's pool whose connections really are serializable (where each
 * single statement is sent in its own READ COMMITTED transaction and the batches bring theirs). Zero
 * errors, no ERROR in the server log (no serialization failure), caps hold, one lock holder at a time.
 */
@ExtendWith(PostgresExtension.class)
class StateIsolationTest {
    static final int THREADS = 8;
    static final long RUN_MILLIS = 3_000;
    static final int QUEUE_CAP = 5;
    static final int LIST_CAP = 4;
    static TestPostgres postgres;
    static String role;
    static String callersRole;
    static String schema;

    @BeforeAll
    static void createSerializableRoles(TestPostgres server) {
        postgres = server;
        role = TestPostgres.uniqueName("pgkit_serializable");
        callersRole = TestPostgres.uniqueName("pgkit_serializable_caller");
        schema = TestPostgres.uniqueName("isolation");
        Db.admin(postgres,
                "CREATE ROLE " + role + " LOGIN PASSWORD 'pw'",
                "ALTER ROLE " + role + " SET default_transaction_isolation = 'serializable'",
                "CREATE ROLE " + callersRole + " LOGIN PASSWORD 'pw' IN ROLE " + role,
                "ALTER ROLE " + callersRole + " SET default_transaction_isolation = 'serializable'",
                "CREATE SCHEMA " + schema + " AUTHORIZATION " + role);
        // the tables belong to the first role; the caller's role inherits its privileges
        try (Pgkit owner = Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", 0)).schema(schema).disableHousekeeping().build()) {
            owner.migrate();
        }
    }

    @AfterAll
    static void dropRoles() {
        Db.admin(postgres, "DROP SCHEMA " + schema + " CASCADE", "DROP OWNED BY " + callersRole, "DROP ROLE " + callersRole,
                "DROP OWNED BY " + role, "DROP ROLE " + role);
    }

    @Test
    void pgkitsOwnPoolRunsAtReadCommittedForASerializableRole() throws Exception {
        List<Pgkit> instances = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                instances.add(Pgkit.builder().url(Db.server(postgres).urlFor(role, "pw", 0)).schema(schema).poolSize(THREADS / 2 + 1)
                        .disableHousekeeping().build());
            }
            assertThat(isolation(instances.get(0).dataSource())).as("pgkit's pooled connections").isEqualTo("read committed");
            hammer(instances.get(0).state("own"), instances.get(1).state("own"));
        } finally {
            instances.forEach(Pgkit::close);
        }
    }

    @Test
    void aCallersSerializablePoolWorksToo() throws Exception {
        List<HikariDataSource> pools = new ArrayList<>();
        List<Pgkit> instances = new ArrayList<>();
        try {
            for (int i = 0; i < 2; i++) {
                HikariConfig config = new HikariConfig();
                config.setJdbcUrl(Db.server(postgres).urlFor(callersRole, "pw", 0));
                config.setMaximumPoolSize(THREADS / 2 + 1);
                config.setAutoCommit(i == 0); // one pool hands out transactional connections, the other autocommit ones
                HikariDataSource pool = new HikariDataSource(config);
                pools.add(pool);
                instances.add(Pgkit.builder().dataSource(pool).schema(schema).disableHousekeeping().build());
            }
            assertThat(isolation(pools.get(0))).as("the caller's connections").isEqualTo("serializable");
            hammer(instances.get(0).state("callers"), instances.get(1).state("callers"));
        } finally {
            instances.forEach(Pgkit::close);
            pools.forEach(HikariDataSource::close);
        }
    }

    /**
     * The lock-then-work batches read what the previous lock holder committed, even on a pool whose
     * default is REPEATABLE READ (whose snapshot would otherwise date from before the lock wait): an
     * enqueue waiting for the key's lock while another session fills the queue to its cap must, once
     * the lock is free, trim to the cap. Deterministic: no retry or luck can hide a stale snapshot.
     */
    @Test
    void aBatchThatWaitedForTheKeyLockSeesWhatTheHolderCommitted() throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(Db.server(postgres).urlFor(role, "pw", 0));
        config.setMaximumPoolSize(2);
        config.setTransactionIsolation("TRANSACTION_REPEATABLE_READ");
        try (HikariDataSource repeatableRead = new HikariDataSource(config);
             Pgkit pgkit = Pgkit.builder().dataSource(repeatableRead).schema(schema).disableHousekeeping().build();
             Connection holder = Db.server(postgres).admin()) {
            StateStore store = pgkit.state("stale");
            String queues = schema + ".chat_state_queues";
            String lists = schema + ".chat_state_lists";
            assertThat(isolation(repeatableRead)).isEqualTo("repeatable read");

            holder.setAutoCommit(false);
            lockKey(holder, StateSql.QUEUE_LOCK_CLASS, "stale", "q");
            var enqueue = java.util.concurrent.CompletableFuture.supplyAsync(() -> store.enqueue("q", "late", Duration.ofMinutes(5), 3));
            awaitAdvisoryLockWaiters(1);
            try (Statement s = holder.createStatement()) {
                for (int i = 0; i < 3; i++) {
                    s.execute("INSERT INTO " + queues + " (key_prefix, thread_id, value, expires_at) VALUES ('stale', 'q', "
                            + "'{\"message\":\"early" + i + "\",\"enqueuedAt\":0,\"expiresAt\":0}', now() + interval '5 minutes')");
                }
            }
            holder.commit();
            assertThat(enqueue.get(30, TimeUnit.SECONDS)).as("depth reported").isEqualTo(3);
            assertThat(store.queueDepth("q")).as("depth after the late enqueue").isEqualTo(3);
            assertThat(store.dequeue("q", String.class)).map(QueueEntry::message).as("the oldest was trimmed").contains("early1");

            lockKey(holder, StateSql.LIST_LOCK_CLASS, "stale", "l");
            var append = java.util.concurrent.CompletableFuture.runAsync(() -> store.appendToList("l", "late", ListOptions.none().maxLength(3)));
            awaitAdvisoryLockWaiters(1);
            try (Statement s = holder.createStatement()) {
                s.execute("INSERT INTO " + lists + " (key_prefix, list_key, value) SELECT 'stale', 'l', to_json('early' || i)::text FROM generate_series(0, 2) i");
            }
            holder.commit();
            append.get(30, TimeUnit.SECONDS);
            assertThat(store.getList("l", String.class)).containsExactly("early1", "early2", "late");
        }
    }

    private static void lockKey(Connection holder, int lockClass, String prefix, String key) throws Exception {
        try (var s = holder.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?::text || chr(31) || ?::text))")) {
            s.setInt(1, lockClass);
            s.setString(2, prefix);
            s.setString(3, key);
            s.execute();
        }
    }

    private static void awaitAdvisoryLockWaiters(int count) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Connection c = Db.server(postgres).admin(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + role
                         + "' AND wait_event_type = 'Lock' AND wait_event = 'advisory'")) {
                rs.next();
                if (rs.getInt(1) >= count) {
                    return;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no session of " + role + " waits for the key's advisory lock");
            }
            Thread.sleep(10);
        }
    }

    /** One hot key per operation; every thread mixes all operations until the time is up. */
    static void hammer(StateStore first, StateStore second) throws Exception {
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger overlaps = new AtomicInteger();
        AtomicInteger depthOverCap = new AtomicInteger();
        AtomicLong operations = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            StateStore store = t % 2 == 0 ? first : second;
            futures.add(pool.submit(() -> {
                start.await();
                long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
                int i = 0;
                while (System.nanoTime() < end) {
                    try {
                        switch (ThreadLocalRandom.current().nextInt(5)) {
                            case 0 -> {
                                Optional<Lock> lock = store.acquireLock("hot-lock", Duration.ofSeconds(10));
                                if (lock.isPresent()) {
                                    if (holders.incrementAndGet() > 1) {
                                        overlaps.incrementAndGet();
                                    }
                                    holders.decrementAndGet();
                                    store.releaseLock(lock.get());
                                }
                            }
                            case 1 -> store.set("hot-key", i);
                            case 2 -> {
                                if (store.enqueue("hot-queue", "m" + i, Duration.ofMinutes(5), QUEUE_CAP) > QUEUE_CAP) {
                                    depthOverCap.incrementAndGet();
                                }
                            }
                            case 3 -> store.dequeue("hot-queue", String.class);
                            default -> store.appendToList("hot-list", i, ListOptions.none().maxLength(LIST_CAP));
                        }
                        operations.incrementAndGet();
                    } catch (RuntimeException e) {
                        errors.add(e);
                    }
                    i++;
                }
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get(2, TimeUnit.MINUTES);
        }
        pool.shutdown();
        assertThat(errors).as("failed operations (of %d)", operations.get() + errors.size()).isEmpty();
        assertThat(operations.get()).as("operations done").isGreaterThan(200);
        assertThat(overlaps.get()).as("two holders of one lock at once").isZero();
        assertThat(depthOverCap.get()).as("enqueues that reported a depth over the cap").isZero();
        assertThat(first.queueDepth("hot-queue")).isLessThanOrEqualTo(QUEUE_CAP);
        assertThat(first.getList("hot-list", Integer.class)).hasSizeLessThanOrEqualTo(LIST_CAP);
    }

    static String isolation(DataSource dataSource) throws Exception {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW transaction_isolation")) {
            rs.next();
            String level = rs.getString(1);
            if (!c.getAutoCommit()) {
                c.rollback();
            }
            return level;
        }
    }
}
