package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The commit-safe ordered-log reader: a row that commits late is never skipped, never repeated, and a
 * resumed reader continues exactly. The live tests run with a 60 s re-check interval, so only the
 * mechanism under test (a notification, a gap, held-back polling) can deliver within their bounds.
 */
@ExtendWith(PostgresExtension.class)
class OrderedLogTest {
    private static final String CHANNEL = "pgkit_ordered_log_test";
    private TestPostgres postgres;
    private Pgkit pgkit;
    private Context context;
    private OrderedLog<String> log;

    @BeforeEach
    void setUp(TestPostgres postgres) throws Exception {
        this.postgres = postgres;
        pgkit = withLogTable(postgres, "ordered_log_test");
        context = ContextTest.contextOf(pgkit);
        log = new OrderedLog<>(context.database(), "test log",
                new OrderedLog.Source("e.body", "ordered_log_test.entries e", "e.topic = ?", "e.tx", "e.seq"), rs -> rs.getString(1));
    }

    /**
     * A pgkit whose live reads re-check only every 60 s (so only the mechanism under test delivers in time) and the
     * log table {@code <schema>.entries (seq, tx, topic, body)}.
     */
    static Pgkit withLogTable(TestPostgres postgres, String schema) {
        Pgkit pgkit = Db.builder(postgres, schema).waitRecheckInterval(Duration.ofSeconds(60)).build();
        Db.execute(pgkit, "CREATE SCHEMA " + schema);
        Db.execute(pgkit, """
                CREATE TABLE %1$s.entries (
                  seq   bigint GENERATED ALWAYS AS IDENTITY,
                  tx    xid8 NOT NULL DEFAULT pg_current_xact_id(),
                  topic text NOT NULL,
                  body  text NOT NULL);
                CREATE INDEX ON %1$s.entries (topic, tx, seq)""".formatted(schema));
        return pgkit;
    }

    @AfterEach
    void tearDown() {
        Db.dropAndClose(pgkit);
    }

    @Test
    void readsInOrderFromAnOffsetWithinTheLimitAndOnlyItsTopic() {
        for (int i = 1; i <= 5; i++) {
            append("a", "a" + i, true);
            append("b", "b" + i, true);
        }
        List<OrderedLog.Entry<String>> first = read("a", LogOffset.START, 3);
        assertThat(first).extracting(OrderedLog.Entry::value).containsExactly("a1", "a2", "a3");
        List<OrderedLog.Entry<String>> rest = read("a", first.get(2).offset(), 10);
        assertThat(rest).extracting(OrderedLog.Entry::value).containsExactly("a4", "a5");
        assertThat(read("a", rest.get(1).offset(), 10)).isEmpty();
        assertThat(rest.get(0).offset()).isGreaterThan(first.get(2).offset());
        assertThat(LogOffset.parse(rest.get(0).offset().toString())).isEqualTo(rest.get(0).offset());
    }

    /** The later-numbered row commits first and is read; the earlier-numbered one still arrives after it, once. */
    @Test
    void aRowNumberedEarlierThatCommitsLaterIsStillReadOnce() throws Exception {
        try (Connection late = connect(); Connection early = connect()) {
            late.setAutoCommit(false);
            early.setAutoCommit(false);
            execute(early, "SELECT pg_current_xact_id()"); // the transaction that commits first is the older one
            execute(late, "INSERT INTO ordered_log_test.entries (topic, body) VALUES ('t', 'numbered first, committed last')");
            execute(early, "INSERT INTO ordered_log_test.entries (topic, body) VALUES ('t', 'numbered second, committed first')");
            early.commit();
            List<OrderedLog.Entry<String>> before = read("t", LogOffset.START, 10);
            assertThat(before).extracting(OrderedLog.Entry::value).containsExactly("numbered second, committed first");
            late.commit();
            assertThat(read("t", before.get(0).offset(), 10)).extracting(OrderedLog.Entry::value).containsExactly("numbered first, committed last");
        }
    }

