package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad input gets a clear IllegalArgumentException before any SQL, and nothing is written. */
@ExtendWith(PostgresExtension.class)
class PersistenceBadInputTest {
    static Pgkit pgkit;
    static Persistence persistence;
    static String schema;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        schema = TestPostgres.uniqueName("persistence_bad_input");
        pgkit = Db.pgkit(postgres, schema);
        persistence = pgkit.persistence();
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static long rows() {
        return Db.scalar(pgkit, "SELECT (SELECT count(*) FROM \"" + schema + "\".events) + (SELECT count(*) FROM \"" + schema + "\".events_tags)"
                + " + (SELECT count(*) FROM \"" + schema + "\".events_streams) + (SELECT count(*) FROM \"" + schema + "\".snapshots)"
                + " + (SELECT count(*) FROM \"" + schema + "\".durable_state)");
    }

    static void rejected(Runnable call, String messagePart) {
        assertThatThrownBy(call::run).isInstanceOf(IllegalArgumentException.class).hasMessageContaining(messagePart);
    }

    /** Jackson cannot write it: a getter that throws. */
    static final class Unserializable {
        public String getValue() {
            throw new IllegalStateException("no value");
        }
    }

    @Test
    void journalArgumentsAreCheckedBeforeAnySql() {
        EventJournal journal = persistence.journal();
        rejected(() -> journal.append(null, List.of("e"), 0), "persistenceId must not be null");
        rejected(() -> journal.append("", List.of("e"), 0), "persistenceId must not be empty");
        rejected(() -> journal.append("x".repeat(1025), List.of("e"), 0), "at most 1024");
        rejected(() -> journal.append("a\u0000b", List.of("e"), 0), "control character U+0000");
        rejected(() -> journal.append("p", List.of(), 0), "events must not be empty");
        rejected(() -> journal.append("p", null, 0), "events must not be null");
        rejected(() -> journal.append("p", Arrays.asList("e", null), 0), "event must not be null");
        rejected(() -> journal.append("p", List.of("e"), -1), "expectedSequenceNr must not be negative");
        rejected(() -> journal.append("p", List.of("e"), Long.MAX_VALUE), "leaves no room");
        rejected(() -> journal.append("p", List.of("e", new Unserializable()), 0), "events[1] cannot be stored");
        rejected(() -> journal.append("p", List.of("e"), List.of("a,b"), 0), "contains a comma");
        rejected(() -> journal.append("p", List.of("e"), List.of(""), 0), "tag must not be empty");
        rejected(() -> journal.append("p", List.of("e"), Arrays.asList("t", null), 0), "must not contain null");
        List<Object> tooMany = new ArrayList<>();
        for (int i = 0; i <= Check.MAX_BATCH; i++) {
            tooMany.add(i);
        }
        rejected(() -> journal.append("p", tooMany, 0), "at most 100000 events");
        rejected(() -> journal.read("p", -1, 5, 5, String.class), "fromSequenceNr must not be negative");
        rejected(() -> journal.read("p", 0, 5, -1, String.class), "max must not be negative");
        rejected(() -> journal.read("p", 0, 5, 5, null), "type must not be null");
        rejected(() -> journal.deleteTo("p", 0), "toSequenceNr must be at least 1");
        rejected(() -> journal.deleteTo("", 5), "persistenceId must not be empty");
        rejected(() -> journal.persistenceIds("", 0), "limit must be at least 1");
        assertThat(rows()).isZero();
    }

    @Test
    void snapshotAndStateArgumentsAreCheckedBeforeAnySql() {
        rejected(() -> persistence.snapshots().save("p", -1, "s"), "sequenceNr must not be negative");
        rejected(() -> persistence.snapshots().save("p", 1, null), "snapshot must not be null");
        rejected(() -> persistence.snapshots().save("p", 1, new Unserializable()), "snapshot cannot be stored");
        rejected(() -> persistence.snapshots().save(" \n", 1, "s"), "control character");
        rejected(() -> persistence.snapshots().load("p", null, String.class), "criteria must not be null");
        rejected(() -> SnapshotCriteria.upTo(-5), "must not be negative");
        rejected(() -> SnapshotCriteria.latest().withMaxTimestamp(null), "must not be null");
        rejected(() -> persistence.durableState().upsert("p", -1, "v"), "expectedRevision must not be negative");
        rejected(() -> persistence.durableState().upsert("p", 0, new Unserializable()), "value cannot be stored");
        rejected(() -> persistence.durableState().upsert(null, 0, "v"), "persistenceId must not be null");
        rejected(() -> persistence.queries().eventsByTag("a,b", LogOffset.START, String.class, b -> { }), "contains a comma");
        rejected(() -> persistence.queries().eventsByTag("t", null, String.class, b -> { }), "after must not be null");
        rejected(() -> persistence.queries().eventsByPersistenceId("p", -1, String.class, b -> { }), "must not be negative");
        rejected(() -> persistence.queries().currentEventsByTag("t", LogOffset.START, 0, String.class), "limit must be at least 1");
        rejected(() -> LogOffset.parse("1;DROP TABLE events"), "not a log offset");
        assertThat(rows()).isZero();
    }

    @Test
    void hostileOrOversizedTableNamesAreRejectedNamingTheOption() {
        rejected(() -> PersistenceOptions.defaults().withEventsTable("events; DROP TABLE x"), "eventsTable");
        rejected(() -> PersistenceOptions.defaults().withEventsTable("\"events\""), "not a safe identifier");
        rejected(() -> PersistenceOptions.defaults().withTagsTable("1tags"), "tagsTable");
        rejected(() -> PersistenceOptions.defaults().withSnapshotsTable(""), "snapshotsTable must not be null or empty");
        rejected(() -> PersistenceOptions.defaults().withTable("state-table"), "table");
        rejected(() -> PersistenceOptions.defaults().withEventsTable("e".repeat(60)), "_streams");
        rejected(() -> new PersistenceOptions("events", null, "snapshots", 3, "durable_state", true), "tagsTable must not be null");
        assertThat(PersistenceOptions.defaults().withTagsTable(null).tagsTable()).isEqualTo(Optional.empty());
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "'")).isEqualTo(6); // 5 + version table
    }

    record Strict(int number) {
    }

    @Test
    void storedJsonThatDoesNotFitTheTypeFailsWithoutQuotingIt() {
        persistence.journal().append("typed", List.of("secret-text"), 0);
        assertThatThrownBy(() -> persistence.journal().read("typed", Strict.class)).isInstanceOf(dev.pgkit.PgkitException.class)
                .hasMessageContaining(Strict.class.getName()).hasMessageNotContaining("secret-text");
        persistence.journal().deleteTo("typed", Long.MAX_VALUE);
        Db.execute(pgkit, "TRUNCATE \"" + schema + "\".events_streams");
    }
}
