package dev.pgkit.persistence;

import java.time.Instant;

/**
 * Which snapshots a load or a delete selects: sequence numbers and save times within bounds, all inclusive
 * (Pekko's {@code SnapshotSelectionCriteria}). A load picks the one with the highest sequence number.
 *
 * @param maxSequenceNr  highest sequence number selected
 * @param maxTimestamp   latest save time selected (millisecond precision)
 * @param minSequenceNr  lowest sequence number selected
 * @param minTimestamp   earliest save time selected
 */
public record SnapshotCriteria(long maxSequenceNr, Instant maxTimestamp, long minSequenceNr, Instant minTimestamp) {
    /** The latest timestamp criteria accept: every stored epoch-millisecond timestamp is at or before it. */
    public static final Instant MAX_TIMESTAMP = Instant.ofEpochMilli(Long.MAX_VALUE);
    /** The earliest timestamp criteria accept. */
    public static final Instant MIN_TIMESTAMP = Instant.ofEpochMilli(0);

    /** @throws IllegalArgumentException on a null time or a negative sequence number */
    public SnapshotCriteria {
        if (maxTimestamp == null || minTimestamp == null) {
            throw new IllegalArgumentException("snapshot criteria timestamps must not be null (use MAX_TIMESTAMP / MIN_TIMESTAMP)");
        }
        if (maxSequenceNr < 0 || minSequenceNr < 0) {
            throw new IllegalArgumentException("snapshot criteria sequence numbers must not be negative, were max " + maxSequenceNr
                    + ", min " + minSequenceNr);
        }
        if (maxTimestamp.isAfter(MAX_TIMESTAMP) || minTimestamp.isBefore(MIN_TIMESTAMP)) {
            throw new IllegalArgumentException("snapshot criteria timestamps must lie between " + MIN_TIMESTAMP + " and epoch millisecond "
                    + Long.MAX_VALUE);
        }
    }

    /** Every snapshot (a load picks the newest). */
    public static SnapshotCriteria latest() {
        return new SnapshotCriteria(Long.MAX_VALUE, MAX_TIMESTAMP, 0, MIN_TIMESTAMP);
    }

    /** Snapshots at or below {@code maxSequenceNr}. */
    public static SnapshotCriteria upTo(long maxSequenceNr) {
        return latest().withMaxSequenceNr(maxSequenceNr);
    }

    /** Snapshots at or below {@code maxSequenceNr} saved at or before {@code maxTimestamp}. */
    public static SnapshotCriteria upTo(long maxSequenceNr, Instant maxTimestamp) {
        return upTo(maxSequenceNr).withMaxTimestamp(maxTimestamp);
    }

    /** A copy selecting sequence numbers at or below {@code maxSequenceNr}. */
    public SnapshotCriteria withMaxSequenceNr(long maxSequenceNr) {
        return new SnapshotCriteria(maxSequenceNr, maxTimestamp, minSequenceNr, minTimestamp);
    }

    /** A copy selecting snapshots saved at or before {@code maxTimestamp}. */
    public SnapshotCriteria withMaxTimestamp(Instant maxTimestamp) {
        return new SnapshotCriteria(maxSequenceNr, maxTimestamp, minSequenceNr, minTimestamp);
    }

    /** A copy selecting sequence numbers at or above {@code minSequenceNr}. */
    public SnapshotCriteria withMinSequenceNr(long minSequenceNr) {
        return new SnapshotCriteria(maxSequenceNr, maxTimestamp, minSequenceNr, minTimestamp);
    }

    /** A copy selecting snapshots saved at or after {@code minTimestamp}. */
    public SnapshotCriteria withMinTimestamp(Instant minTimestamp) {
        return new SnapshotCriteria(maxSequenceNr, maxTimestamp, minSequenceNr, minTimestamp);
    }

    long maxMillis() {
        return maxTimestamp.toEpochMilli();
    }

    long minMillis() {
        return minTimestamp.toEpochMilli();
    }
}
