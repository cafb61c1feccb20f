package dev.pgkit;

/**
 * PostgreSQL could not be reached, refused the login, the connection broke during a call, or no pool
 * connection became free within {@code acquireTimeout}. The message names the server and database
 * and what to do; the driver's exception is the cause. A statement that is safe to repeat (a read,
 * an idempotent write) was already retried before this is thrown; a write that is not safe to
 * repeat and may have been applied fails with the subclass {@link OutcomeUnknownException}.
 */
public class PgkitConnectionException extends PgkitException {
    public PgkitConnectionException(String message, Throwable cause) {
        super(message, cause);
    }
}
