package dev.pgkit.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle of the listener's one connection, owned by the daemon thread {@code pgkit-listener}:
 * open (autocommit, READ COMMITTED), reconnect with exponential backoff, probe an idle connection,
 * and each loop reconcile the channels and the presence locks, run queued control statements, then
 * wait for notifications at most {@link #POLL_MILLIS} ms ({@link #PENDING_POLL_MILLIS} ms while a
 * presence lock is still to be taken). Any failure there ends the connection: the registry and the
 * presence locks are told so (nothing is active any more), the connection is cleaned (no LISTEN, no
 * presence lock) and closed if still usable, aborted otherwise (it may belong to the application's
 * pool), and a new one is opened, after which everything desired is applied again.
 */
final class ListenerConnection {
    private static final Logger log = LoggerFactory.getLogger(ListenerConnection.class);
    static final int POLL_MILLIS = 500;
    static final int PENDING_POLL_MILLIS = 50;
    /** How often an idle connection is probed, so a silently dead one (a failover, a dropped route) is replaced. */
    static final long HEARTBEAT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final int NETWORK_TIMEOUT_MILLIS = 10_000;
    private static final long MIN_BACKOFF_MILLIS = 100;
    private static final long MAX_BACKOFF_MILLIS = 5_000;

    private final NotificationListener.ConnectionSource source;
    private final String describe;
    private final ChannelRegistry channels;
    private final PresenceLocks presences;
    private final ControlQueue control;
    private final NotificationDispatcher dispatcher;
    private final NotificationListener.Waker waker;
    private final Thread thread;
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicBoolean wakeRequested = new AtomicBoolean();
    private final AtomicBoolean wakeInFlight = new AtomicBoolean();
    private volatile Connection connection;
    private volatile int backendPid;
    private int originalIsolation = Connection.TRANSACTION_READ_COMMITTED;
    private volatile boolean connected;
    private volatile boolean closed;
    /** Told when the connection is lost and when it is back: the pool's connections may have died with it. */
    private volatile Runnable connectionTrouble = () -> { };

    ListenerConnection(NotificationListener.ConnectionSource source, String describe, ChannelRegistry channels,
                       PresenceLocks presences, ControlQueue control, NotificationDispatcher dispatcher,
                       NotificationListener.Waker waker) {
        this.source = source;
        this.describe = describe;
        this.channels = channels;
        this.presences = presences;
        this.control = control;
        this.dispatcher = dispatcher;
        this.waker = waker;
        this.thread = NotificationListener.daemon("pgkit-listener").newThread(this::run);
    }

    void start() {
        thread.start();
    }

    void onConnectionTrouble(Runnable hook) {
        connectionTrouble = hook;
    }

    /** Open, with the channels desired as of the last loop LISTENed on it (presences may still be pending). */
    boolean isConnected() {
        return connected;
    }

    int backendPid() {
        return backendPid;
    }

    long reconnects() {
        return reconnects.get();
    }

    /**
     * Cuts the current wait short so new work is applied at once. Best effort: requests coalesce until
     * the next loop, at most one wake-up is in flight (a saturated pool cannot pile them up), and it is
     * sent from a pool thread so the caller never blocks; without it the poll interval bounds the delay.
     */
    void wakeUp() {
        if (waker == null || !connected || !wakeRequested.compareAndSet(false, true) || !wakeInFlight.compareAndSet(false, true)) {
            return;
        }
        String channel = wakeChannel(backendPid);
        dispatcher.execute(() -> {
            try {
                waker.notify(channel);
            } catch (Exception e) {
                log.debug("could not wake the pgkit listener: {}", e.getMessage());
            } finally {
                wakeInFlight.set(false);
            }
        });
    }