    /** A later transaction's committed row waits while an older one runs: reading it first would skip the older one's row. */
    @Test
    void rowsWaitBehindAnOlderTransactionStillRunningThenAllArriveOnce() throws Exception {
        try (Connection older = connect()) {
            older.setAutoCommit(false);
            execute(older, "INSERT INTO ordered_log_test.entries (topic, body) VALUES ('t', 'older')");
            append("t", "newer", true);
            assertThat(read("t", LogOffset.START, 10)).as("held back while the older writer runs").isEmpty();
            assertThat(log.readPage(LogOffset.START, 10, s -> s.setString(1, "t")).heldBack()).isTrue();
            older.commit();
        }
        OrderedLog.Page<String> page = log.readPage(LogOffset.START, 10, s -> s.setString(1, "t"));
        assertThat(page.entries()).extracting(OrderedLog.Entry::value).containsExactly("older", "newer");
        assertThat(page.heldBack()).isFalse();
        assertThat(log.readPage(LogOffset.START, 1, s -> s.setString(1, "t")).entries()).extracting(OrderedLog.Entry::value)
                .containsExactly("older");
    }

    @Test
    void aLiveQueryIsWokenByTheWritersNotification() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        try (OrderedLog<String>.Live live = follow("t", LogOffset.START, seen)) {
            awaitActive();
            append("t", "one", true);
            awaitSeen(seen, List.of("one"), Duration.ofSeconds(5));
            append("t", "two", true);
            awaitSeen(seen, List.of("one", "two"), Duration.ofSeconds(5));
            assertThat(live.offset()).isEqualTo(read("t", LogOffset.START, 10).get(1).offset());
        }
    }

    /** The writer that committed last sent no notification (a Node writer): held-back polling finds its rows. */
    @Test
    void aLiveQueryDeliversHeldBackRowsWhenTheOlderWriterEndsWithoutNotifying() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        try (OrderedLog<String>.Live live = follow("t", LogOffset.START, seen); Connection older = connect()) {
            awaitActive();
            older.setAutoCommit(false);
            execute(older, "INSERT INTO ordered_log_test.entries (topic, body) VALUES ('t', 'older, silent')");
            append("t", "newer", true);
            Thread.sleep(300);
            assertThat(seen).as("nothing is delivered past the running older writer").isEmpty();
            older.commit();
            awaitSeen(seen, List.of("older, silent", "newer"), Duration.ofSeconds(5));
        }
    }

    @Test
    @dev.pgkit.testing.ExpectServerLog("terminating connection due to administrator command")
    void aLiveQueryRereadsAfterItsListenerConnectionIsKilled() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        try (OrderedLog<String>.Live live = follow("t", LogOffset.START, seen)) {
            awaitActive();
            int pid = context.listener().backendPid().orElseThrow();
            // rows committed while the listener is down are announced to nobody: the reconnect's gap re-reads them
            Db.admin(postgres, "SELECT pg_terminate_backend(" + pid + ")");
            append("t", "while down", true);
            awaitSeen(seen, List.of("while down"), Duration.ofSeconds(10));
            assertThat(context.listener().backendPid().orElseThrow()).isNotEqualTo(pid);
        }
    }

    /** Six writers, some holding their transaction open for a while: the live reader sees every row once, in offset order. */
    @Test
    void concurrentWritersWithSlowTransactionsAreDeliveredExactlyOnceInOffsetOrder() throws Exception {
        List<OrderedLog.Entry<String>> seen = Collections.synchronizedList(new ArrayList<>());
        OrderedLog.Listener<String> collect = seen::addAll;
        int writers = 6; // the pool has 8: the live reader and the test need theirs
        int perWriter = 60;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try (OrderedLog<String>.Live live = log.follow(context, CHANNEL, LogOffset.START, 50, s -> s.setString(1, "t"), collect)) {
            awaitActive();
            List<Future<?>> done = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int writer = w;
                done.add(pool.submit(() -> {
                    try (Connection c = connect()) {
                        c.setAutoCommit(false);
                        for (int i = 0; i < perWriter; i++) {
                            execute(c, "INSERT INTO ordered_log_test.entries (topic, body) VALUES ('t', 'w" + writer + "-" + i + "')");
                            if (ThreadLocalRandom.current().nextInt(10) == 0) {
                                Thread.sleep(ThreadLocalRandom.current().nextInt(50)); // a slow transaction others commit past
                            }
                            execute(c, "SELECT pg_notify('" + CHANNEL + "', '')");
                            c.commit();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (seen.size() < writers * perWriter && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(200); // a duplicate would arrive now
            List<String> values = seen.stream().map(OrderedLog.Entry::value).toList();
            assertThat(values).as("every row exactly once").hasSize(writers * perWriter).doesNotHaveDuplicates();
            List<LogOffset> offsets = seen.stream().map(OrderedLog.Entry::offset).toList();
            assertThat(offsets).as("in offset order").isSorted();
            for (int w = 0; w < writers; w++) {
                String prefix = "w" + w + "-";
                assertThat(values.stream().filter(v -> v.startsWith(prefix)).map(v -> Integer.parseInt(v.substring(prefix.length()))).toList())
                        .as("each writer's rows in its commit order").isSorted();
            }
            // a reader resumed from any delivered offset sees exactly the rest
            LogOffset middle = offsets.get(offsets.size() / 2);
            List<String> resumed = new ArrayList<>();
            LogOffset at = middle;
            for (List<OrderedLog.Entry<String>> page; !(page = read("t", at, 37)).isEmpty(); at = page.get(page.size() - 1).offset()) {
                page.forEach(e -> resumed.add(e.value()));
            }
            assertThat(resumed).containsExactlyElementsOf(values.subList(offsets.size() / 2 + 1, values.size()));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aListenerThatThrowsEndsTheQueryWithItsFailure() throws Exception {
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        OrderedLog.Listener<String> failing = new OrderedLog.Listener<>() {
            @Override
            public void onEntries(List<OrderedLog.Entry<String>> batch) {
                throw new IllegalStateException("projection failed");
            }

            @Override
            public void onError(Throwable failure) {
                errors.add(failure);
            }
        };
        append("t", "one", true);
        try (OrderedLog<String>.Live live = log.follow(context, CHANNEL, LogOffset.START, 10, s -> s.setString(1, "t"), failing)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (live.isRunning() && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(live.isRunning()).isFalse();
            assertThat(live.failure()).hasMessage("projection failed");
            assertThat(live.offset()).as("the failed batch is not counted as delivered").isEqualTo(LogOffset.START);
            assertThat(errors).hasSize(1);
        }
    }

    @Test
    void closingThePgkitEndsItsLiveQueriesQuietly() throws Exception {
        List<Throwable> errors = new CopyOnWriteArrayList<>();
        OrderedLog.Listener<String> listener = new OrderedLog.Listener<>() {
            @Override
            public void onEntries(List<OrderedLog.Entry<String>> batch) {
            }

            @Override
            public void onError(Throwable failure) {
                errors.add(failure);
            }
        };
        OrderedLog<String>.Live live = log.follow(context, CHANNEL, LogOffset.START, 10, s -> s.setString(1, "t"), listener);
        awaitActive();
        Thread thread = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("pgkit-log-test log")).findFirst().orElseThrow();
        pgkit.close();
        thread.join(5_000);
        assertThat(thread.isAlive()).isFalse();
        assertThat(live.isRunning()).isFalse();
        assertThat(errors).isEmpty();
    }

    @Test
    void offsetsParseAndRejectGarbage() {
        assertThat(LogOffset.parse("12:34")).isEqualTo(new LogOffset(12, 34));
        assertThat(new LogOffset(1, 2)).isLessThan(new LogOffset(2, 1));
        for (String bad : new String[] {"", "12", "12:", ":3", "a:b", "-1:2", "1:2:3"}) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> LogOffset.parse(bad)).isInstanceOf(IllegalArgumentException.class);
        }
    }

    private OrderedLog<String>.Live follow(String topic, LogOffset after, List<String> seen) {
        return log.follow(context, CHANNEL, after, 100, s -> s.setString(1, topic), batch -> batch.forEach(e -> seen.add(e.value())));
    }

    private void awaitActive() throws Exception {
        // the live query's subscription is on the shared listener: wait until that channel is listened to
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!context.listener().channels().contains(CHANNEL) || !context.listener().isConnected()) {
            assertThat(System.nanoTime()).as("listening on " + CHANNEL).isLessThan(deadline);
            Thread.sleep(10);
        }
        Thread.sleep(100);
    }

    private static void awaitSeen(List<String> seen, List<String> expected, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (seen.size() < expected.size() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(50);
        assertThat(seen).containsExactlyElementsOf(expected);
    }

    private List<OrderedLog.Entry<String>> read(String topic, LogOffset after, int limit) {
        return log.read(after, limit, s -> s.setString(1, topic));
    }

    private void append(String topic, String body, boolean notify) {
        Db.execute(pgkit, "INSERT INTO ordered_log_test.entries (topic, body) VALUES ('" + topic + "', '" + body + "')"
                + (notify ? "; SELECT pg_notify('" + CHANNEL + "', '')" : ""));
    }

    private Connection connect() throws SQLException {
        return pgkit.dataSource().getConnection();
    }

    private static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }
}
