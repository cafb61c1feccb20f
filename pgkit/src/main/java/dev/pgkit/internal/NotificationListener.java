package dev.pgkit.internal;

import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one LISTEN connection of a {@code Pgkit}: a plain autocommit connection outside the pool, owned
 * by the daemon thread {@code pgkit-listener}, which waits for notifications at most
 * {@value #POLL_MILLIS} ms at a time and runs queued LISTEN/UNLISTEN between waits. Handlers run on a
 * second thread, {@code pgkit-notify}, so a slow handler never stalls delivery. A lost connection is
 * re-opened with exponential backoff, every channel is listened to again, and handlers are told
 * through {@link NotificationHandler#onReconnect()} that they may have missed notifications.
 *
 * <p>The connection also holds <em>presence</em> locks: a shared advisory lock per key that has local
 * waiters. A writer that would wake waiters first tries the exclusive lock of that key; only if that
 * fails does it send {@code NOTIFY}, so writes nobody waits for never pay for NOTIFY's global commit
 * lock. Presence locks are re-taken after a reconnect, before waiters are told to re-check.
 * Internal to pgkit (not exported).
 */
public final class NotificationListener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(NotificationListener.class);
    static final int POLL_MILLIS = 500;
    /** How often an idle LISTEN connection is probed, so a silently dead one (a failover, a dropped route) is replaced. */
    static final long HEARTBEAT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final int NETWORK_TIMEOUT_MILLIS = 10_000;
    /** How long a presence lock outlives its last waiter, so that repeated waits on one key do not re-register. */
    static final long PRESENCE_LINGER_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long MAX_BACKOFF_MILLIS = 5_000;

    /** Opens the listener's connection. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection open() throws SQLException;
    }

    private final ConnectionSource source;
    private final String describe;
    private final Duration activationTimeout;
    private final Map<String, Channel> channels = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Channel> pendingListens = new LinkedBlockingQueue<>();
    private final LinkedBlockingQueue<String> pendingUnlistens = new LinkedBlockingQueue<>();
    private final Map<Presence.Key, Presence> presences = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Presence> pendingPresences = new LinkedBlockingQueue<>();
    private final ExecutorService dispatcher;
    private final Thread thread;
    private final AtomicLong reconnects = new AtomicLong();
    private volatile Connection connection;
    private volatile int backendPid;
    private final Waker waker;
    private volatile boolean closed;
    private long lastHeartbeat;

    private static final class Channel {
        final String name;
        final List<NotificationHandler> handlers = new CopyOnWriteArrayList<>();
        final CompletableFuture<Void> active = new CompletableFuture<>();

        Channel(String name) {
            this.name = name;
        }
    }

    /** A shared advisory lock held on the listener connection for local waiters of one key. */
    private static final class Presence {
        record Key(int classId, String key) {
        }

        final Key key;
        final CompletableFuture<Void> held = new CompletableFuture<>();
        final java.util.concurrent.atomic.AtomicBoolean requested = new java.util.concurrent.atomic.AtomicBoolean();
        int refs;
        long idleSince;

        Presence(Key key) {
            this.key = key;
        }

        synchronized void release() {
            if (--refs == 0) {
                idleSince = System.nanoTime();
            }
        }

        synchronized boolean expired(long now) {
            return refs == 0 && now - idleSince > PRESENCE_LINGER_NANOS;
        }
    }

    /** A registration (a handler, a presence); {@link #close()} ends it. */
    public interface Subscription extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Sends a notification on another connection; used to cut the listener's wait short when a new
     * LISTEN or presence lock is queued, so callers do not wait out the poll interval.
     */
    @FunctionalInterface
    public interface Waker {
        void notify(String channel) throws Exception;
    }

    public NotificationListener(ConnectionSource source, String describe, Duration activationTimeout) {
        this(source, describe, activationTimeout, null);
    }

    public NotificationListener(ConnectionSource source, String describe, Duration activationTimeout, Waker waker) {
        this.source = source;
        this.waker = waker;
        this.describe = describe;
        this.activationTimeout = activationTimeout;
        this.dispatcher = Executors.newSingleThreadExecutor(daemon("pgkit-notify"));
        this.thread = daemon("pgkit-listener").newThread(this::run);
        this.thread.start();
    }

    /**
     * Delivers notifications of {@code channel} to {@code handler} from now on. Returns once the
     * server has confirmed LISTEN, so a notification sent after this call returns is not missed.
     *
     * @throws PgkitConnectionException if the LISTEN could not be made active within the timeout
     */
    public Subscription listen(String channel, NotificationHandler handler) {
        return listen(channel, handler, activationTimeout);
    }

    /** Like {@link #listen(String, NotificationHandler)}, giving up after {@code timeout}. */
    public Subscription listen(String channel, NotificationHandler handler, Duration timeout) {
        Identifier.of("channel", channel);
        if (closed) {
            throw new IllegalStateException("the notification listener is closed");
        }
        Channel state = channels.computeIfAbsent(channel, name -> {
            Channel created = new Channel(name);
            pendingListens.add(created);
            return created;
        });
        if (!state.active.isDone()) {
            wakeUp();
        }
        state.handlers.add(handler);
        try {
            state.active.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            state.handlers.remove(handler);
            throw new PgkitException("interrupted while waiting for LISTEN " + channel, e);
        } catch (ExecutionException | TimeoutException e) {
            state.handlers.remove(handler);
            throw new PgkitConnectionException("could not LISTEN on channel " + channel + " at " + describe
                    + " within " + timeout.toMillis() + " ms: is the server reachable and not behind a transaction-mode pooler?", e);
        }
        return () -> unsubscribe(channel, handler);
    }

    /**
     * Announces that this process has waiters on {@code key} in advisory-lock class {@code classId}:
     * holds {@code pg_advisory_lock_shared(classId, hashtext(key))} on the listener's connection until
     * the returned handle and every other handle for the same key are closed (and a linger period
     * has passed). Returns once the lock is held.
     */
    public Subscription holdPresence(int classId, String key) {
        return holdPresence(classId, key, activationTimeout);
    }

    /** Like {@link #holdPresence(int, String)}, giving up after {@code timeout}. */
    public Subscription holdPresence(int classId, String key, Duration timeout) {
        Presence.Key id = new Presence.Key(classId, key);
        Presence presence = presences.compute(id, (k, existing) -> {
            Presence p = existing != null ? existing : new Presence(k);
            synchronized (p) {
                p.refs++;
            }
            return p;
        });
        if (presence.requested.compareAndSet(false, true)) {
            pendingPresences.add(presence);
            wakeUp();
        }
        try {
            presence.held.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            presence.release();
            throw new PgkitException("interrupted while registering a waiter", e);
        } catch (ExecutionException | TimeoutException e) {
            presence.release();
            throw new PgkitConnectionException("could not register a waiter on the LISTEN connection to " + describe
                    + " within " + timeout.toMillis() + " ms", e);
        }
        return presence::release;
    }

    /** Whether the LISTEN connection is currently open. */
    public boolean isConnected() {
        return connection != null;
    }

    /** The server process id of the LISTEN connection, while connected (for diagnostics and tests). */
    public OptionalInt backendPid() {
        return connection != null ? OptionalInt.of(backendPid) : OptionalInt.empty();
    }

    /** How many times the connection was lost and re-established. */
    public long reconnects() {
        return reconnects.get();
    }

    /** The channels listened to. */
    public List<String> channels() {
        return List.copyOf(channels.keySet());
    }

    /** Stops the listener thread, closes its connection and joins both threads. */
    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            // the listener thread ends its current wait (at most POLL_MILLIS), cleans its connection and closes it;
            // closing it from here instead could hand a pooled connection back while it is still in use
            thread.join(POLL_MILLIS + 2_000);
            if (thread.isAlive()) {
                closeQuietly(connection);
                thread.join(5_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dispatcher.shutdown();
        try {
            dispatcher.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void unsubscribe(String channel, NotificationHandler handler) {
        Channel state = channels.get(channel);
        if (state == null) {
            return;
        }
        state.handlers.remove(handler);
        if (state.handlers.isEmpty() && channels.remove(channel, state)) {
            pendingUnlistens.add(channel);
        }
    }

    private void run() {
        long backoff = 100;
        boolean everConnected = false;
        while (!closed) {
            try {
                if (connection == null) {
                    Connection opened = source.open();
                    opened.setAutoCommit(true);
                    backendPid = opened.unwrap(PGConnection.class).getBackendPID();
                    opened.setNetworkTimeout(Runnable::run, NETWORK_TIMEOUT_MILLIS);
                    connection = opened; // before any future completes, so callers see a connected listener
                    lastHeartbeat = System.nanoTime();
                    execute(opened, "LISTEN " + wakeChannel(backendPid));
                    pendingListens.clear();
                    pendingUnlistens.clear();
                    pendingPresences.clear();
                    for (Channel channel : channels.values()) {
                        execute(opened, "LISTEN " + Identifier.of("channel", channel.name).quoted());
                        channel.active.complete(null);
                    }
                    for (Presence presence : presences.values()) {
                        lockShared(opened, presence);
                    }
                    backoff = 100;
                    if (everConnected) {
                        reconnects.incrementAndGet();
                        log.info("pgkit listener reconnected to {}; {} channel(s) listened to again", describe, channels.size());
                        fireReconnect();
                    }
                    everConnected = true;
                }
                drainCommands();
                if (System.nanoTime() - lastHeartbeat > HEARTBEAT_NANOS) {
                    execute(connection, "SELECT 1");
                    lastHeartbeat = System.nanoTime();
                }
                PGNotification[] notifications = connection.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
                if (notifications != null) {
                    for (PGNotification notification : notifications) {
                        dispatch(notification.getName(), notification.getParameter());
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (closed) {
                    break;
                }
                log.warn("pgkit listener lost its connection to {} ({}); reconnecting in {} ms", describe, e.getMessage(), backoff);
                closeQuietly(connection);
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
        release(connection);
        connection = null;
    }

    /** Leaves a healthy connection as it found it (no LISTEN, no presence locks) before closing it: it may be pooled. */
    private static void release(Connection connection) {
        if (connection == null) {
            return;
        }
        try (Statement statement = connection.createStatement()) {
            statement.execute("UNLISTEN *; SELECT pg_advisory_unlock_all()");
        } catch (SQLException ignored) {
            // broken: closing it is all that is left
        }
        closeQuietly(connection);
    }

    private void drainCommands() throws SQLException {
        List<Channel> listens = new ArrayList<>();
        pendingListens.drainTo(listens);
        for (Channel channel : listens) {
            execute(connection, "LISTEN " + Identifier.of("channel", channel.name).quoted());
            channel.active.complete(null);
        }
        List<Presence> toHold = new ArrayList<>();
        pendingPresences.drainTo(toHold);
        for (Presence presence : toHold) {
            lockShared(connection, presence);
        }
        long now = System.nanoTime();
        for (Presence.Key key : presences.keySet()) {
            boolean[] removed = {false};
            presences.computeIfPresent(key, (k, presence) -> {
                removed[0] = presence.expired(now);
                return removed[0] ? null : presence;
            });
            if (removed[0]) {
                try (var unlock = connection.prepareStatement("SELECT pg_advisory_unlock_shared(?, hashtext(?))")) {
                    unlock.setInt(1, key.classId());
                    unlock.setString(2, key.key());
                    unlock.execute();
                }
            }
        }
        List<String> unlistens = new ArrayList<>();
        pendingUnlistens.drainTo(unlistens);
        for (String channel : unlistens) {
            if (!channels.containsKey(channel)) {
                execute(connection, "UNLISTEN " + Identifier.of("channel", channel).quoted());
            }
        }
    }

    private static String wakeChannel(int pid) {
        return "pgkit_listener_wake_" + pid;
    }

    /** Ends the current wait early (best effort: without a waker, or on failure, the poll interval bounds the delay). */
    private void wakeUp() {
        Connection current = connection;
        if (waker == null || current == null) {
            return;
        }
        try {
            waker.notify(wakeChannel(backendPid));
        } catch (Exception e) {
            log.debug("could not wake the pgkit listener: {}", e.getMessage());
        }
    }

    private void dispatch(String channelName, String payload) {
        Channel channel = channels.get(channelName);
        if (channel == null) {
            return;
        }
        dispatcher.execute(() -> {
            for (NotificationHandler handler : channel.handlers) {
                try {
                    handler.onNotification(channelName, payload);
                } catch (RuntimeException e) {
                    log.error("pgkit notification handler for channel {} failed", channelName, e);
                }
            }
        });
    }

    private void fireReconnect() {
        dispatcher.execute(() -> {
            for (Channel channel : channels.values()) {
                for (NotificationHandler handler : channel.handlers) {
                    try {
                        handler.onReconnect();
                    } catch (RuntimeException e) {
                        log.error("pgkit reconnect handler for channel {} failed", channel.name, e);
                    }
                }
            }
        });
    }

    private static void lockShared(Connection connection, Presence presence) throws SQLException {
        try (var lock = connection.prepareStatement("SELECT pg_advisory_lock_shared(?, hashtext(?))")) {
            lock.setInt(1, presence.key.classId());
            lock.setString(2, presence.key.key());
            lock.execute();
        }
        presence.held.complete(null);
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

    static java.util.concurrent.ThreadFactory daemon(String name) {
        return runnable -> {
            Thread t = new Thread(runnable, name);
            t.setDaemon(true);
            return t;
        };
    }
}
