package dev.pgkit.persistence;

import dev.pgkit.ConcurrencyConflictException;

/**
 * An append expected a stream at one sequence number but the stream had moved on (another writer appended
 * first): nothing was written. Re-read the stream from {@link #expectedSequenceNr()} + 1 and decide again.
 */
public final class JournalConcurrencyException extends ConcurrencyConflictException {
    private final String persistenceId;
    private final long expectedSequenceNr;
    private final long currentSequenceNr;

    JournalConcurrencyException(String persistenceId, long expectedSequenceNr, long currentSequenceNr, String constraint, Throwable cause) {
        super("append to stream '" + persistenceId + "' expected its highest sequence number to be " + expectedSequenceNr
                + " but it is " + currentSequenceNr + " (another writer appended first); nothing was written: re-read the stream and retry",
                constraint, cause);
        this.persistenceId = persistenceId;
        this.expectedSequenceNr = expectedSequenceNr;
        this.currentSequenceNr = currentSequenceNr;
    }

    /** The stream. */
    public String persistenceId() {
        return persistenceId;
    }

    /** The highest sequence number the append expected. */
    public long expectedSequenceNr() {
        return expectedSequenceNr;
    }

    /** The stream's highest sequence number when the conflict was seen (deleted events included). */
    public long currentSequenceNr() {
        return currentSequenceNr;
    }
}
