package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The behaviour of each journal, snapshot and durable state operation beyond the Pekko contract cases. */
@ExtendWith(PostgresExtension.class)
class PersistenceStoreTest {
    static Pgkit pgkit;
    static Persistence persistence;
    static String schema;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        schema = TestPostgres.uniqueName("persistence_behaviour");
        pgkit = Db.pgkit(postgres, schema);
        persistence = pgkit.persistence();
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static long count(String sql) {
        return Db.scalar(pgkit, sql.replace("$s", "\"" + schema + "\""));
    }

    @Nested
    class Journal {
        final EventJournal journal = persistence.journal();

        @Test
        void appendNumbersABatchAfterTheExpectedSequenceNumberAndStoresActorTsRows() {
            Instant before = Instant.now().minusSeconds(5);
            assertThat(journal.appendAll("order-1", List.of(NewEvent.tagged("created", "orders", "eu"), NewEvent.of("paid")), 0)).isEqualTo(2);
            List<JournalEvent<String>> events = journal.read("order-1", String.class);
            assertThat(events).extracting(JournalEvent::sequenceNr).containsExactly(1L, 2L);
            assertThat(events.get(0).tags()).containsExactly("orders", "eu");
            assertThat(events.get(1).tags()).isEmpty();
            assertThat(events.get(0).timestamp()).isAfter(before).isBefore(Instant.now().plusSeconds(5));
            // actor-ts's formats: JSON text, CSV tags (NULL for none), epoch milliseconds; the tags mirrored
            assertThat(count("SELECT count(*) FROM $s.events WHERE persistence_id = 'order-1' AND sequence_nr = 1 AND payload = '\"created\"'"
                    + " AND tags = 'orders,eu' AND timestamp BETWEEN 1e12 AND 1e13")).isEqualTo(1);
            assertThat(count("SELECT count(*) FROM $s.events WHERE persistence_id = 'order-1' AND sequence_nr = 2 AND tags IS NULL")).isEqualTo(1);
            assertThat(count("SELECT count(*) FROM $s.events_tags t JOIN $s.events e USING (persistence_id, sequence_nr, timestamp)"
                    + " WHERE t.persistence_id = 'order-1' AND t.sequence_nr = 1 AND t.tag IN ('orders', 'eu')")).isEqualTo(2);
        }

        @Test
        void duplicateTagsAreStoredOnce() {
            journal.appendAll("dup-tags", List.of(new NewEvent("x", List.of("a", "b", "a"))), 0);
            assertThat(journal.read("dup-tags", String.class).get(0).tags()).containsExactly("a", "b");
            assertThat(count("SELECT count(*) FROM $s.events_tags WHERE persistence_id = 'dup-tags'")).isEqualTo(2);
        }

        @Test
        void aStaleExpectedSequenceNumberFailsWithTheCurrentOneAndWritesNothing() {
            journal.append("stale", List.of("e1", "e2", "e3"), 0);
            assertThatThrownBy(() -> journal.append("stale", List.of("late"), 1)).isInstanceOfSatisfying(JournalConcurrencyException.class, e -> {
                assertThat(e.currentSequenceNr()).isEqualTo(3);
                assertThat(e.expectedSequenceNr()).isEqualTo(1);
                assertThat(e.persistenceId()).isEqualTo("stale");
            });
            // ahead of the stream is refused too: no gaps
            assertThatThrownBy(() -> journal.append("stale", List.of("gap"), 5)).isInstanceOf(JournalConcurrencyException.class);
            assertThat(journal.read("stale", String.class)).extracting(JournalEvent::event).containsExactly("e1", "e2", "e3");
            assertThat(journal.highestSequenceNr("stale")).isEqualTo(3);
        }

        @Test
        void deleteToRemovesTheEventsAndTheirTagRowsAndKeepsTheHighestNumber() {
            journal.append("del", List.of("e1", "e2", "e3"), List.of("t1", "t2"), 0);
            assertThat(journal.deleteTo("del", 2)).isEqualTo(2);
            assertThat(journal.deleteTo("del", 2)).isZero(); // idempotent
            assertThat(journal.read("del", String.class)).extracting(JournalEvent::sequenceNr).containsExactly(3L);
            assertThat(count("SELECT count(*) FROM $s.events_tags WHERE persistence_id = 'del'")).isEqualTo(2);
            journal.deleteTo("del", Long.MAX_VALUE);
            assertThat(count("SELECT count(*) FROM $s.events_tags WHERE persistence_id = 'del'")).isZero();
            assertThat(journal.highestSequenceNr("del")).isEqualTo(3);
            assertThat(journal.append("del", List.of("e4"), 3)).isEqualTo(4);
            assertThat(journal.persistenceIds()).contains("del");
        }

