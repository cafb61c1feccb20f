package dev.pgkit.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Apache Pekko's snapshot store TCK ({@code pekko-persistence-tck} 1.x {@code SnapshotStoreSpec}) on pgkit's
 * snapshot store: each of the 11 required cases is one test named after it, plus the optional "serialize snapshots".
 * As in the TCK, each case starts with snapshots {@code s-1} ... {@code s-5} saved at sequence numbers 11 ... 15
 * (the store keeps every snapshot here: {@code keepN = 0}; Pekko has no retention). A TCK
 * {@code LoadSnapshot(pid, criteria, toSequenceNr)} is {@link SnapshotStore#load} with the criteria's maximum
 * sequence number lowered to {@code toSequenceNr}.
 */
@ExtendWith(PostgresExtension.class)
class SnapshotStoreContractTest {
    static Pgkit pgkit;
    static SnapshotStore store;
    static final AtomicInteger ids = new AtomicInteger();
    String pid;
    List<SnapshotMetadata> metadata;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("snapshot_tck"));
        store = pgkit.persistence(PersistenceOptions.defaults().withKeepN(0)).snapshots();
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    @BeforeEach
    void writeSnapshots() throws InterruptedException {
        pid = "p-" + ids.incrementAndGet();
        metadata = new ArrayList<>();
        for (int i = 1; i <= 5; i++) {
            metadata.add(store.save(pid, i + 10, "s-" + i));
            Thread.sleep(2); // distinct save times (milliseconds, the server's clock), as the TCK's actor round trips give
        }
    }

    private Optional<SelectedSnapshot<String>> load(String id, SnapshotCriteria criteria, long toSequenceNr) {
        return store.load(id, criteria.withMaxSequenceNr(Math.min(criteria.maxSequenceNr(), toSequenceNr)), String.class);
    }

    private void expectSnapshot(Optional<SelectedSnapshot<String>> loaded, int index, String value) {
        assertThat(loaded).hasValueSatisfying(s -> {
            assertThat(s.metadata()).isEqualTo(metadata.get(index));
            assertThat(s.snapshot()).isEqualTo(value);
        });
    }

    @Test
    @DisplayName("SnapshotStoreSpec: not load a snapshot given an invalid persistenceId")
    void notLoadASnapshotGivenAnInvalidPersistenceId() {
        assertThat(load("invalid", SnapshotCriteria.latest(), Long.MAX_VALUE)).isEmpty();
    }

    @Test
    @DisplayName("SnapshotStoreSpec: not load a snapshot given non-matching timestamp criteria")
    void notLoadASnapshotGivenNonMatchingTimestampCriteria() {
        assertThat(load(pid, SnapshotCriteria.latest().withMaxTimestamp(java.time.Instant.ofEpochMilli(100)), Long.MAX_VALUE)).isEmpty();
    }

    @Test
    @DisplayName("SnapshotStoreSpec: not load a snapshot given non-matching sequence number criteria")
    void notLoadASnapshotGivenNonMatchingSequenceNumberCriteria() {
        assertThat(load(pid, SnapshotCriteria.upTo(7), Long.MAX_VALUE)).isEmpty();
        assertThat(load(pid, SnapshotCriteria.latest(), 7)).isEmpty();
    }

    @Test
    @DisplayName("SnapshotStoreSpec: load the most recent snapshot")
    void loadTheMostRecentSnapshot() {
        expectSnapshot(load(pid, SnapshotCriteria.latest(), Long.MAX_VALUE), 4, "s-5");
    }

    @Test
    @DisplayName("SnapshotStoreSpec: load the most recent snapshot matching an upper sequence number bound")
    void loadTheMostRecentSnapshotMatchingAnUpperSequenceNumberBound() {
        expectSnapshot(load(pid, SnapshotCriteria.upTo(13), Long.MAX_VALUE), 2, "s-3");
        expectSnapshot(load(pid, SnapshotCriteria.latest(), 13), 2, "s-3");
    }

    @Test
    @DisplayName("SnapshotStoreSpec: load the most recent snapshot matching upper sequence number and timestamp bounds")
    void loadTheMostRecentSnapshotMatchingUpperSequenceNumberAndTimestampBounds() {
        expectSnapshot(load(pid, SnapshotCriteria.upTo(13, metadata.get(2).timestamp()), Long.MAX_VALUE), 2, "s-3");
        expectSnapshot(load(pid, SnapshotCriteria.latest().withMaxTimestamp(metadata.get(2).timestamp()), 13), 2, "s-3");
    }

    @Test
    @DisplayName("SnapshotStoreSpec: delete a single snapshot identified by sequenceNr in snapshot metadata")
    void deleteASingleSnapshotIdentifiedBySequenceNrInSnapshotMetadata() {
        SnapshotMetadata md = metadata.get(2);
        assertThat(store.delete(pid, md.sequenceNr())).isTrue();
        expectSnapshot(load(pid, SnapshotCriteria.upTo(md.sequenceNr()), Long.MAX_VALUE), 1, "s-2");
    }

    @Test
    @DisplayName("SnapshotStoreSpec: delete all snapshots matching upper sequence number and timestamp bounds")
    void deleteAllSnapshotsMatchingUpperSequenceNumberAndTimestampBounds() {
        SnapshotMetadata md = metadata.get(2);
        SnapshotCriteria criteria = SnapshotCriteria.upTo(md.sequenceNr(), md.timestamp());
        assertThat(store.delete(pid, criteria)).isEqualTo(3);
        assertThat(load(pid, criteria, Long.MAX_VALUE)).isEmpty();
        expectSnapshot(load(pid, SnapshotCriteria.upTo(metadata.get(3).sequenceNr(), metadata.get(3).timestamp()), Long.MAX_VALUE), 3, "s-4");
    }

    @Test
    @DisplayName("SnapshotStoreSpec: not delete snapshots with non-matching upper timestamp bounds")
    void notDeleteSnapshotsWithNonMatchingUpperTimestampBounds() {
        SnapshotMetadata md = metadata.get(3);
        store.delete(pid, SnapshotCriteria.upTo(md.sequenceNr(), md.timestamp().minusMillis(1)));
        expectSnapshot(load(pid, SnapshotCriteria.upTo(md.sequenceNr(), md.timestamp()), Long.MAX_VALUE), 3, "s-4");
    }

    @Test
    @DisplayName("SnapshotStoreSpec: save and overwrite snapshot with same sequence number")
    void saveAndOverwriteSnapshotWithSameSequenceNumber() {
        SnapshotMetadata md = metadata.get(4);
        SnapshotMetadata md2 = store.save(pid, md.sequenceNr(), "s-5-modified");
        assertThat(md2.sequenceNr()).isEqualTo(md.sequenceNr());
        Optional<SelectedSnapshot<String>> result = load(pid, SnapshotCriteria.upTo(md.sequenceNr()), Long.MAX_VALUE);
        assertThat(result).hasValueSatisfying(s -> {
            assertThat(s.snapshot()).isEqualTo("s-5-modified");
            assertThat(s.metadata().sequenceNr()).isEqualTo(md.sequenceNr());
        });
    }

    @Test
    @DisplayName("SnapshotStoreSpec: save bigger size snapshot (10000 bytes)")
    void saveBiggerSizeSnapshot10000Bytes() {
        String big = "0".repeat(10_000);
        SnapshotMetadata saved = store.save(pid, 100, big);
        assertThat(saved.sequenceNr()).isEqualTo(100);
        assertThat(store.load(pid, String.class)).hasValueSatisfying(s -> assertThat(s.snapshot()).isEqualTo(big));
    }

    record TestPayload(String name, List<Integer> values) {
    }

    @Test
    @DisplayName("SnapshotStoreSpec (optional): serialize snapshots")
    void serializeSnapshots() {
        TestPayload snap = new TestPayload("state", List.of(1, 2, 3));
        store.save(pid, 100, snap);
        assertThat(store.load(pid, SnapshotCriteria.latest(), TestPayload.class)).hasValueSatisfying(s -> {
            assertThat(s.metadata().persistenceId()).isEqualTo(pid);
            assertThat(s.metadata().sequenceNr()).isEqualTo(100);
            assertThat(s.snapshot()).isEqualTo(snap);
        });
    }
}
