package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.internal.WakeProtocol;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The behaviour of each state operation, as seed 000 and the Node adapter define it. */
@ExtendWith(PostgresExtension.class)
class StateStoreTest {
    /** Far above every bound these tests assert: a wake-up they see came from NOTIFY, a presence or a gap, never a re-check. */
    static final Duration RECHECK = Duration.ofSeconds(60);
    static TestPostgres server;
    static Pgkit pgkit;
    static StateStore state;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        server = postgres;
        pgkit = Db.builder(postgres, TestPostgres.uniqueName("state_behaviour")).waitRecheckInterval(RECHECK).build();
        state = pgkit.state(TestPostgres.uniqueName("p"));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    /** Makes every row of this store's prefix expired, as if time had passed (the server clock is the only clock). */
    static void expireAll(String table) {
        Db.execute(pgkit, "UPDATE \"" + pgkit.schema() + "\"." + table + " SET expires_at = now() - interval '1 second' WHERE key_prefix = '"
                + state.keyPrefix() + "' AND expires_at IS NOT NULL");
    }

    @Nested
    class Subscriptions {
        @Test
        void subscribeIsIdempotentAndUnsubscribeRemoves() {
            assertThat(state.isSubscribed("t1")).isFalse();
            state.subscribe("t1");
            state.subscribe("t1");
            assertThat(state.isSubscribed("t1")).isTrue();
            state.unsubscribe("t1");
            assertThat(state.isSubscribed("t1")).isFalse();
            state.unsubscribe("t1");
        }

        @Test
        void prefixesAreSeparateNamespaces() {
            StateStore other = pgkit.state(TestPostgres.uniqueName("other"));
            state.subscribe("shared-thread");
            assertThat(other.isSubscribed("shared-thread")).isFalse();
        }
    }

    @Nested
    class Locks {
        @Test
        void secondAcquireFailsUntilReleased() {
            Lock first = state.acquireLock("lock-a", Duration.ofSeconds(30)).orElseThrow();
            assertThat(first.token()).startsWith("pg_");
            assertThat(first.isHeld()).isTrue();
            assertThat(state.acquireLock("lock-a", Duration.ofSeconds(30))).isEmpty();
            assertThat(state.releaseLock(first)).isTrue();
            assertThat(first.isHeld()).isFalse();
            Lock second = state.acquireLock("lock-a", Duration.ofSeconds(30)).orElseThrow();
            assertThat(second.fence()).isGreaterThan(first.fence());
            assertThat(second.token()).isNotEqualTo(first.token());
            second.close();
        }

        @Test
        void expiredLockCanBeTakenAndOldHolderCannotReleaseOrExtendIt() {
            Lock stale = state.acquireLock("lock-b", Duration.ofSeconds(30)).orElseThrow();
            expireAll("chat_state_locks");
            Lock fresh = state.acquireLock("lock-b", Duration.ofSeconds(30)).orElseThrow();
            assertThat(state.releaseLock(stale)).isFalse();
            assertThat(state.extendLock(stale, Duration.ofSeconds(30))).isFalse();
            assertThat(state.acquireLock("lock-b", Duration.ofSeconds(30))).as("fresh lock still held").isEmpty();
            fresh.close();
        }

        @Test
        void extendNeverRevivesALapsedLease() {
            Lock lock = state.acquireLock("lock-lapsed", Duration.ofSeconds(30)).orElseThrow();
            // The lease ends by the server's clock while nobody else takes the lock: the token still matches.
            Db.execute(pgkit, "UPDATE \"" + pgkit.schema() + "\".chat_state_locks SET expires_at = now() - interval '1 second'"
                    + " WHERE key_prefix = '" + state.keyPrefix() + "' AND thread_id = 'lock-lapsed'");
            assertThat(state.extendLock(lock, Duration.ofSeconds(30))).as("a lapsed lease cannot be extended").isFalse();
            assertThat(lock.isHeld()).isFalse();
            Lock next = state.acquireLock("lock-lapsed", Duration.ofSeconds(30))
                    .orElseThrow(() -> new AssertionError("the lapsed lock must be free for a new holder"));
            assertThat(state.releaseLock(lock)).as("the old holder cannot release the new holder's lock").isFalse();
            next.close();
        }

