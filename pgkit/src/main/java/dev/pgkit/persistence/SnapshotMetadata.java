package dev.pgkit.persistence;

import java.time.Instant;

/**
 * Which snapshot: its stream, the sequence number it was taken at and when it was saved (the server's clock,
 * millisecond precision).
 */
public record SnapshotMetadata(String persistenceId, long sequenceNr, Instant timestamp) {
}
