package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Apache Pekko's journal TCK ({@code pekko-persistence-tck} 1.x {@code JournalSpec}) on pgkit's journal: each of the
 * 14 required cases is one test named after it, plus the two optional ones pgkit supports (rejecting what cannot be
 * serialised, serialising user types). As in the TCK, every case starts from a fresh stream holding {@code a-1} ...
 * {@code a-5}, written as the TCK writes them: 1, 2, 3 alone and 4, 5 as one atomic batch. A TCK
 * {@code ReplayMessages(from, to, max)} is {@link EventJournal#read}; its {@code RecoverySuccess(highestSequenceNr)}
 * is {@link EventJournal#highestSequenceNr}.
 */
@ExtendWith(PostgresExtension.class)
class JournalContractTest {
    static Pgkit pgkit;
    static EventJournal journal;
    static final AtomicInteger streams = new AtomicInteger();
    String pid;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("journal_tck"));
        journal = pgkit.persistence().journal();
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    @BeforeEach
    void writeMessages() {
        pid = "p-" + streams.incrementAndGet();
        assertThat(journal.append(pid, List.of("a-1"), 0)).isEqualTo(1);
        assertThat(journal.append(pid, List.of("a-2"), 1)).isEqualTo(2);
        assertThat(journal.append(pid, List.of("a-3"), 2)).isEqualTo(3);
        assertThat(journal.append(pid, List.of("a-4", "a-5"), 3)).isEqualTo(5);
    }

    private List<String> replay(long from, long to, long max) {
        List<JournalEvent<String>> events = journal.read(pid, from, to, max, String.class);
        events.forEach(e -> assertThat(e.event()).isEqualTo("a-" + e.sequenceNr()));
        return events.stream().map(JournalEvent::event).toList();
    }

    private void recoverySuccess(long highest) {
        assertThat(journal.highestSequenceNr(pid)).isEqualTo(highest);
    }

    @Test
    @DisplayName("JournalSpec: replay all messages")
    void replayAllMessages() {
        assertThat(replay(1, Long.MAX_VALUE, Long.MAX_VALUE)).containsExactly("a-1", "a-2", "a-3", "a-4", "a-5");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay messages using a lower sequence number bound")
    void replayMessagesUsingALowerSequenceNumberBound() {
        assertThat(replay(3, Long.MAX_VALUE, Long.MAX_VALUE)).containsExactly("a-3", "a-4", "a-5");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay messages using an upper sequence number bound")
    void replayMessagesUsingAnUpperSequenceNumberBound() {
        assertThat(replay(1, 3, Long.MAX_VALUE)).containsExactly("a-1", "a-2", "a-3");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay messages using a count limit")
    void replayMessagesUsingACountLimit() {
        assertThat(replay(1, Long.MAX_VALUE, 3)).containsExactly("a-1", "a-2", "a-3");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay messages using a lower and upper sequence number bound")
    void replayMessagesUsingALowerAndUpperSequenceNumberBound() {
        assertThat(replay(2, 3, Long.MAX_VALUE)).containsExactly("a-2", "a-3");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay messages using a lower and upper sequence number bound and a count limit")
    void replayMessagesUsingALowerAndUpperSequenceNumberBoundAndACountLimit() {
        assertThat(replay(2, 5, 2)).containsExactly("a-2", "a-3");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay a single if lower sequence number bound equals upper sequence number bound")
    void replayASingleIfLowerSequenceNumberBoundEqualsUpperSequenceNumberBound() {
        assertThat(replay(2, 2, Long.MAX_VALUE)).containsExactly("a-2");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: replay a single message if count limit equals 1")
    void replayASingleMessageIfCountLimitEquals1() {
        assertThat(replay(2, 4, 1)).containsExactly("a-2");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: not replay messages if count limit equals 0")
    void notReplayMessagesIfCountLimitEquals0() {
        assertThat(replay(2, 4, 0)).isEmpty();
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: not replay messages if lower sequence number bound is greater than upper sequence number bound")
    void notReplayMessagesIfLowerSequenceNumberBoundIsGreaterThanUpperSequenceNumberBound() {
        assertThat(replay(3, 2, Long.MAX_VALUE)).isEmpty();
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: not replay messages if the persistent actor has not yet written messages")
    void notReplayMessagesIfThePersistentActorHasNotYetWrittenMessages() {
        assertThat(journal.read("non-existing-pid", 0, Long.MAX_VALUE, Long.MAX_VALUE, String.class)).isEmpty();
        assertThat(journal.highestSequenceNr("non-existing-pid")).isZero();
    }

    @Test
    @DisplayName("JournalSpec: not replay permanently deleted messages (range deletion)")
    void notReplayPermanentlyDeletedMessagesRangeDeletion() {
        assertThat(journal.deleteTo(pid, 3)).isEqualTo(3);
        assertThat(replay(1, Long.MAX_VALUE, Long.MAX_VALUE)).containsExactly("a-4", "a-5");
    }

    @Test
    @DisplayName("JournalSpec: not reset highestSequenceNr after message deletion")
    void notResetHighestSequenceNrAfterMessageDeletion() {
        assertThat(replay(0, Long.MAX_VALUE, Long.MAX_VALUE)).containsExactly("a-1", "a-2", "a-3", "a-4", "a-5");
        recoverySuccess(5);
        journal.deleteTo(pid, 3);
        assertThat(replay(0, Long.MAX_VALUE, Long.MAX_VALUE)).containsExactly("a-4", "a-5");
        recoverySuccess(5);
    }

    @Test
    @DisplayName("JournalSpec: not reset highestSequenceNr after journal cleanup")
    void notResetHighestSequenceNrAfterJournalCleanup() {
        assertThat(replay(0, Long.MAX_VALUE, Long.MAX_VALUE)).hasSize(5);
        recoverySuccess(5);
        journal.deleteTo(pid, Long.MAX_VALUE);
        assertThat(replay(0, Long.MAX_VALUE, Long.MAX_VALUE)).isEmpty();
        recoverySuccess(5);
        // and so the stream never reuses a number
        assertThatThrownBy(() -> journal.append(pid, List.of("reused"), 0)).isInstanceOf(JournalConcurrencyException.class)
                .satisfies(e -> assertThat(((JournalConcurrencyException) e).currentSequenceNr()).isEqualTo(5));
        assertThat(journal.append(pid, List.of("a-6"), 5)).isEqualTo(6);
    }

    // ---------------------------------------------------------------- the TCK's optional cases

    /** Not serialisable for Jackson: a self-reference. */
    static final class Unserializable {
        public final Unserializable self = this;
    }

    @Test
    @DisplayName("JournalSpec (optional): reject non-serializable events")
    void rejectNonSerializableEvents() {
        // pgkit rejects the whole atomic batch before any SQL (Pekko rejects the single write), and the stream is unchanged
        assertThatThrownBy(() -> journal.append(pid, List.of("b-6", new Unserializable(), "b-8"), 5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("events[1]");
        recoverySuccess(5);
        assertThat(journal.append(pid, List.of("b-6"), 5)).isEqualTo(6);
    }

    /** A user type, encoded by the codec. */
    record TestPayload(String name, int n, List<String> items) {
    }

    @Test
    @DisplayName("JournalSpec (optional): serialize events")
    void serializeEvents() {
        TestPayload event = new TestPayload("payload", 6, List.of("x", "y"));
        journal.append(pid, List.of(event), 5);
        List<JournalEvent<TestPayload>> replayed = journal.read(pid, 6, Long.MAX_VALUE, Long.MAX_VALUE, TestPayload.class);
        assertThat(replayed).singleElement().satisfies(e -> {
            assertThat(e.event()).isEqualTo(event);
            assertThat(e.sequenceNr()).isEqualTo(6);
            assertThat(e.persistenceId()).isEqualTo(pid);
        });
        assertThat(journal.highestSequenceNr(pid)).isGreaterThanOrEqualTo(6);
    }
}