        @Test
        void deleteToRemembersTheHighestNumberOfAStreamAnActorTsNodeWrote() {
            // written as actor-ts writes: no row in pgkit's streams table
            Db.execute(pgkit, "INSERT INTO \"" + schema + "\".events VALUES ('node-written', 1, '\"a\"', NULL, 1), ('node-written', 2, '\"b\"', NULL, 1)");
            assertThat(journal.deleteTo("node-written", Long.MAX_VALUE)).isEqualTo(2);
            assertThat(journal.highestSequenceNr("node-written")).isEqualTo(2);
            assertThatThrownBy(() -> journal.append("node-written", List.of("reuse"), 0)).isInstanceOf(JournalConcurrencyException.class);
        }

        @Test
        void persistenceIdsListsEveryStreamOnceInOrderAndPages() {
            Persistence other = pgkit.persistence(PersistenceOptions.defaults().withEventsTable("ids_events"));
            EventJournal j = other.journal();
            for (String id : List.of("c", "a", "b")) {
                j.append(id, List.of("x", "y"), 0);
            }
            j.deleteTo("b", Long.MAX_VALUE); // still a stream: its highest number is remembered
            assertThat(j.persistenceIds()).containsExactly("a", "b", "c");
            assertThat(j.persistenceIds("a", 1)).containsExactly("b");
        }

        @Test
        void readBoundsAreInclusiveAndMaxCounts() {
            journal.append("bounds", List.of("e1", "e2", "e3", "e4"), 0);
            assertThat(journal.read("bounds", 2, 3, 10, String.class)).extracting(JournalEvent::event).containsExactly("e2", "e3");
            assertThat(journal.read("bounds", 2, 4, 1, String.class)).extracting(JournalEvent::event).containsExactly("e2");
        }
    }

    @Nested
    class Snapshots {
        @Test
        void keepsTheNewestKeepNPerPersistenceIdNotAcrossTheTable() {
            SnapshotStore store = pgkit.persistence(PersistenceOptions.defaults().withSnapshotsTable("keep_snapshots").withKeepN(2)).snapshots();
            for (int i = 1; i <= 5; i++) {
                store.save("a", i, "a-" + i);
            }
            store.save("b", 1, "b-1"); // another id's saves never touch a's
            store.save("b", 2, "b-2");
            assertThat(Db.longs(pgkit, "SELECT sequence_nr FROM \"" + schema + "\".keep_snapshots WHERE persistence_id = 'a' ORDER BY 1"))
                    .containsExactly(4L, 5L);
            assertThat(Db.longs(pgkit, "SELECT sequence_nr FROM \"" + schema + "\".keep_snapshots WHERE persistence_id = 'b' ORDER BY 1"))
                    .containsExactly(1L, 2L);
            // a snapshot older than the kept ones is not kept
            store.save("a", 3, "old");
            assertThat(store.load("a", SnapshotCriteria.upTo(3), String.class)).isEmpty();
            assertThat(store.load("a", String.class)).hasValueSatisfying(s -> assertThat(s.snapshot()).isEqualTo("a-5"));
        }

        @Test
        void keepNZeroOrLessKeepsAll() {
            SnapshotStore store = pgkit.persistence(PersistenceOptions.defaults().withSnapshotsTable("all_snapshots").withKeepN(-1)).snapshots();
            for (int i = 1; i <= 6; i++) {
                store.save("a", i, "a-" + i);
            }
            assertThat(count("SELECT count(*) FROM $s.all_snapshots")).isEqualTo(6);
        }

        @Test
        void theDefaultKeepsThree() {
            SnapshotStore store = persistence.snapshots();
            for (int i = 1; i <= 5; i++) {
                store.save("three", i * 10, i);
            }
            assertThat(count("SELECT count(*) FROM $s.snapshots WHERE persistence_id = 'three'")).isEqualTo(3);
            assertThat(store.load("three", Integer.class)).hasValueSatisfying(s -> assertThat(s.snapshot()).isEqualTo(5));
        }

        @Test
        void minimumCriteriaSelectToo() {
            SnapshotStore store = pgkit.persistence(PersistenceOptions.defaults().withSnapshotsTable("min_snapshots").withKeepN(0)).snapshots();
            store.save("m", 1, "one");
            store.save("m", 2, "two");
            assertThat(store.load("m", SnapshotCriteria.upTo(1).withMinSequenceNr(2), String.class)).isEmpty();
            assertThat(store.delete("m", SnapshotCriteria.latest().withMinSequenceNr(2))).isEqualTo(1);
            assertThat(store.load("m", String.class)).hasValueSatisfying(s -> assertThat(s.snapshot()).isEqualTo("one"));
            assertThat(store.delete("m", 7)).isFalse();
        }
    }

    @Nested
    class State {
        final DurableStateStore state = persistence.durableState();

        record Counter(String name, int value) {
        }

        @Test
        void revisionZeroCreatesAndEachUpdateExpectsTheStoredRevision() {
            assertThat(state.load("counter-1", Counter.class)).isEmpty();
            assertThat(state.upsert("counter-1", 0, new Counter("c", 1))).isEqualTo(1);
            assertThat(state.upsert("counter-1", 1, new Counter("c", 2))).isEqualTo(2);
            assertThat(state.load("counter-1", Counter.class)).hasValueSatisfying(s -> {
                assertThat(s.revision()).isEqualTo(2);
                assertThat(s.value()).isEqualTo(new Counter("c", 2));
                assertThat(s.timestamp()).isBetween(Instant.now().minus(Duration.ofMinutes(1)), Instant.now().plus(Duration.ofMinutes(1)));
            });
            assertThat(count("SELECT count(*) FROM $s.durable_state WHERE persistence_id = 'counter-1' AND revision = 2"
                    + " AND payload = '{\"name\":\"c\",\"value\":2}' AND timestamp BETWEEN 1e12 AND 1e13")).isEqualTo(1);
        }

