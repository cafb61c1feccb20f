package dev.pgkit.persistence;

import dev.pgkit.ConcurrencyConflictException;

/**
 * A durable-state upsert expected one revision but the stored state has another (another writer won, or the
 * state does not exist): nothing was written. Load it again and decide.
 */
public final class DurableStateConcurrencyException extends ConcurrencyConflictException {
    private final String persistenceId;
    private final long expectedRevision;
    private final long currentRevision;

    DurableStateConcurrencyException(String persistenceId, long expectedRevision, long currentRevision) {
        super("upsert of durable state '" + persistenceId + "' expected revision " + expectedRevision + " but the stored revision is "
                + (currentRevision == 0 ? "0 (no state stored)" : String.valueOf(currentRevision))
                + "; nothing was written: load the state again and retry", null, null);
        this.persistenceId = persistenceId;
        this.expectedRevision = expectedRevision;
        this.currentRevision = currentRevision;
    }

    /** The state's persistence id. */
    public String persistenceId() {
        return persistenceId;
    }

    /** The revision the upsert expected (0: create). */
    public long expectedRevision() {
        return expectedRevision;
    }

    /** The stored revision when the conflict was seen; 0 when no state is stored. */
    public long currentRevision() {
        return currentRevision;
    }
}
