package dev.pgkit.internal;

import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The one LISTEN connection of a {@code Pgkit}, a plain autocommit connection outside the pool. It
 * puts together four parts with one job each: {@link ListenerConnection} (the thread, reconnects,
 * heartbeat), {@link ChannelRegistry} (desired channels against those LISTENed now),
 * {@link PresenceLocks} (shared advisory locks announcing local waiters) and
 * {@link NotificationDispatcher} (delivery per handler: serialized, bounded in bytes, with bounded backpressure), plus
 * {@link ControlQueue} (short statements run on this connection between polls).
 *
 * <p>Registration never blocks: {@link #subscribe} and {@link #holdPresence} return at once and are
 * applied by the listener thread; their futures say when they are active, and are replaced by new,
 * incomplete ones while the connection is down. After every (re)activation each handler gets
 * {@link NotificationHandler#onGap()}. Internal to pgkit (not exported).
 */
public final class NotificationListener implements AutoCloseable {
    /** How long a presence lock outlives its last hold by default, so repeated waits on one key do not re-register. */
    public static final Duration DEFAULT_PRESENCE_LINGER = Duration.ofSeconds(30);
    /**
     * How many bytes of notifications a handler may have queued by default (some 150,000 small ones): a burst
     * to a slow handler fits. When they do not, the listener stops reading (PostgreSQL's notification queue
     * buffers) for at most {@link #DEFAULT_MAX_STALL} until the handler has drained half of them; a handler
     * that does not, is stalled: its queue is dropped for a gap signal, and the other handlers flow on.
     */
    public static final long DEFAULT_MAILBOX_BYTES = 64L << 20;
    /**
     * How long in all one full mailbox may keep the listener from reading before it overflows: the longest
     * a stalled handler delays the others (the listener's control statements and heartbeat wait as long).
     */
    public static final Duration DEFAULT_MAX_STALL = Duration.ofSeconds(1);

    /** Opens the listener's connection. */
    @FunctionalInterface
    public interface ConnectionSource {
        Connection open() throws SQLException;
    }

    /**
     * Sends a notification on another connection; used to cut the listener's wait short when new
     * work is queued, so callers do not wait out the poll interval.
     */
    @FunctionalInterface
    public interface Waker {
        void notify(String channel) throws Exception;
    }

    /** A handler's registration on a channel; {@link #close()} ends it. */
    public interface Subscription extends AutoCloseable {
        /** Completes once the channel is LISTENed on the current connection; a new, incomplete future while it is not. */
        CompletableFuture<Void> active();

        @Override
        void close();
    }

    /** A registration of local interest in a presence key; {@link #close()} ends it. */
    public interface PresenceHold extends AutoCloseable {
        /** Completes once the presence lock is held on the current connection; a new, incomplete future while it is not. */
        CompletableFuture<Void> held();

        @Override
        void close();
    }

    private final String describe;
    private final Duration activationTimeout;
    private final NotificationDispatcher dispatcher;
    private final ChannelRegistry channels;
    private final PresenceLocks presences;
    private final ControlQueue control;
    private final ListenerConnection connection;
    private volatile boolean closed;

    public NotificationListener(ConnectionSource source, String describe, Duration activationTimeout) {
        this(source, describe, activationTimeout, null, DEFAULT_PRESENCE_LINGER, DEFAULT_MAILBOX_BYTES, DEFAULT_MAX_STALL);
    }

    public NotificationListener(ConnectionSource source, String describe, Duration activationTimeout, Waker waker) {
        this(source, describe, activationTimeout, waker, DEFAULT_PRESENCE_LINGER, DEFAULT_MAILBOX_BYTES, DEFAULT_MAX_STALL);
    }

    /**
     * @param presenceLinger  how long a presence lock stays held after its last hold is closed
     * @param mailboxBytes   how many bytes of notifications one handler may have queued
     * @param maxStall       how long in all a full mailbox may keep the listener from reading until it has drained
     *                       half; then its notifications are replaced by a gap signal
     */
    public NotificationListener(ConnectionSource source, String describe, Duration activationTimeout, Waker waker,
                                Duration presenceLinger, long mailboxBytes, Duration maxStall) {
        this(source, describe, activationTimeout, waker, presenceLinger, mailboxBytes, maxStall, PresenceLocks.DEFAULT_MAX_HELD);
    }

    /**
     * @param maxPresences how many presence locks may be held at once; waiters on further keys get no
     *                     presence (writers do not NOTIFY them) and rely on their re-check interval
     */
    NotificationListener(ConnectionSource source, String describe, Duration activationTimeout, Waker waker,
                         Duration presenceLinger, long mailboxBytes, Duration maxStall, int maxPresences) {
        this.describe = describe;
        this.activationTimeout = activationTimeout;
        this.dispatcher = new NotificationDispatcher(mailboxBytes, maxStall);
        this.channels = new ChannelRegistry(dispatcher);
        this.presences = new PresenceLocks(presenceLinger.toNanos(), maxPresences);
        this.control = new ControlQueue();
        this.connection = new ListenerConnection(source, describe, channels, presences, control, dispatcher, waker);
        this.connection.start();
    }

    /**
     * Runs {@code hook} (on the listener thread; keep it short) when the LISTEN connection is lost and when
     * it is re-established: a server restart or failover that cut it has likely cut the pool's connections too.
     */
    public void onConnectionTrouble(Runnable hook) {
        connection.onConnectionTrouble(hook);
    }

    /**
     * Delivers the notifications of {@code channel} to {@code handler} once the channel is LISTENed;
     * returns at once. The handler's first {@link NotificationHandler#onGap()} says it is active.
     */
    public Subscription subscribe(String channel, NotificationHandler handler) {
        ensureOpen();
        Subscription subscription = channels.subscribe(channel, handler);
        if (!subscription.active().isDone()) {
            connection.wakeUp();
        }
        return subscription;
    }

    /**
     * Like {@link #subscribe}, but returns once the server has confirmed LISTEN, so a notification
     * sent after this call returns is not missed.
     *
     * @throws PgkitConnectionException if the LISTEN could not be made active within the timeout
     */
    public Subscription listen(String channel, NotificationHandler handler) {
        return listen(channel, handler, activationTimeout);
    }

    /** Like {@link #listen(String, NotificationHandler)}, giving up after {@code timeout}. */
    public Subscription listen(String channel, NotificationHandler handler, Duration timeout) {
        Subscription subscription = subscribe(channel, handler);
        try {
            subscription.active().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return subscription;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            subscription.close();
            throw new PgkitException("interrupted while waiting for LISTEN " + channel, e);
        } catch (ExecutionException | TimeoutException e) {
            subscription.close();
            throw new PgkitConnectionException("could not LISTEN on channel " + channel + " at " + describe
                    + " within " + timeout.toMillis() + " ms: is the server reachable and not behind a transaction-mode pooler?",
                    e instanceof ExecutionException ? e.getCause() : e);
        }
    }

    /**
     * Announces that this process has waiters on {@code key} in advisory-lock class {@code classId}:
     * the shared lock {@code (classId, hashtext(key))} is taken on the listener's connection with
     * {@code pg_try_advisory_lock_shared} (retried on the next loops while a writer holds it
     * exclusively, and while the cap on presences held is reached) and held until every hold of that
     * key is closed and the linger has passed. Returns at once; {@code onHeld} runs on the listener
     * thread (keep it short, never block) each time the lock becomes held, including after a reconnect.
     */
    public PresenceHold holdPresence(int classId, String key, Runnable onHeld) {
        ensureOpen();
        PresenceHold hold = presences.hold(classId, key, onHeld);
        if (!hold.held().isDone()) {
            connection.wakeUp();
        }
        return hold;
    }

    /**
     * Runs {@code work} on the listener's connection between polls, apart from the application's pool.
     * It must be one short autocommit statement that leaves the session as it found it. Work queued
     * while the connection is down runs on the next one; a future completed (or cancelled) by the caller
     * before its turn is skipped.
     */
    public <T> CompletableFuture<T> submit(Database.ConnectionWork<T> work) {
        ensureOpen();
        CompletableFuture<T> result = control.submit(work);
        connection.wakeUp();
        return result;
    }

    /**
     * Whether the LISTEN connection is open, with every registered channel LISTENed as of its last loop.
     * Presences may still be pending (a writer holds the key, or the cap is reached): see each
     * {@link PresenceHold#held()}.
     */
    public boolean isConnected() {
        return connection.isConnected();
    }

    /** The server process id of the LISTEN connection, while connected (for diagnostics and tests). */
    public OptionalInt backendPid() {
        return connection.isConnected() ? OptionalInt.of(connection.backendPid()) : OptionalInt.empty();
    }

    /** How many times the connection was lost and re-established. */
    public long reconnects() {
        return connection.reconnects();
    }

    /** The channels LISTENed on the current connection (none while it is down). */
    public List<String> channels() {
        return channels.listened();
    }

    /** How many presence locks the current connection holds. */
    public int heldPresences() {
        return presences.heldCount();
    }

    /**
     * Fails every pending registration and control statement at once, stops the listener thread
     * (it leaves its connection clean and closes it) and the delivery threads.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        PgkitException reason = new PgkitException("the notification listener is closed");
        channels.close(reason);
        presences.close(reason);
        control.close(reason);
        connection.close(ListenerConnection.POLL_MILLIS + 2_000L);
        dispatcher.shutdown(5_000);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the notification listener is closed");
        }
    }

    static ThreadFactory daemon(String name) {
        return runnable -> {
            Thread t = new Thread(runnable, name);
            t.setDaemon(true);
            return t;
        };
    }
}
