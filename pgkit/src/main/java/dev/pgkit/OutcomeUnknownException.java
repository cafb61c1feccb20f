package dev.pgkit;

/**
 * The connection broke (or stopped answering) after a write was sent, and the write is not safe to
 * repeat (an enqueue, a list append, a dequeue, a lock acquisition, a set-if-absent): it may or may
 * not have been applied. pgkit never repeats such a write on its own; check its effect (or accept a
 * possible duplicate) before trying again.
 */
public class OutcomeUnknownException extends PgkitConnectionException {
    public OutcomeUnknownException(String message, Throwable cause) {
        super(message, cause);
    }
}
