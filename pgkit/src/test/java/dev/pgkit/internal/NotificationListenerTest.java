package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The shared LISTEN connection: channels at run time, delivery, the truth of its state across
 * outages, presence locks without leaks, bounded per-handler delivery, prompt close.
 */
@ExtendWith(PostgresExtension.class)
class NotificationListenerTest {
    static final int PRESENCE_CLASS = 0x70676bf0;

    /** A listener whose connections can be refused while {@code allow} is false (an outage). */
    static NotificationListener listener(TestPostgres postgres, AtomicBoolean allow, Duration linger, long mailboxBytes) {
        return listener(postgres, allow, linger, mailboxBytes, NotificationListener.DEFAULT_MAX_STALL);
    }

    static NotificationListener listener(TestPostgres postgres, AtomicBoolean allow, Duration linger, long mailboxBytes, Duration maxStall) {
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url()).with("ApplicationName", "pgkit-listener-test");
        return new NotificationListener(() -> {
            if (!allow.get()) {
                throw new SQLException("refused by the test", "08001");
            }
            return DriverManager.getConnection(settings.jdbcUrl(), settings.properties());
        }, settings.describe(), Duration.ofSeconds(10), null, linger, mailboxBytes, maxStall);
    }

    static NotificationListener listener(TestPostgres postgres) {
        return listener(postgres, new AtomicBoolean(true), NotificationListener.DEFAULT_PRESENCE_LINGER, NotificationListener.DEFAULT_MAILBOX_BYTES);
    }

    @Test
    void channelsAreAddedAndRemovedAtRunTime(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres)) {
            String channel = TestPostgres.uniqueName("chan");
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            NotificationListener.Subscription subscription = listener.listen(channel, (c, payload) -> received.add(payload));
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'one')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("one");
            assertThat(listeningOnServer(listener)).contains(channel);

            subscription.close();
            awaitTrue("the listener's channel set shrinks", () -> !listener.channels().contains(channel));
            assertThat(listeningOnServer(listener)).as("UNLISTEN ran on the server").doesNotContain(channel);
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'two')");
            assertThat(received.poll(1, TimeUnit.SECONDS)).isNull();
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgkit-listener-test'"
                    + " AND backend_type = 'client backend'")).isEqualTo(1);

            listener.listen(channel, (c, payload) -> received.add(payload));
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'three')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("three");
        }
    }

    @Test
    void controlStatementsRunOnTheListenersConnection(TestPostgres postgres) throws Exception {
        try (NotificationListener listener = listener(postgres)) {
            CompletableFuture<Integer> pid = listener.submit(c -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    return rs.getInt(1);
                }
            });
            assertThat(pid.get(10, TimeUnit.SECONDS)).isEqualTo(listener.backendPid().orElseThrow());
            CompletableFuture<Object> failing = listener.submit(c -> {
                throw new SQLException("refused by the test", "22012"); // an ordinary error (no server ERROR logged)
            });
            assertThatThrownBy(() -> failing.get(10, TimeUnit.SECONDS)).hasRootCauseInstanceOf(SQLException.class);
            assertThat(listener.reconnects()).as("an ordinary SQL error does not cost the connection").isZero();
        }
    }

    @Test
    void aStalledHandlerHoldsTheOthersAtMostMaxStallOnceAndItsOverflowBecomesAGap(TestPostgres postgres) throws Exception {
        String slow = TestPostgres.uniqueName("slow");
        String fast = TestPostgres.uniqueName("fast");
        long budget = 8 * NotificationDispatcher.weight(slow, "00");
        Duration maxStall = Duration.ofSeconds(1);
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = listener(postgres, new AtomicBoolean(true), Duration.ofSeconds(30), budget, maxStall)) {
            CountDownLatch stuck = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            BlockingQueue<String> slowReceived = new LinkedBlockingQueue<>();
            AtomicInteger slowGaps = new AtomicInteger();
            CountDownLatch slowActive = new CountDownLatch(1);
            listener.listen(slow, new NotificationHandler() {
                @Override
                public void onNotification(String channel, String payload) {
                    slowReceived.add(payload);
                    stuck.countDown();
                    await(release);
                }

                @Override
                public void onGap() {
                    if (slowActive.getCount() > 0) {
                        slowActive.countDown(); // the activation's gap
                    } else {
                        slowGaps.incrementAndGet();
                    }
                }
            });
            assertThat(slowActive.await(5, TimeUnit.SECONDS)).isTrue();
            BlockingQueue<String> fastReceived = new LinkedBlockingQueue<>();
            listener.listen(fast, (c, payload) -> fastReceived.add(payload));

            Db.execute(pgkit, "SELECT pg_notify('" + slow + "', 'first')");
            assertThat(stuck.await(5, TimeUnit.SECONDS)).isTrue();
            Db.execute(pgkit, "SELECT pg_notify('" + slow + "', n::text) FROM generate_series(1, 50) n");
            long start = System.nanoTime();
            Db.execute(pgkit, "SELECT pg_notify('" + fast + "', 'held at most maxStall')");
            assertThat(fastReceived.poll(5, TimeUnit.SECONDS)).isEqualTo("held at most maxStall");
            assertThat((System.nanoTime() - start) / 1_000_000).as("the listener waited for the stalled handler, bounded")
                    .isLessThan(maxStall.toMillis() + 1_500);

            Db.execute(pgkit, "SELECT pg_notify('" + slow + "', n::text) FROM generate_series(51, 100) n");
            start = System.nanoTime();
            Db.execute(pgkit, "SELECT pg_notify('" + fast + "', 'not held again')");
            assertThat(fastReceived.poll(5, TimeUnit.SECONDS)).isEqualTo("not held again");
            assertThat((System.nanoTime() - start) / 1_000_000).as("a handler still stalled does not hold the listener again")
                    .isLessThan(maxStall.toMillis());

            release.countDown();
            Db.execute(pgkit, "SELECT pg_notify('" + slow + "', 'end')");
            awaitTrue("the slow handler catches up", () -> slowReceived.contains("end"));
            assertThat(slowGaps.get()).as("told it missed notifications").isGreaterThanOrEqualTo(1);
            assertThat(slowReceived.size()).as("the first, at most a mailbox of the rest, the end").isLessThanOrEqualTo(1 + 8 + 1);
        }
    }

    @Test
    void thisPgjdbcLetsTheReadAheadBeTurnedOffAndBack(TestPostgres postgres) throws Exception {
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url());
        try (Connection c = DriverManager.getConnection(settings.jdbcUrl(), settings.properties())) {
            assertThat(NotificationReadAhead.turnOff(c)).as("pgjdbc still has the field: see NotificationReadAhead").isTrue();
            NotificationReadAhead.restore(c);
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                assertThat(rs.next()).isTrue();
            }
        }
    }

    /**
     * pgjdbc's getNotifications keeps reading while each next notification arrives within 1 ms of the previous one
     * ({@link NotificationReadAhead}): under a steady stream it hands its caller nothing until the stream pauses. The
     * pgkit listener and a plain pgjdbc listener receive the same stream side by side, so both see the same machine
     * load: the plain one lags by the length of its read-ahead runs (measured 150–350 ms at p90 here), pgkit's only by
     * its own delivery.
     */
    @Test
    void aSteadyStreamIsDeliveredAsItArrivesNotWhenItPauses(TestPostgres postgres) throws Exception {
        String channel = TestPostgres.uniqueName("stream");
        List<Long> viaPgkit = java.util.Collections.synchronizedList(new ArrayList<>());
        List<Long> viaPlainPgjdbc = java.util.Collections.synchronizedList(new ArrayList<>());
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url());
        AtomicBoolean reading = new AtomicBoolean(true);
        try (NotificationListener listener = listener(postgres);
             Connection plain = DriverManager.getConnection(settings.jdbcUrl(), settings.properties())) {
            listener.listen(channel, (c, payload) -> viaPgkit.add(System.nanoTime() - Long.parseLong(payload))).active().get(10, TimeUnit.SECONDS);
            try (Statement s = plain.createStatement()) {
                s.execute("LISTEN " + channel);
            }
            Thread plainReader = new Thread(() -> {
                try {
                    while (reading.get()) {
                        for (org.postgresql.PGNotification n : plain.unwrap(org.postgresql.PGConnection.class).getNotifications(100)) {
                            viaPlainPgjdbc.add(System.nanoTime() - Long.parseLong(n.getParameter()));
                        }
                    }
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }, "plain-pgjdbc-listener");
            plainReader.start();
            int sent = 0;
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
            try (Connection c = DriverManager.getConnection(settings.jdbcUrl(), settings.properties());
                 java.sql.PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
                while (System.nanoTime() < end) {
                    s.setString(1, channel);
                    s.setString(2, Long.toString(System.nanoTime()));
                    s.executeQuery().close();
                    sent++;
                }
            }
            int expected = sent;
            awaitTrue("the stream arrives at both", () -> viaPgkit.size() >= expected && viaPlainPgjdbc.size() >= expected);
            reading.set(false);
            plainReader.join(5_000);
            long pgkit = p90Millis(viaPgkit);
            long plainPgjdbc = p90Millis(viaPlainPgjdbc);
            System.out.printf("steady stream: %d notifications in 1.5 s, delay p90 via pgkit %d ms, via plain pgjdbc %d ms%n", sent, pgkit, plainPgjdbc);
            assertThat(pgkit).as("p90 delay of %d notifications via pgkit, against %d ms via a plain pgjdbc listener", sent, plainPgjdbc)
                    .isLessThan(Math.max(plainPgjdbc / 3, 1));
        }
    }

    private static long p90Millis(List<Long> nanos) {
        List<Long> sorted = new ArrayList<>(nanos);
        java.util.Collections.sort(sorted);
        return TimeUnit.NANOSECONDS.toMillis(sorted.get(sorted.size() * 9 / 10));
    }

    @Test
    void aSlowHandlerLosesNothingOfABurstBeyondItsMailbox(TestPostgres postgres) throws Exception {
        String channel = TestPostgres.uniqueName("burst");
        long budget = 8 * NotificationDispatcher.weight(channel, "000");
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = listener(postgres, new AtomicBoolean(true), Duration.ofSeconds(30), budget, Duration.ofSeconds(10))) {
            List<String> received = new java.util.concurrent.CopyOnWriteArrayList<>();
            AtomicInteger gaps = new AtomicInteger();
            listener.listen(channel, new NotificationHandler() {
                @Override
                public void onNotification(String c, String payload) {
                    received.add(payload);
                    try {
                        Thread.sleep(2); // slow, but moving
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }

                @Override
                public void onGap() {
                    gaps.incrementAndGet();
                }
            });
            awaitTrue("the activation's gap", () -> gaps.get() == 1);
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', n::text) FROM generate_series(1, 300) n");
            awaitTrue("the burst arrives", () -> received.size() >= 300);
            assertThat(received).as("every one, in order: the listener let PostgreSQL hold the rest")
                    .containsExactlyElementsOf(java.util.stream.IntStream.rangeClosed(1, 300).mapToObj(Integer::toString).toList());
            assertThat(gaps.get()).as("no gap but the activation's").isEqualTo(1);
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command") // the test terminates backends on purpose
    void notificationsQueuedBeforeAReconnectAreDeliveredBeforeItsGap(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres)) {
            String channel = TestPostgres.uniqueName("queued");
            List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
            CountDownLatch release = new CountDownLatch(1);
            listener.listen(channel, new NotificationHandler() {
                @Override
                public void onNotification(String c, String payload) {
                    events.add(payload);
                    if (payload.equals("0")) {
                        await(release); // the rest queue up behind it
                    }
                }

                @Override
                public void onGap() {
                    events.add("gap");
                }
            });
            String probe = TestPostgres.uniqueName("probe");
            BlockingQueue<String> probed = new LinkedBlockingQueue<>();
            listener.listen(probe, (c, payload) -> probed.add(payload));
            awaitTrue("the activation's gap", () -> events.size() == 1);
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', '0')");
            awaitTrue("the first holds the handler", () -> events.size() == 2);
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', n::text) FROM generate_series(1, 5) n");
            Db.execute(pgkit, "SELECT pg_notify('" + probe + "', 'after')");
            assertThat(probed.poll(5, TimeUnit.SECONDS)).as("delivered in commit order: the five are queued").isEqualTo("after");
            long reconnects = listener.reconnects();
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + listener.backendPid().orElseThrow() + ")");
            awaitTrue("the listener is back", () -> listener.reconnects() > reconnects && listener.isConnected());
            release.countDown();
            awaitTrue("the queue drains", () -> events.size() == 8);
            assertThat(events).as("what arrived before the outage is not thrown away; the gap comes after it")
                    .containsExactly("gap", "0", "1", "2", "3", "4", "5", "gap");
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command") // the test terminates backends on purpose
    void reconnectGivesEverySubscriberAGap(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres)) {
            String channel = TestPostgres.uniqueName("resync");
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            AtomicInteger gaps = new AtomicInteger();
            listener.listen(channel, new NotificationHandler() {
                @Override
                public void onNotification(String c, String payload) {
                    received.add(payload);
                }

                @Override
                public void onGap() {
                    gaps.incrementAndGet();
                }
            });
            awaitTrue("the activation's gap", () -> gaps.get() == 1);
            int pid = listener.backendPid().orElseThrow();
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
            awaitTrue("told to re-read after the reconnect", () -> gaps.get() == 2);
            assertThat(listener.reconnects()).isEqualTo(1);
            assertThat(listener.backendPid().orElseThrow()).isNotEqualTo(pid);
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'after')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).as("the channel is listened to again").isEqualTo("after");
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command") // the test terminates backends on purpose
    void nothingClaimsToBeActiveDuringAnOutage(TestPostgres postgres) throws Exception {
        AtomicBoolean allow = new AtomicBoolean(true);
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = listener(postgres, allow, Duration.ofSeconds(30), NotificationListener.DEFAULT_MAILBOX_BYTES)) {
            String channel = TestPostgres.uniqueName("truth");
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            NotificationListener.Subscription subscription = listener.listen(channel, (c, payload) -> received.add(payload));
            NotificationListener.PresenceHold presence = listener.holdPresence(PRESENCE_CLASS, channel, () -> { });
            presence.held().get(5, TimeUnit.SECONDS);
            assertThat(listener.isConnected()).isTrue();

            allow.set(false);
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + listener.backendPid().orElseThrow() + ")");
            awaitTrue("the loss is noticed", () -> !listener.isConnected());
            assertThat(subscription.active()).as("LISTEN is not active without a connection").isNotDone();
            assertThat(presence.held()).as("no presence lock without a connection").isNotDone();
            assertThat(listener.channels()).isEmpty();
            assertThat(listener.backendPid()).isEmpty();
            String other = TestPostgres.uniqueName("during");
            assertThatThrownBy(() -> listener.listen(other, (c, p) -> { }, Duration.ofMillis(300)))
                    .isInstanceOf(PgkitConnectionException.class);
            NotificationListener.Subscription late = listener.subscribe(other, (c, payload) -> received.add(payload));
            assertThat(late.active()).isNotDone();

            allow.set(true);
            subscription.active().get(10, TimeUnit.SECONDS);
            late.active().get(10, TimeUnit.SECONDS);
            presence.held().get(10, TimeUnit.SECONDS);
            assertThat(listener.isConnected()).isTrue();
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'a'), pg_notify('" + other + "', 'b')");
            assertThat(List.of(received.poll(5, TimeUnit.SECONDS), received.poll(5, TimeUnit.SECONDS))).containsExactlyInAnyOrder("a", "b");
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command") // the test terminates backends on purpose
    void registrationsDuringRepeatedTerminationsAreNeverLostAndPresenceLocksNeverLeak(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = listener(postgres, new AtomicBoolean(true), Duration.ofMillis(200), NotificationListener.DEFAULT_MAILBOX_BYTES)) {
            String base = TestPostgres.uniqueName("storm");
            int threads = 4;
            int perThread = 12;
            int keys = 10; // threads share keys: presence holds are counted per key
            List<NotificationListener.Subscription> subscriptions = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<NotificationListener.PresenceHold> holds = new java.util.concurrent.CopyOnWriteArrayList<>();
            Set<String> delivered = ConcurrentHashMap.newKeySet();
            AtomicBoolean registering = new AtomicBoolean(true);
            ExecutorService pool = Executors.newFixedThreadPool(threads + 1);
            Future<Integer> killer = pool.submit(() -> {
                int kills = 0;
                while (registering.get() || kills < 3) {
                    var pid = listener.backendPid();
                    if (pid.isPresent()) {
                        Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid.getAsInt() + ")");
                        kills++;
                        awaitTrue("reconnected", () -> listener.backendPid().isPresent() && listener.backendPid().getAsInt() != pid.getAsInt());
                    }
                    Thread.sleep(20);
                }
                return kills;
            });
            List<Future<?>> registrars = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                registrars.add(pool.submit(() -> {
                    for (int i = 0; i < perThread; i++) {
                        String channel = base + "_" + thread + "_" + i;
                        subscriptions.add(listener.subscribe(channel, (c, payload) -> delivered.add(c)));
                        holds.add(listener.holdPresence(PRESENCE_CLASS, base + "_key" + ((thread + i) % keys), () -> { }));
                        Thread.sleep(10);
                    }
                    return null;
                }));
            }
            for (Future<?> registrar : registrars) {
                registrar.get(60, TimeUnit.SECONDS);
            }
            registering.set(false);
            assertThat(killer.get(60, TimeUnit.SECONDS)).isGreaterThanOrEqualTo(3);
            pool.shutdown();

            for (NotificationListener.Subscription subscription : subscriptions) {
                subscription.active().get(20, TimeUnit.SECONDS);
            }
            for (NotificationListener.PresenceHold hold : holds) {
                hold.held().get(20, TimeUnit.SECONDS);
            }
            int pid = listener.backendPid().orElseThrow();
            assertThat(presenceLocks(pgkit, pid)).as("one shared lock per key").isEqualTo(keys);
            StringBuilder notify = new StringBuilder("SELECT 1");
            for (int t = 0; t < threads; t++) {
                for (int i = 0; i < perThread; i++) {
                    notify.append(", pg_notify('").append(base).append('_').append(t).append('_').append(i).append("', '')");
                }
            }
            Db.execute(pgkit, notify.toString());
            awaitTrue("every channel delivers", () -> delivered.size() == threads * perThread);

            holds.forEach(NotificationListener.PresenceHold::close);
            awaitTrue("every presence lock is released after the linger (none taken twice)", () -> presenceLocks(pgkit, pid) == 0);
            assertThat(listener.backendPid()).hasValue(pid);
        }
    }

    @Test
    void aWriterHoldingAPresenceLockStallsNoDelivery(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres);
             Connection writer = pgkit.dataSource().getConnection()) {
            String key = TestPostgres.uniqueName("contended");
            writer.setAutoCommit(false);
            try (var lock = writer.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?))")) {
                lock.setInt(1, PRESENCE_CLASS);
                lock.setString(2, key);
                lock.execute();
            }
            CountDownLatch heldCallback = new CountDownLatch(1);
            NotificationListener.PresenceHold presence = listener.holdPresence(PRESENCE_CLASS, key, heldCallback::countDown);

            String channel = TestPostgres.uniqueName("other");
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            listener.listen(channel, (c, payload) -> received.add(payload), Duration.ofSeconds(5));
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'delivered')");
            assertThat(received.poll(3, TimeUnit.SECONDS)).isEqualTo("delivered");
            assertThat(presence.held()).as("the writer still holds the exclusive lock").isNotDone();

            writer.commit();
            presence.held().get(5, TimeUnit.SECONDS);
            assertThat(heldCallback.await(5, TimeUnit.SECONDS)).as("told once the lock is held").isTrue();
            presence.close();
        }
    }

    @Test
    void closeFailsPendingRegistrationsAtOnce(TestPostgres postgres) throws Exception {
        NotificationListener listener = listener(postgres, new AtomicBoolean(false), Duration.ofSeconds(30), NotificationListener.DEFAULT_MAILBOX_BYTES);
        NotificationListener.Subscription subscription = listener.subscribe(TestPostgres.uniqueName("never"), (c, p) -> { });
        NotificationListener.PresenceHold presence = listener.holdPresence(PRESENCE_CLASS, "never", () -> { });
        CompletableFuture<Integer> control = listener.submit(c -> 1);
        CompletableFuture<Void> blocked = CompletableFuture.runAsync(() ->
                listener.listen(TestPostgres.uniqueName("blocked"), (c, p) -> { }, Duration.ofSeconds(60)));
        awaitTrue("the blocking listen is registered", () -> Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.getState() == Thread.State.TIMED_WAITING && List.of(t.getStackTrace()).toString().contains("NotificationListener.listen")));

        long start = System.nanoTime();
        listener.close();
        assertThat(subscription.active()).isCompletedExceptionally();
        assertThat(presence.held()).isCompletedExceptionally();
        assertThat(control).isCompletedExceptionally();
        assertThatThrownBy(() -> blocked.get(2, TimeUnit.SECONDS)).hasCauseInstanceOf(PgkitConnectionException.class);
        assertThat((System.nanoTime() - start) / 1_000_000).as("nobody waits out a timeout").isLessThan(4_000);
        assertThatThrownBy(() -> listener.subscribe("late", (c, p) -> { })).isInstanceOf(IllegalStateException.class);
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command") // the test terminates backends on purpose
    void closeAbortsAStuckConnectionInsteadOfHandingItBackToItsPool(TestPostgres postgres) throws Exception {
        com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url());
        config.setJdbcUrl(settings.jdbcUrl());
        config.setDataSourceProperties(settings.properties());
        config.setMaximumPoolSize(1);
        try (com.zaxxer.hikari.HikariDataSource callers = new com.zaxxer.hikari.HikariDataSource(config)) {
            NotificationListener listener = new NotificationListener(callers::getConnection, settings.describe(), Duration.ofSeconds(10));
            listener.listen(TestPostgres.uniqueName("pooled"), (c, p) -> { });
            int pid = listener.backendPid().orElseThrow();
            CompletableFuture<Object> stuck = listener.submit(c -> {
                try (Statement s = c.createStatement()) {
                    s.execute("SELECT pg_sleep(30)"); // the listener thread is stuck in a read
                }
                return null;
            });
            awaitTrue("the listener thread is stuck", () -> {
                try (Connection probe = DriverManager.getConnection(settings.jdbcUrl(), settings.properties());
                     Statement s = probe.createStatement();
                     ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid + " AND query LIKE '%pg_sleep%'")) {
                    return rs.next() && rs.getInt(1) == 1;
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            });
            long start = System.nanoTime();
            listener.close();
            assertThat((System.nanoTime() - start) / 1_000_000).as("close is bounded").isLessThan(5_000);
            assertThat(stuck).isCompletedExceptionally();
            try (Connection next = callers.getConnection(); Statement s = next.createStatement();
                 ResultSet rs = s.executeQuery("SELECT pg_backend_pid(), cardinality(array(SELECT pg_listening_channels()))")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the stuck connection never went back to the caller's pool").isNotEqualTo(pid);
                assertThat(rs.getInt(2)).isZero();
                s.execute("SELECT pg_terminate_backend(" + pid + ")"); // the aborted session's backend is still sleeping
            }
        }
    }

    @Test
    void presenceLocksAreCappedAndALingeringOneGivesUpItsSlotToAWaitingKey(TestPostgres postgres) throws Exception {
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url());
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = new NotificationListener(() -> DriverManager.getConnection(settings.jdbcUrl(), settings.properties()),
                     settings.describe(), Duration.ofSeconds(10), null, Duration.ofSeconds(60), NotificationListener.DEFAULT_MAILBOX_BYTES, NotificationListener.DEFAULT_MAX_STALL, 3)) {
            List<NotificationListener.PresenceHold> holds = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                holds.add(listener.holdPresence(PRESENCE_CLASS, TestPostgres.uniqueName("capped"), () -> { }));
            }
            awaitTrue("three presences held", () -> holds.stream().filter(h -> h.held().isDone()).count() == 3);
            int pid = listener.backendPid().orElseThrow();
            assertThat(presenceLocks(pgkit, pid)).as("no more than the cap on the server").isEqualTo(3);
            assertThat(listener.heldPresences()).isEqualTo(3);

            List<NotificationListener.PresenceHold> held = holds.stream().filter(h -> h.held().isDone()).toList();
            held.get(0).close();
            held.get(1).close(); // lingering (60 s) presences give up their slots to keys waited on now
            List<NotificationListener.PresenceHold> open = holds.stream().filter(h -> h != held.get(0) && h != held.get(1)).toList();
            for (NotificationListener.PresenceHold hold : open) {
                hold.held().get(5, TimeUnit.SECONDS);
            }
            assertThat(presenceLocks(pgkit, pid)).isEqualTo(3);
        }
    }

    @Test
    void aStatementFailureHandsTheConnectionBackToTheCallersPoolClean(TestPostgres postgres) throws Exception {
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url());
        try (com.zaxxer.hikari.HikariDataSource callers = pool(settings, 1)) {
            List<long[]> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<AtomicInteger> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (NotificationListener listener = new NotificationListener(
                    () -> failing(callers.getConnection(), opened, failures), settings.describe(), Duration.ofSeconds(10))) {
                listener.listen(TestPostgres.uniqueName("pooled"), (c, p) -> { });
                listener.holdPresence(PRESENCE_CLASS, "first", () -> { }).held().get(10, TimeUnit.SECONDS);
                failures.get(0).set(1); // the next statement fails as "out of shared memory" would; the connection is fine
                NotificationListener.PresenceHold second = listener.holdPresence(PRESENCE_CLASS, "second", () -> { });
                awaitTrue("the listener opened a connection again", () -> opened.size() >= 2);
                assertThat(opened.get(1)[0]).as("the same, healthy connection came back from the pool").isEqualTo(opened.get(0)[0]);
                assertThat(opened.get(1)[1]).as("it came back with no LISTEN").isZero();
                assertThat(opened.get(1)[2]).as("it came back with no presence lock").isZero();
                second.held().get(10, TimeUnit.SECONDS);
            }
        }
    }

    @Test
    void aConnectionThatCannotBeCleanedIsAbortedNotHandedBackToTheCallersPool(TestPostgres postgres) throws Exception {
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url());
        try (com.zaxxer.hikari.HikariDataSource callers = pool(settings, 1)) {
            List<long[]> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
            List<AtomicInteger> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            try (NotificationListener listener = new NotificationListener(
                    () -> failing(callers.getConnection(), opened, failures), settings.describe(), Duration.ofSeconds(10))) {
                listener.listen(TestPostgres.uniqueName("pooled"), (c, p) -> { });
                listener.holdPresence(PRESENCE_CLASS, "first", () -> { }).held().get(10, TimeUnit.SECONDS);
                failures.get(0).set(Integer.MAX_VALUE); // every statement fails from now on: it cannot be cleaned
                NotificationListener.PresenceHold second = listener.holdPresence(PRESENCE_CLASS, "second", () -> { });
                second.held().get(20, TimeUnit.SECONDS);
                long[] last = opened.get(opened.size() - 1);
                assertThat(last[0]).as("the dirty connection never went back to the pool").isNotEqualTo(opened.get(0)[0]);
                assertThat(last[1]).isZero();
                assertThat(last[2]).isZero();
            }
        }
    }

    private static com.zaxxer.hikari.HikariDataSource pool(ConnectionSettings settings, int size) {
        com.zaxxer.hikari.HikariConfig config = new com.zaxxer.hikari.HikariConfig();
        config.setJdbcUrl(settings.jdbcUrl());
        config.setDataSourceProperties(settings.properties());
        config.setMaximumPoolSize(size);
        return new com.zaxxer.hikari.HikariDataSource(config);
    }

    /**
     * Records what the borrowed connection holds (backend pid, LISTENed channels, advisory locks) and
     * wraps it so that its next statements fail with 53200 while its counter (added to {@code failures}) is positive.
     */
    private static Connection failing(Connection borrowed, List<long[]> opened, List<AtomicInteger> failures) throws SQLException {
        try (Statement s = borrowed.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_backend_pid(),"
                + " cardinality(array(SELECT pg_listening_channels())),"
                + " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid())")) {
            rs.next();
            opened.add(new long[] {rs.getLong(1), rs.getLong(2), rs.getLong(3)});
        }
        AtomicInteger fail = new AtomicInteger();
        failures.add(fail);
        return (Connection) java.lang.reflect.Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                    if ((method.getName().equals("createStatement") || method.getName().equals("prepareStatement"))
                            && fail.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
                        throw new SQLException("out of shared memory (injected by the test)", "53200");
                    }
                    try {
                        return method.invoke(borrowed, args);
                    } catch (java.lang.reflect.InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    /** The channels the listener's backend is LISTENing on, asked on its own connection. */
    static List<String> listeningOnServer(NotificationListener listener) throws Exception {
        return listener.submit(c -> {
            List<String> out = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT pg_listening_channels()")) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }).get(10, TimeUnit.SECONDS);
    }

    static long presenceLocks(Pgkit pgkit, int pid) {
        return Db.scalar(pgkit, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted"
                + " AND classid = " + PRESENCE_CLASS + " AND pid = " + pid);
    }

    static void awaitTrue(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting: " + what);
            }
            Thread.sleep(20);
        }
    }

    static void await(CountDownLatch latch) {
        try {
            latch.await(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
