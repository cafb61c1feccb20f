package dev.pgkit;

/**
 * Another writer got there first: a write that expects to be the only one to create a row (an event
 * journal's next sequence number, a revision compare-and-set) found it already taken. Nothing was
 * applied; re-read and decide again. {@link #constraint()} names the unique constraint that detected it.
 */
public class ConcurrencyConflictException extends PgkitException {
    private final String constraint;

    public ConcurrencyConflictException(String message, String constraint, Throwable cause) {
        super(message, cause);
        this.constraint = constraint;
    }

    /** The unique constraint (or primary key) whose violation signalled the conflict. */
    public String constraint() {
        return constraint;
    }
}