        @Test
        void extendMovesExpiryByServerClock() {
            Lock lock = state.acquireLock("lock-c", Duration.ofSeconds(2)).orElseThrow();
            var before = lock.expiresAt();
            assertThat(state.extendLock(lock, Duration.ofMinutes(10))).isTrue();
            assertThat(lock.expiresAt()).isAfter(before.plusSeconds(500));
            assertThat(Db.scalar(pgkit, "SELECT extract(epoch FROM expires_at - now())::bigint FROM \"" + pgkit.schema()
                    + "\".chat_state_locks WHERE thread_id = 'lock-c' AND key_prefix = '" + state.keyPrefix() + "'")).isBetween(590L, 600L);
            lock.close();
        }

        @Test
        void forceReleaseMakesHoldersReleaseANoOp() {
            Lock lock = state.acquireLock("lock-d", Duration.ofSeconds(30)).orElseThrow();
            assertThat(state.forceReleaseLock("lock-d")).isTrue();
            Lock next = state.acquireLock("lock-d", Duration.ofSeconds(30)).orElseThrow();
            assertThat(state.releaseLock(lock)).isFalse();
            assertThat(state.acquireLock("lock-d", Duration.ofSeconds(30))).isEmpty();
            next.close();
        }

        @Test
        void waitingAcquireIsWokenByRelease() throws Exception {
            Lock held = state.acquireLock("lock-e", Duration.ofSeconds(120)).orElseThrow();
            CompletableFuture<Optional<Lock>> result = new CompletableFuture<>();
            Thread waiter = new Thread(() -> result.complete(
                    state.acquireLock("lock-e", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(20)))));
            waiter.start();
            WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_LOCK, state.keyPrefix(), "lock-e", waiter);
            long start = System.nanoTime();
            held.close();
            Optional<Lock> waited = result.get(30, TimeUnit.SECONDS);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(waited).as("woken by the release's NOTIFY, not by the 60 s re-check or the 120 s lease").isPresent();
            assertThat(millis).isLessThan(3_000);
            waited.get().close();
        }

        @Test
        void waitingAcquireGivesUpAtItsDeadline() {
            Lock held = state.acquireLock("lock-f", Duration.ofSeconds(60)).orElseThrow();
            long start = System.nanoTime();
            Optional<Lock> waited = state.acquireLock("lock-f", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofMillis(400)));
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(waited).isEmpty();
            assertThat(millis).isBetween(350L, 5_000L);
            held.close();
        }

        @Test
        void waitingAcquireTakesTheLockWhenTheLeaseEnds() {
            state.acquireLock("lock-g", Duration.ofMillis(700)).orElseThrow(); // never released: the holder "crashed"
            Optional<Lock> waited = state.acquireLock("lock-g", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(10)));
            assertThat(waited).isPresent();
            waited.get().close();
        }

        @Test
        void watchdogKeepsTheLockUntilClosed() {
            Lock lock = state.acquireLock("lock-h", LockOptions.lease(Duration.ofMillis(600)).autoExtend()).orElseThrow();
            sleep(2_000);
            assertThat(lock.isHeld()).isTrue();
            assertThat(state.acquireLock("lock-h", Duration.ofSeconds(5))).as("still held after three leases").isEmpty();
            lock.close();
            assertThat(state.acquireLock("lock-h", Duration.ofSeconds(5))).isPresent();
        }

        @Test
        void watchdogNoticesALostLock() throws Exception {
            long start = System.nanoTime();
            Lock lock = state.acquireLock("lock-i", LockOptions.lease(Duration.ofSeconds(6)).autoExtend()).orElseThrow();
            state.forceReleaseLock("lock-i");
            Lock thief = state.acquireLock("lock-i", Duration.ofSeconds(30)).orElseThrow();
            while (lock.isHeld() && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(20);
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(lock.isHeld()).isFalse();
            assertThat(millis).as("noticed by the renewal at a third of the lease (2 s), not when the 6 s lease estimate ends")
                    .isLessThan(3_500);
            assertThat(state.acquireLock("lock-i", Duration.ofSeconds(5))).as("the watchdog must not steal it back").isEmpty();
            assertThat(lock.extend()).isFalse();
            thief.close();
        }

        @Test
        void watchdogRenewsWhileTheApplicationHoldsEveryPoolConnection() throws Exception {
            try (Pgkit small = Db.builder(server, pgkit.schema()).poolSize(2).build()) {
                StateStore store = small.state(state.keyPrefix());
                Lock lock = store.acquireLock("lock-busy-pool", LockOptions.lease(Duration.ofMillis(1_500)).autoExtend()).orElseThrow();
                try (Connection a = small.dataSource().getConnection(); Connection b = small.dataSource().getConnection()) {
                    Thread.sleep(5_000); // more than three leases pass while the pool has nothing to lend
                    try (PreparedStatement check = a.prepareStatement("SELECT expires_at > now() FROM \"" + pgkit.schema()
                            + "\".chat_state_locks WHERE key_prefix = ? AND thread_id = ? AND token = ?")) {
                        check.setString(1, state.keyPrefix());
                        check.setString(2, "lock-busy-pool");
                        check.setString(3, lock.token());
                        try (ResultSet rs = check.executeQuery()) {
                            assertThat(rs.next() && rs.getBoolean(1)).as("the lease is still renewed in the table").isTrue();
                        }
                    }
                    assertThat(lock.isHeld()).isTrue();
                }
                lock.close();
            }
        }

        @Test
        @ExpectServerLog("permission denied for schema") // the listener role's one refused renewal, before the pool takes over
        void watchdogRenewsThroughThePoolWhenTheListenersRoleCannot() throws Exception {
            String role = TestPostgres.uniqueName("no_write_role");
            Db.execute(pgkit, "CREATE ROLE " + role + " LOGIN"); // may LISTEN, may not touch pgkit's tables
            try {
                try (Pgkit split = Db.builder(server, pgkit.schema()).listenerUrl(Db.withUser(server.url(), role)).build()) {
                    StateStore store = split.state(state.keyPrefix());
                    Lock lock = store.acquireLock("lock-listener-role", LockOptions.lease(Duration.ofMillis(900)).autoExtend()).orElseThrow();
                    Thread.sleep(3_000); // more than three leases
                    assertThat(lock.isHeld()).isTrue();
                    assertThat(store.acquireLock("lock-listener-role", Duration.ofSeconds(5))).as("still held").isEmpty();
                    lock.close();
                }
            } finally {
                Db.execute(pgkit, "DROP ROLE " + role);
            }
        }

        @Test
        void aLostLockIsNeverRevived() throws Exception {
            String locks = "\"" + pgkit.schema() + "\".chat_state_locks";
            Lock lapsed = state.acquireLock("lock-j", Duration.ofMillis(300)).orElseThrow();
            // the row outlives this holder's own lease estimate (as when its last response arrived late)
            Db.execute(pgkit, "UPDATE " + locks + " SET expires_at = now() + interval '1 minute' WHERE token = '" + lapsed.token() + "'");
            String expiry = "SELECT extract(epoch FROM expires_at) * 1000000 FROM " + locks + " WHERE token = '" + lapsed.token() + "'";
            long before = Db.scalar(pgkit, expiry);
            while (lapsed.isHeld()) {
                Thread.sleep(10);
            }
            assertThat(lapsed.extend()).as("a lapsed lease is not extended").isFalse();
            assertThat(lapsed.isHeld()).isFalse();
            assertThat(Db.scalar(pgkit, expiry)).as("no extension was sent").isEqualTo(before);

            Lock gone = state.acquireLock("lock-k", Duration.ofSeconds(30)).orElseThrow();
            state.forceReleaseLock("lock-k");
            assertThat(gone.extend()).isFalse();
            Db.execute(pgkit, "INSERT INTO " + locks + " (key_prefix, thread_id, token, expires_at) VALUES ('" + state.keyPrefix()
                    + "', 'lock-k', '" + gone.token() + "', now() + interval '1 minute')");
            assertThat(gone.extend()).as("a lock found lost stays lost, even if a later attempt could succeed").isFalse();
            assertThat(gone.isHeld()).isFalse();
            state.forceReleaseLock("lock-j");
            state.forceReleaseLock("lock-k");
        }
    }

    @Nested
    class Cache {
        @Test
        void setGetDeleteRoundTripJsonValues() {
            state.set("k1", Map.of("a", 1, "b", List.of("x", "y")));
            assertThat(state.get("k1", Map.class)).contains(Map.of("a", 1, "b", List.of("x", "y")));
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_cache WHERE value = '{\"a\":1,\"b\":[\"x\",\"y\"]}'"
                    + " OR value = '{\"b\":[\"x\",\"y\"],\"a\":1}'")).as("stored as JSON.stringify would").isEqualTo(1);
            state.set("k1", "replaced");
            assertThat(state.get("k1", String.class)).contains("replaced");
            assertThat(state.delete("k1")).isTrue();
            assertThat(state.get("k1", String.class)).isEmpty();
            assertThat(state.delete("k1")).isFalse();
        }

        @Test
        void ttlExpiresByServerClock() {
            state.set("k2", 42, Duration.ofMinutes(5));
            assertThat(state.get("k2", Integer.class)).contains(42);
            expireAll("chat_state_cache");
            assertThat(state.get("k2", Integer.class)).isEmpty();
        }

        @Test
        void setIfNotExistsOnlyWritesAbsentOrExpiredKeys() {
            assertThat(state.setIfNotExists("k3", "first", Duration.ofMinutes(5))).isTrue();
            assertThat(state.setIfNotExists("k3", "second")).isFalse();
            assertThat(state.get("k3", String.class)).contains("first");
            expireAll("chat_state_cache");
            assertThat(state.setIfNotExists("k3", "third")).isTrue();
            assertThat(state.get("k3", String.class)).contains("third");
            assertThat(state.setIfNotExists("k3", "fourth")).as("no TTL: never expires").isFalse();
        }

        @Test
        void aStoredJsonNullReadsAsAbsent() {
            // What the Node adapter's set(key, null) writes; its get returns null for it.
            Db.execute(pgkit, "INSERT INTO \"" + pgkit.schema() + "\".chat_state_cache (key_prefix, cache_key, value) VALUES ('"
                    + state.keyPrefix() + "', 'k-null', 'null')");
            assertThat(state.get("k-null", Object.class)).isEmpty();
            assertThat(state.get("k-null", String.class)).isEmpty();
            assertThat(state.setIfNotExists("k-null", "x")).as("the row is there, with no expiry").isFalse();
        }

        @Test
        void setWithoutTtlClearsAnEarlierTtl() {
            state.set("k4", 1, Duration.ofMinutes(5));
            state.set("k4", 2);
            expireAll("chat_state_cache");
            assertThat(state.get("k4", Integer.class)).contains(2);
        }
    }

    @Nested
    class Lists {
        @Test
        void appendKeepsOrderAndTrimsOldest() {
            for (int i = 1; i <= 7; i++) {
                state.appendToList("l1", i, ListOptions.none().maxLength(3));
            }
            assertThat(state.getList("l1", Integer.class)).containsExactly(5, 6, 7);
        }

        @Test
        void ttlAppliesToTheWholeList() {
            state.appendToList("l2", "a");
            state.appendToList("l2", "b", ListOptions.none().ttl(Duration.ofMinutes(5)));
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_lists WHERE list_key = 'l2' AND key_prefix = '"
                    + state.keyPrefix() + "' AND expires_at > now() + interval '4 minutes'")).isEqualTo(2);
            expireAll("chat_state_lists");
            assertThat(state.getList("l2", String.class)).isEmpty();
            state.appendToList("l2", "c");
            assertThat(state.getList("l2", String.class)).containsExactly("c");
        }

        @Test
        void missingListIsEmpty() {
            assertThat(state.getList("nope", String.class)).isEmpty();
        }
    }

    @Nested
    class Queues {
        record Message(String text, int n) {
        }

        @Test
        void fifoWithDepth() {
            assertThat(state.enqueue("q1", new Message("a", 1), Duration.ofMinutes(1), 10)).isEqualTo(1);
            assertThat(state.enqueue("q1", new Message("b", 2), Duration.ofMinutes(1), 10)).isEqualTo(2);
            assertThat(state.queueDepth("q1")).isEqualTo(2);
            QueueEntry<Message> first = state.dequeue("q1", Message.class).orElseThrow();
            assertThat(first.message()).isEqualTo(new Message("a", 1));
            assertThat(first.expiresAt()).isAfter(first.enqueuedAt().plusSeconds(59));
            assertThat(state.dequeue("q1", Message.class).orElseThrow().message().text()).isEqualTo("b");
            assertThat(state.dequeue("q1", Message.class)).isEmpty();
            assertThat(state.queueDepth("q1")).isZero();
        }

        @Test
        void maxSizeDropsOldest() {
            for (int i = 1; i <= 5; i++) {
                assertThat(state.enqueue("q2", new Message("m", i), Duration.ofMinutes(1), 3)).isEqualTo(Math.min(i, 3));
            }
            assertThat(state.dequeue("q2", Message.class).orElseThrow().message().n()).isEqualTo(3);
        }

        @Test
        void expiredEntriesAreSkippedAndNotCounted() {
            state.enqueue("q3", new Message("old", 1), Duration.ofMinutes(1), 10);
            expireAll("chat_state_queues");
            assertThat(state.queueDepth("q3")).isZero();
            assertThat(state.dequeue("q3", Message.class)).isEmpty();
            assertThat(state.enqueue("q3", new Message("new", 2), Duration.ofMinutes(1), 10)).isEqualTo(1);
        }

        @Test
        void waitingDequeueIsWokenByEnqueue() throws Exception {
            CompletableFuture<Optional<QueueEntry<Message>>> result = new CompletableFuture<>();
            Thread waiter = new Thread(() -> result.complete(state.dequeue("q4", Message.class, Duration.ofSeconds(20))));
            waiter.start();
            WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_QUEUE, state.keyPrefix(), "q4", waiter);
            long start = System.nanoTime();
            state.enqueue("q4", new Message("late", 1), Duration.ofMinutes(1), 10);
            Optional<QueueEntry<Message>> entry = result.get(30, TimeUnit.SECONDS);
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertThat(entry).as("woken by the enqueue's NOTIFY, not by the 60 s re-check").map(e -> e.message().text()).contains("late");
            assertThat(millis).isLessThan(3_000);
        }

        @Test
        void onlyWritesSomeoneWaitsForSendANotify() throws Exception {
            String payload = WakeProtocol.topic(WakeProtocol.Kind.STATE_QUEUE, state.keyPrefix(), "q-quiet");
            try (java.sql.Connection spy = pgkit.dataSource().getConnection()) {
                spy.createStatement().execute("LISTEN pgkit_state");
                org.postgresql.PGConnection pg = spy.unwrap(org.postgresql.PGConnection.class);
                state.enqueue("q-quiet", new Message("nobody waits", 1), Duration.ofMinutes(1), 10);
                assertThat(payloads(pg)).as("no waiter anywhere: no NOTIFY").doesNotContain(payload);
                state.dequeue("q-quiet", Message.class);

                CompletableFuture<Optional<QueueEntry<Message>>> result = new CompletableFuture<>();
                Thread waiter = new Thread(() -> result.complete(state.dequeue("q-quiet", Message.class, Duration.ofSeconds(20))));
                waiter.start();
                WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_QUEUE, state.keyPrefix(), "q-quiet", waiter);
                state.enqueue("q-quiet", new Message("someone waits", 2), Duration.ofMinutes(1), 10);
                assertThat(result.get(10, TimeUnit.SECONDS)).map(e -> e.message().n()).contains(2);
                assertThat(payloads(pg)).contains(payload);
                spy.createStatement().execute("UNLISTEN *");
            }
        }

        private List<String> payloads(org.postgresql.PGConnection pg) throws java.sql.SQLException {
            List<String> out = new java.util.ArrayList<>();
            org.postgresql.PGNotification[] ns = pg.getNotifications(700);
            if (ns != null) {
                for (var n : ns) {
                    out.add(n.getParameter());
                }
            }
            return out;
        }

        @Test
        void waitingDequeueTimesOutEmpty() {
            assertThat(state.dequeue("q5", Message.class, Duration.ofMillis(300))).isEmpty();
        }
    }

    @Test
    void cleanupDeletesExpiredRowsOnly() {
        state.set("c1", 1, Duration.ofMinutes(5));
        state.set("c2", 2);
        expireAll("chat_state_cache");
        assertThat(pgkit.cleanup()).isGreaterThanOrEqualTo(1);
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + pgkit.schema() + "\".chat_state_cache WHERE key_prefix = '"
                + state.keyPrefix() + "' AND cache_key IN ('c1', 'c2')")).isEqualTo(1);
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
