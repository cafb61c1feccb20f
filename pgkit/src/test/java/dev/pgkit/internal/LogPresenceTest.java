package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Presence-gated notification of ordered logs: writers NOTIFY only while a gated live reader runs, and a reader that
 * starts while an unannounced write is in flight still gets it. The re-check interval is 60 s, so only the mechanism
 * under test can deliver within the bounds here.
 */
@ExtendWith(PostgresExtension.class)
class LogPresenceTest {
    private static final String CHANNEL = "pgkit_log_presence_test";
    private TestPostgres postgres;
    private Pgkit pgkit;
    private Context context;
    private OrderedLog<String> log;

    @BeforeEach
    void setUp(TestPostgres postgres) throws Exception {
        this.postgres = postgres;
        pgkit = OrderedLogTest.withLogTable(postgres, "log_presence_test");
        context = ContextTest.contextOf(pgkit);
        log = new OrderedLog<>(context.database(), "presence test log",
                new OrderedLog.Source("e.body", "log_presence_test.entries e", "true", "e.tx", "e.seq"), rs -> rs.getString(1));
    }

    @AfterEach
    void tearDown() {
        Db.dropAndClose(pgkit);
    }

    @Test
    void writersNotifyOnlyWhileAGatedReaderRuns() throws Exception {
        try (Connection plain = Db.server(postgres).admin(); Statement listen = plain.createStatement(); Connection writer = connect()) {
            listen.execute("LISTEN " + CHANNEL);
            PGConnection pg = plain.unwrap(PGConnection.class);
            writer.setAutoCommit(false);
            assertThat(append(writer, "nobody follows")).as("notifications sent").isZero();
            writer.commit();
            assertThat(pg.getNotifications(300)).as("nobody follows: no NOTIFY").isNullOrEmpty();

            List<String> seen = new CopyOnWriteArrayList<>();
            try (OrderedLog<String>.Live live = follow(seen)) {
                awaitSeen(seen, List.of("nobody follows"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (heldPresences() < LogPresence.SHARDS) {
                    assertThat(System.nanoTime()).as("every shard's presence held").isLessThan(deadline);
                    Thread.sleep(10);
                }
                assertThat(append(writer, "followed")).as("notifications sent").isEqualTo(1);
                writer.commit();
                PGNotification[] notifications = pg.getNotifications(5_000);
                assertThat(notifications).as("a reader follows: the NOTIFY").isNotEmpty();
                assertThat(notifications[0].getName()).isEqualTo(CHANNEL);
                awaitSeen(seen, List.of("nobody follows", "followed"));
            }
        }
    }

    /**
     * The race the writer's exclusive lock closes: the write announced nothing (nobody followed), a reader starts and
     * reads before the write commits. Its presence waits for that commit, and becoming held wakes it.
     */
    @Test
    void aReaderStartingWhileAnUnannouncedWriteIsInFlightStillGetsIt() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        try (Connection writer = connect()) {
            writer.setAutoCommit(false);
            assertThat(append(writer, "in flight")).as("notifications sent").isZero();
            try (OrderedLog<String>.Live live = follow(seen)) {
                Thread.sleep(500); // the reader is active, has read nothing, and waits
                assertThat(seen).isEmpty();
                writer.commit();
                awaitSeen(seen, List.of("in flight"));
            }
        }
    }

    private OrderedLog<String>.Live follow(List<String> seen) {
        return log.followGated(context, CHANNEL, LogOffset.START, 100, null, batch -> batch.forEach(e -> seen.add(e.value())));
    }

    /** Appends a row the way a gated writer does, in the writer's transaction; returns the notifications it sent. */
    private static long append(Connection writer, String body) throws SQLException {
        try (Statement s = writer.createStatement()) {
            s.execute("INSERT INTO log_presence_test.entries (topic, body) VALUES ('t', '" + body + "')");
            try (ResultSet rs = s.executeQuery("SELECT " + LogPresence.notifySql("'" + CHANNEL + "'", "pg_backend_pid()"))) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private long heldPresences() {
        return Db.scalar(pgkit, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND mode = 'ShareLock'"
                + " AND classid = " + WakeProtocol.LOG_PRESENCE_CLASS + " AND objid::bigint IN (SELECT hashtext('" + CHANNEL
                + "' || chr(31) || shard)::bigint & 4294967295 FROM generate_series(0, " + (LogPresence.SHARDS - 1) + ") shard)");
    }

    private static void awaitSeen(List<String> seen, List<String> expected) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (seen.size() < expected.size() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        Thread.sleep(50);
        assertThat(seen).containsExactlyElementsOf(expected);
    }

    private Connection connect() throws SQLException {
        return pgkit.dataSource().getConnection();
    }
}