    private void run() {
        long backoff = MIN_BACKOFF_MILLIS;
        boolean everConnected = false;
        long lastHeartbeat = System.nanoTime();
        while (!closed) {
            try {
                Connection current = connection;
                if (current == null) {
                    current = open();
                    lastHeartbeat = System.nanoTime();
                    backoff = MIN_BACKOFF_MILLIS;
                    if (everConnected) {
                        connectionTrouble.run();
                        reconnects.incrementAndGet();
                        log.info("pgkit listener reconnected to {}; listening again and telling subscribers to re-read", describe);
                    }
                    everConnected = true;
                }
                wakeRequested.set(false);
                channels.reconcile(current);
                boolean pending = presences.reconcile(current);
                connected = true; // before any future completes: a caller that sees one active sees a connected listener
                channels.activateListened();
                presences.announceHeld();
                control.runPending(current);
                if (System.nanoTime() - lastHeartbeat > HEARTBEAT_NANOS) {
                    execute(current, "SELECT 1");
                    lastHeartbeat = System.nanoTime();
                }
                if (closed) {
                    break;
                }
                PGNotification[] notifications = current.unwrap(PGConnection.class)
                        .getNotifications(pending ? PENDING_POLL_MILLIS : POLL_MILLIS);
                if (notifications != null) {
                    String wake = wakeChannel(backendPid);
                    for (PGNotification notification : notifications) {
                        if (!notification.getName().equals(wake)) {
                            channels.deliver(notification.getName(), notification.getParameter());
                        }
                    }
                    lastHeartbeat = System.nanoTime();
                }
            } catch (SQLException | RuntimeException e) {
                connected = false;
                channels.connectionLost();
                presences.connectionLost();
                connectionTrouble.run();
                if (closed) {
                    break;
                }
                log.warn("pgkit listener lost or gave up its connection to {} ({}); reconnecting in {} ms", describe, e.getMessage(), backoff);
                discard(connection, e);
                connection = null;
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException interrupted) {
                    if (closed) {
                        break;
                    }
                }
                backoff = Math.min(backoff * 2, MAX_BACKOFF_MILLIS);
            }
        }
        connected = false;
        if (connection != null && !release(connection)) {
            abort(connection, "its connection could not be left clean on close");
            closeQuietly(connection); // hands a pool's proxy back with its physical connection closed: the pool drops it
        }
        connection = null;
    }

    /**
     * Gives up the connection after a failure. It may come from the application's pool, so it must
     * never go back there still LISTENing or holding presence locks: one the failure did not break (a
     * statement error such as 53200 or a statement_timeout) is cleaned first, and one that is gone or
     * cannot be cleaned is aborted, which makes its pool drop it.
     */
    private void discard(Connection connection, Exception failure) {
        if (connection == null) {
            return;
        }
        boolean gone = failure instanceof SQLException sql && Failures.isConnectionLost(sql);
        if (gone || !release(connection)) {
            abort(connection, "its connection could not be left clean after a failure");
            closeQuietly(connection); // hands a pool's proxy back with its physical connection closed: the pool drops it
        }
    }

    private Connection open() throws SQLException {
        Connection opened = source.open();
        try {
            opened.setAutoCommit(true);
            originalIsolation = opened.getTransactionIsolation();
            opened.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
            opened.setNetworkTimeout(Runnable::run, NETWORK_TIMEOUT_MILLIS);
            backendPid = opened.unwrap(PGConnection.class).getBackendPID();
            execute(opened, "LISTEN " + wakeChannel(backendPid));
            NotificationReadAhead.turnOff(opened); // last: a connection that fails before here goes back to its pool untouched
        } catch (SQLException | RuntimeException e) {
            closeQuietly(opened);
            throw e;
        }
        connection = opened;
        return opened;
    }

    /**
     * Stops the thread: it ends its current wait (at most the poll interval), leaves its connection
     * clean and closes it. A thread still stuck after {@code joinMillis} (a hung socket) has its
     * physical connection aborted, never closed from here: closing a pooled connection from this thread
     * would hand it back to its pool while the listener thread may still use it.
     */
    void close(long joinMillis) {
        closed = true;
        thread.interrupt();
        try {
            thread.join(joinMillis);
            if (thread.isAlive()) {
                abort(connection, "pgkit listener thread did not stop in time");
                thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Aborts the physical connection, so that closing a pooled one afterwards cannot hand it back usable and dirty. */
    private static void abort(Connection connection, String why) {
        if (connection == null) {
            return;
        }
        try {
            Connection physical = (Connection) connection.unwrap(PGConnection.class);
            physical.abort(Runnable::run);
            log.warn("pgkit listener: {}; the connection was aborted", why);
        } catch (SQLException | RuntimeException e) {
            log.warn("pgkit listener could not abort its connection ({}): {}", why, e.getMessage());
        }
    }

    /**
     * Leaves a healthy connection as it found it (no LISTEN, no presence locks) and closes it: it may
     * be pooled.
     *
     * @return false if it could not be cleaned (nothing was closed: abort it)
     */
    private boolean release(Connection connection) {
        try (Statement statement = connection.createStatement()) {
            statement.execute("UNLISTEN *; SELECT pg_advisory_unlock_all()");
            connection.setTransactionIsolation(originalIsolation);
        } catch (SQLException | RuntimeException e) {
            return false;
        }
        NotificationReadAhead.restore(connection);
        closeQuietly(connection);
        return true;
    }

    private static String wakeChannel(int pid) {
        return "pgkit_listener_wake_" + pid;
    }

    private static void execute(Connection connection, String sql) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private static void closeQuietly(Connection connection) {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // the connection is gone either way
            }
        }
    }
}
