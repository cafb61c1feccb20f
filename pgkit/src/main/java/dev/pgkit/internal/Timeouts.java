package dev.pgkit.internal;

import java.time.Duration;

/**
 * How long one statement may take: PostgreSQL cancels it after {@code statement} (its
 * {@code statement_timeout}, rolled back), and the client gives up waiting for an answer after
 * {@code socket}, a little later, which catches a half-open connection the server never answers on.
 * Internal to pgkit (not exported).
 *
 * @param statement the server-side bound
 * @param socket    the client-side bound, longer than {@code statement}
 */
public record Timeouts(Duration statement, Duration socket) {
    /** How much later than the server's cancel the client stops waiting: room for the cancel's answer to arrive. */
    static final Duration SOCKET_MARGIN = Duration.ofSeconds(2);
    /** The largest statement_timeout PostgreSQL accepts (an int of milliseconds). */
    public static final Duration MAX_STATEMENT = Duration.ofMillis(Integer.MAX_VALUE).minus(SOCKET_MARGIN).minusSeconds(1);

    /**
     * The bounds for a statement timeout: the socket timeout is {@link #SOCKET_MARGIN} longer, rounded up
     * to whole seconds (pgjdbc's {@code socketTimeout} property is in seconds).
     */
    public static Timeouts of(Duration statement) {
        long socketSeconds = (statement.plus(SOCKET_MARGIN).toMillis() + 999) / 1000;
        return new Timeouts(statement, Duration.ofSeconds(socketSeconds));
    }

    long socketSeconds() {
        return socket.toSeconds();
    }

    int socketMillis() {
        return (int) socket.toMillis();
    }
}
