package dev.pgkit;

/**
 * PostgreSQL could not be reached, refused the login, or the connection broke during a call.
 * The message names the server and database; the driver's exception is the cause.
 */
public class PgkitConnectionException extends PgkitException {
    public PgkitConnectionException(String message, Throwable cause) {
        super(message, cause);
    }
}
