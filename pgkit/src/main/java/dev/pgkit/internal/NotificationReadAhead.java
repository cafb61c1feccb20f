package dev.pgkit.internal;

import java.lang.reflect.Field;
import java.sql.Connection;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.PGStream;
import org.postgresql.core.QueryExecutorBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps pgjdbc's {@code getNotifications(timeout)} from holding notifications back under a steady stream.
 * After each notification it reads, pgjdbc asks whether more is pending by a read of up to 1 ms
 * ({@code PGStream.hasMessagePending}, there for SSL sockets whose {@code available()} can be 0), and keeps
 * reading while that succeeds: when every next notification arrives within 1 ms of the previous one (a sender
 * committing 1,000 or more a second), the call returns nothing until the stream pauses. Measured on PostgreSQL
 * 15: one sender committing 4,000 notifications a second reached the receiver up to 0.8 s late, and 1,000 a
 * second (jittered) 100–200 ms late at p99, where 500 a second arrived one by one (pgjdbc issues 1547 and 1313
 * describe the peek).
 *
 * <p>The listener's connection is told that its next peek is never due: {@code getNotifications} then returns
 * what is buffered or readable at once, and the listener's next call reads the rest (its first read blocks on
 * the socket, so nothing waits longer than one loop). pgjdbc offers no setting for this, so it is one private
 * field, set by reflection and put back before the connection is handed back to its pool; where a pgjdbc
 * version lacks the field, notifications are still all delivered, only later under such a stream (logged once).
 */
final class NotificationReadAhead {
    private static final Logger log = LoggerFactory.getLogger(NotificationReadAhead.class);
    private static final Field STREAM;
    private static final Field NEXT_PEEK;

    static {
        Field stream = null;
        Field nextPeek = null;
        try {
            stream = QueryExecutorBase.class.getDeclaredField("pgStream");
            stream.setAccessible(true);
            nextPeek = PGStream.class.getDeclaredField("nextStreamAvailableCheckTime");
            nextPeek.setAccessible(true);
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.info("pgkit: this pgjdbc version's notification read-ahead cannot be turned off ({}): under a steady stream of "
                    + "1,000 or more notifications a second they may reach pgkit in late bursts", e.toString());
            stream = null;
            nextPeek = null;
        }
        STREAM = stream;
        NEXT_PEEK = nextPeek;
    }

    private NotificationReadAhead() {
    }

    /** Turns the 1 ms peek off on {@code connection}; false if it could not be. */
    static boolean turnOff(Connection connection) {
        return setNextPeek(connection, Long.MAX_VALUE);
    }

    /** Puts pgjdbc's behaviour back (its next peek is due at once), as before {@link #turnOff}. */
    static void restore(Connection connection) {
        setNextPeek(connection, 0);
    }

    private static boolean setNextPeek(Connection connection, long millis) {
        if (STREAM == null) {
            return false;
        }
        try {
            Object executor = connection.unwrap(BaseConnection.class).getQueryExecutor();
            if (!(executor instanceof QueryExecutorBase)) {
                return false;
            }
            NEXT_PEEK.setLong(STREAM.get(executor), millis);
            return true;
        } catch (ReflectiveOperationException | java.sql.SQLException | RuntimeException e) {
            log.debug("pgkit: could not set the notification read-ahead of a connection: {}", e.toString());
            return false;
        }
    }
}
