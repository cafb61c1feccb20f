package dev.pgkit.store;

/**
 * Progress of a sync round, reported after each batch.
 *
 * @param phase        {@code push} or {@code pull}
 * @param entries      entries of this phase handled so far
 * @param rowsWritten  rows changed by this phase so far
 */
public record SyncProgress(String phase, long entries, long rowsWritten) {
}
