package dev.pgkit;

/**
 * A call did not finish within its bound: PostgreSQL cancelled it after {@code statementTimeout}
 * (or a lock wait after {@code lock_timeout}), in which case it was rolled back and nothing was
 * applied; or no answer arrived within the client's socket timeout for a statement that is safe to
 * repeat. A write that is not safe to repeat and got no answer fails with
 * {@link OutcomeUnknownException} instead.
 */
public class PgkitTimeoutException extends PgkitException {
    public PgkitTimeoutException(String message, Throwable cause) {
        super(message, cause);
    }
}