        @Test
        void aLostCompareAndSetCarriesTheCurrentRevisionAndWritesNothing() {
            state.upsert("cas", 0, "v1");
            assertThatThrownBy(() -> state.upsert("cas", 0, "again")).isInstanceOfSatisfying(DurableStateConcurrencyException.class,
                    e -> assertThat(e.currentRevision()).isEqualTo(1));
            assertThatThrownBy(() -> state.upsert("cas", 5, "ahead")).isInstanceOfSatisfying(DurableStateConcurrencyException.class,
                    e -> assertThat(e.currentRevision()).isEqualTo(1));
            assertThatThrownBy(() -> state.upsert("absent", 3, "x")).isInstanceOfSatisfying(DurableStateConcurrencyException.class,
                    e -> assertThat(e.currentRevision()).isZero());
            assertThat(state.load("cas", String.class)).hasValueSatisfying(s -> assertThat(s.value()).isEqualTo("v1"));
            assertThat(state.load("absent", String.class)).isEmpty();
        }

        @Test
        void deleteRemovesAndAllowsCreatingAgain() {
            state.upsert("gone", 0, "v1");
            assertThat(state.delete("gone")).isTrue();
            assertThat(state.delete("gone")).isFalse();
            assertThat(state.revision("gone")).isZero();
            assertThat(state.upsert("gone", 0, "v2")).isEqualTo(1);
        }
    }

    @Test
    void configuredTableNamesAreUsedAndTheTagsTableFollowsTheEventsTable() {
        Persistence custom = pgkit.persistence(PersistenceOptions.defaults().withEventsTable("journal").withSnapshotsTable("snaps")
                .withTable("states"));
        custom.journal().append("x", List.of("e"), List.of("t"), 0);
        custom.snapshots().save("x", 1, "s");
        custom.durableState().upsert("x", 0, "v");
        assertThat(count("SELECT count(*) FROM $s.journal")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM $s.journal_tags")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM $s.snaps")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM $s.states")).isEqualTo(1);
        Persistence ownTags = pgkit.persistence(PersistenceOptions.defaults().withEventsTable("journal2").withTagsTable("tag_index"));
        ownTags.journal().append("x", List.of("e"), List.of("t"), 0);
        assertThat(count("SELECT count(*) FROM $s.tag_index")).isEqualTo(1);
    }

    @Test
    void withAutoCreateTablesOffNoDdlRunsAndMissingTablesAreReported() {
        PersistenceOptions manual = PersistenceOptions.defaults().withEventsTable("manual_events").withSnapshotsTable("manual_snapshots")
                .withTable("manual_state").withAutoCreateTables(false);
        assertThatThrownBy(() -> pgkit.persistence(manual)).isInstanceOf(dev.pgkit.SchemaNotReadyException.class)
                .hasMessageContaining("manual_events does not exist").hasMessageContaining("manual_events_streams does not exist");
        assertThat(count("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "' AND tablename LIKE 'manual%'")).isZero();
        // created by a DBA (here: by pgkit with auto-creation on), the same options then work
        pgkit.persistence(manual.withAutoCreateTables(true));
        Persistence verified = pgkit.persistence(manual);
        assertThat(verified.journal().append("m", List.of("e"), 0)).isEqualTo(1);
    }

    @Test
    @ExpectServerLog("poisoned event")
    void aBatchFailingInTheDatabaseWritesNothing() {
        // a trigger makes the second event of the batch fail inside the append's statement
        Db.execute(pgkit, "CREATE FUNCTION \"" + schema + "\".poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                + " IF NEW.payload = '\"poison\"' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$");
        Persistence poisoned = pgkit.persistence(PersistenceOptions.defaults().withEventsTable("poisoned"));
        Db.execute(pgkit, "CREATE TRIGGER poison BEFORE INSERT ON \"" + schema + "\".poisoned FOR EACH ROW EXECUTE FUNCTION \""
                + schema + "\".poison()");
        poisoned.journal().append("atomic", List.of("first"), List.of("t"), 0);
        assertThatThrownBy(() -> poisoned.journal().append("atomic", List.of("ok", "poison", "ok too"), List.of("t"), 1))
                .isInstanceOf(dev.pgkit.PgkitException.class);
        assertThat(poisoned.journal().highestSequenceNr("atomic")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM $s.poisoned")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM $s.poisoned_tags")).isEqualTo(1);
        assertThat(count("SELECT max(highest_sequence_nr) FROM $s.poisoned_streams")).isEqualTo(1);
        assertThat(poisoned.journal().append("atomic", List.of("second"), 1)).isEqualTo(2);
    }
}
