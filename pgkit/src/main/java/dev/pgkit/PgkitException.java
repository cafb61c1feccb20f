package dev.pgkit;

/**
 * The root of every exception pgkit throws. Unchecked; where the cause is a database error the
 * {@link java.sql.SQLException} (and its SQLState) stays attached as the cause.
 */
public class PgkitException extends RuntimeException {
    public PgkitException(String message) {
        super(message);
    }

    public PgkitException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The SQLState of the database error behind this exception, if there is one. */
    public java.util.Optional<String> sqlState() {
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                return java.util.Optional.of(sql.getSQLState());
            }
        }
        return java.util.Optional.empty();
    }
}
