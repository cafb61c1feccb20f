package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Queries for projections: current and live, by tag and by persistence id, and exact resumption from stored offsets.
 * Live queries here re-check only every 60 s, so a delivery within the bounds below came from a NOTIFY.
 */
@ExtendWith(PostgresExtension.class)
class PersistenceQueriesTest {
    static final Duration RECHECK = Duration.ofSeconds(60);
    static Pgkit pgkit;
    static String schema;
    static Persistence persistence;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        schema = TestPostgres.uniqueName("persistence_queries");
        pgkit = Db.builder(postgres, schema).waitRecheckInterval(RECHECK).build();
        persistence = pgkit.persistence();
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static void await(String what, Supplier<Boolean> condition, long millis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.get()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + millis + " ms waiting until " + what);
            }
            Thread.sleep(5);
        }
    }

    static List<String> ids(List<EventEnvelope<String>> envelopes) {
        return envelopes.stream().map(e -> e.persistenceId() + "#" + e.sequenceNr()).toList();
    }

    @Test
    void currentEventsByTagPagesFromOffsetsInCommitOrder() {
        EventJournal journal = persistence.journal();
        journal.append("cur-a", List.of("a1", "a2"), List.of("cur"), 0);
        journal.appendAll("cur-b", List.of(NewEvent.tagged("b1", "cur", "other"), NewEvent.of("b2")), 0);
        journal.append("cur-a", List.of("a3"), List.of("cur"), 2);
        List<EventEnvelope<String>> all = persistence.queries().currentEventsByTag("cur", LogOffset.START, String.class);
        assertThat(ids(all)).containsExactly("cur-a#1", "cur-a#2", "cur-b#1", "cur-a#3");
        assertThat(all.get(2).tags()).containsExactly("cur", "other");
        assertThat(all).extracting(EventEnvelope::event).containsExactly("a1", "a2", "b1", "a3");
        // a page, then the rest from its last offset (stored as text, as a projection would)
        List<EventEnvelope<String>> first = persistence.queries().currentEventsByTag("cur", LogOffset.START, 2, String.class);
        String stored = first.get(1).offset().toString();
        List<EventEnvelope<String>> rest = persistence.queries().currentEventsByTag("cur", LogOffset.parse(stored), 10, String.class);
        assertThat(ids(first)).containsExactly("cur-a#1", "cur-a#2");
        assertThat(ids(rest)).containsExactly("cur-b#1", "cur-a#3");
        assertThat(persistence.queries().currentEventsByTag("cur", rest.get(1).offset(), 10, String.class)).isEmpty();
    }

    @Test
    void liveEventsByTagDeliversStoredThenNewEventsOnceAndResumesFromAStoredOffset() throws Exception {
        EventJournal journal = persistence.journal();
        journal.append("live-a", List.of("a1"), List.of("live"), 0);
        List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
        LogOffset stored;
        try (LiveQuery query = persistence.queries().eventsByTag("live", LogOffset.START, String.class, seen::addAll)) {
            await("the stored event arrives", () -> seen.size() == 1, 10_000);
            long start = System.nanoTime();
            journal.append("live-b", List.of("b1", "b2"), List.of("live"), 0);
            await("the new events arrive", () -> seen.size() == 3, 5_000);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("woken by NOTIFY, not the 60 s re-check").isLessThan(5_000);
            journal.append("live-other", List.of("x"), List.of("not-live"), 0);
            journal.append("live-a", List.of("a2"), List.of("live"), 1);
            await("a2 arrives", () -> seen.size() == 4, 5_000);
            await("the offset follows", () -> query.offset().equals(seen.get(3).offset()), 5_000);
            stored = query.offset();
            assertThat(query.isRunning()).isTrue();
        }
        assertThat(ids(seen)).containsExactly("live-a#1", "live-b#1", "live-b#2", "live-a#2");
        // appended while no query runs: a projection resuming from its stored offset sees exactly these
        journal.append("live-c", List.of("c1"), List.of("live"), 0);
        List<EventEnvelope<String>> resumed = new CopyOnWriteArrayList<>();
        try (LiveQuery query = persistence.queries().eventsByTag("live", stored, String.class, resumed::addAll)) {
            await("the missed event arrives", () -> resumed.size() == 1, 10_000);
            journal.append("live-c", List.of("c2"), List.of("live"), 1);
            await("the next one arrives", () -> resumed.size() == 2, 5_000);
            Thread.sleep(200);
        }
        assertThat(ids(resumed)).containsExactly("live-c#1", "live-c#2");
    }

    @Test
    void liveEventsByPersistenceIdDeliversInSequenceOrderFromANumber() throws Exception {
        EventJournal journal = persistence.journal();
        journal.append("pid-live", List.of("e1", "e2", "e3"), 0);
        List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
        try (LiveQuery query = persistence.queries().eventsByPersistenceId("pid-live", 2, String.class, seen::addAll)) {
            await("stored events from 2", () -> seen.size() == 2, 10_000);
            journal.append("other-pid", List.of("x"), 0);
            journal.append("pid-live", List.of("e4"), 3);
            journal.append("pid-live", List.of("e5", "e6"), 4);
            await("new events", () -> seen.size() == 5, 5_000);
            await("the offset follows", () -> query.offset().sequence() == 6, 5_000);
        }
        assertThat(seen).extracting(EventEnvelope::event).containsExactly("e2", "e3", "e4", "e5", "e6");
        assertThat(persistence.queries().currentEventsByPersistenceId("pid-live", 5, Long.MAX_VALUE, String.class))
                .extracting(EventEnvelope::sequenceNr).containsExactly(5L, 6L);
    }

    @Test
    void aHandlerThatThrowsEndsTheQueryWithItsFailure() throws Exception {
        persistence.journal().append("throws", List.of("boom"), List.of("throwing"), 0);
        try (LiveQuery query = persistence.queries().eventsByTag("throwing", LogOffset.START, String.class, batch -> {
            throw new IllegalStateException("projection failed");
        })) {
            await("the query fails", () -> !query.isRunning(), 10_000);
            assertThat(query.failure()).hasValueSatisfying(f -> assertThat(f).hasMessage("projection failed"));
            assertThat(query.offset()).isEqualTo(LogOffset.START);
        }
    }

    /**
     * The late commit: a transaction that appended first is still open while a later one commits. A reader ordering
     * by position would deliver the later event, advance past the earlier one and never deliver it. Here the later
     * event waits behind the open transaction, then both arrive once, in (transaction, position) order, and a
     * projection resumed from an offset stored while the first was open sees both.
     */
    @Test
    void anEventCommittedLateIsDeliveredExactlyOnceAndSeenByAResumedProjection() throws Exception {
        EventJournal journal = persistence.journal();
        journal.append("late-0", List.of("before"), List.of("late"), 0);
        List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
        LiveQuery query = persistence.queries().eventsByTag("late", LogOffset.START, String.class, seen::addAll);
        try {
            await("the first event", () -> seen.size() == 1, 10_000);
            LogOffset storedWhileOpen;
            try (Connection held = Db.server(TestPostgres.shared()).admin()) {
                held.setAutoCommit(false);
                // written exactly as actor-ts writes an event: its transaction gets its id now, before the later append's
                try (PreparedStatement insert = held.prepareStatement("INSERT INTO \"" + schema + "\".events"
                        + " (persistence_id, sequence_nr, payload, tags, timestamp) VALUES ('late-1', 1, '\"held\"', 'late', 1700000000000);"
                        + " INSERT INTO \"" + schema + "\".events_tags (persistence_id, sequence_nr, tag, timestamp)"
                        + " VALUES ('late-1', 1, 'late', 1700000000000)")) {
                    insert.execute();
                }
                journal.append("late-2", List.of("committed later"), List.of("late"), 0);
                assertThat(persistence.journal().read("late-2", String.class)).hasSize(1); // committed
                Thread.sleep(1_000); // the live query was woken by the later commit and re-read meanwhile
                assertThat(ids(seen)).as("nothing passes the open transaction").containsExactly("late-0#1");
                assertThat(persistence.queries().currentEventsByTag("late", LogOffset.START, String.class)).hasSize(1);
                storedWhileOpen = query.offset();
                try (Statement s = held.createStatement()) {
                    s.execute("SELECT pg_notify('unrelated', '')"); // no effect on order; the commit alone must do
                }
                held.commit();
            }
            await("both arrive", () -> seen.size() == 3, 10_000);
            Thread.sleep(300);
            assertThat(ids(seen)).containsExactly("late-0#1", "late-1#1", "late-2#1");
            List<EventEnvelope<String>> resumed = persistence.queries().currentEventsByTag("late", storedWhileOpen, String.class);
            assertThat(ids(resumed)).containsExactly("late-1#1", "late-2#1");
        } finally {
            query.close();
        }
    }

    @Test
    void resumingFromEveryOffsetSeesExactlyTheRest() {
        EventJournal journal = persistence.journal();
        for (int i = 0; i < 20; i++) {
            journal.append("resume-" + (i % 3), List.of("e" + i), List.of("resume"), journal.highestSequenceNr("resume-" + (i % 3)));
        }
        List<EventEnvelope<String>> all = persistence.queries().currentEventsByTag("resume", LogOffset.START, String.class);
        assertThat(all).hasSize(20);
        for (int i = 0; i < all.size(); i++) {
            List<EventEnvelope<String>> rest = persistence.queries().currentEventsByTag("resume", all.get(i).offset(), String.class);
            assertThat(ids(rest)).containsExactlyElementsOf(ids(all.subList(i + 1, all.size())));
        }
        List<LogOffset> offsets = new ArrayList<>(all.stream().map(EventEnvelope::offset).toList());
        List<LogOffset> sorted = new ArrayList<>(offsets);
        Collections.sort(sorted);
        assertThat(offsets).isEqualTo(sorted);
    }

    /** Appends NOTIFY only while a live query of their journal runs somewhere (its presence locks are held). */
    @Test
    void appendsNotifyOnlyWhileALiveQueryRuns() throws Exception {
        Persistence own = pgkit.persistence(PersistenceOptions.defaults().withEventsTable("gated_events"));
        String channel = Persistence.channel(schema, "gated_events");
        try (Connection plain = Db.server(TestPostgres.shared()).admin(); Statement listen = plain.createStatement()) {
            listen.execute("LISTEN " + channel);
            org.postgresql.PGConnection pg = plain.unwrap(org.postgresql.PGConnection.class);
            own.journal().append("gated", List.of("nobody follows"), List.of("g"), 0);
            assertThat(pg.getNotifications(300)).as("no live query: no NOTIFY").isNullOrEmpty();
            List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
            try (LiveQuery query = own.queries().eventsByTag("g", LogOffset.START, String.class, seen::addAll)) {
                await("the stored event", () -> seen.size() == 1, 10_000);
                await("the presence locks are held", () -> Db.scalar(pgkit, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                        + " AND classid = " + dev.pgkit.internal.WakeProtocol.LOG_PRESENCE_CLASS + " AND granted") >= dev.pgkit.internal.LogPresence.SHARDS, 10_000);
                drain(pg);
                own.journal().append("gated", List.of("followed"), List.of("g"), 1);
                await("the append's NOTIFY", () -> {
                    try {
                        org.postgresql.PGNotification[] n = pg.getNotifications(100);
                        return n != null && n.length > 0;
                    } catch (java.sql.SQLException e) {
                        throw new IllegalStateException(e);
                    }
                }, 5_000);
                await("its delivery", () -> seen.size() == 2, 5_000);
            }
        }
    }

    /**
     * A live query starting while an append that sent no NOTIFY (nobody listened) is still open: its presence lock
     * waits for that append's commit, and once held it wakes the query, which then reads the event, well before the
     * 60 s re-check.
     */
    @Test
    void aQueryStartingDuringAnUnnotifiedAppendIsWokenWhenItsPresenceIsHeld() throws Exception {
        Persistence own = pgkit.persistence(PersistenceOptions.defaults().withEventsTable("presence_events"));
        String channel = Persistence.channel(schema, "presence_events");
        List<EventEnvelope<String>> seen = new CopyOnWriteArrayList<>();
        try (Connection writer = Db.server(TestPostgres.shared()).admin()) {
            writer.setAutoCommit(false);
            try (Statement s = writer.createStatement()) {
                // what an append does when nobody listens: it takes its shard's exclusive lock (here all shards) and inserts
                for (int shard = 0; shard < dev.pgkit.internal.LogPresence.SHARDS; shard++) {
                    s.execute("SELECT pg_try_advisory_xact_lock(" + dev.pgkit.internal.WakeProtocol.LOG_PRESENCE_CLASS + ", hashtext('"
                            + dev.pgkit.internal.LogPresence.key(channel, shard).replace("\u001f", "' || chr(31) || '") + "'))");
                }
                s.execute("INSERT INTO \"" + schema + "\".presence_events VALUES ('p', 1, '\"unnotified\"', 'pt', 1)");
                s.execute("INSERT INTO \"" + schema + "\".presence_events_tags (persistence_id, sequence_nr, tag, timestamp) VALUES ('p', 1, 'pt', 1)");
            }
            try (LiveQuery query = own.queries().eventsByTag("pt", LogOffset.START, String.class, seen::addAll)) {
                Thread.sleep(1_000); // the query started, read nothing yet, and waits
                assertThat(seen).isEmpty();
                long start = System.nanoTime();
                writer.commit();
                await("the event, woken by the presence becoming held", () -> seen.size() == 1, 10_000);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(10_000);
            }
        }
    }

    static void drain(org.postgresql.PGConnection pg) throws java.sql.SQLException {
        while (true) {
            org.postgresql.PGNotification[] n = pg.getNotifications(200);
            if (n == null || n.length == 0) {
                return;
            }
        }
    }
}
