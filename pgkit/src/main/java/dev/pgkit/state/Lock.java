package dev.pgkit.state;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledFuture;

/**
 * A held distributed lock on one thread id. It belongs to its random {@link #token()}, not to a
 * Java thread, so any thread may extend or release it. Closing it releases it (try-with-resources).
 *
 * <p>Each acquisition carries a {@link #fence()} larger than that of every earlier acquisition: pass
 * it to the resource the lock protects, which rejects a write whose fence is lower than one it has
 * seen, so a holder that stalled past its lease cannot overwrite its successor's work.
 *
 * <p><b>When is the lock lost?</b> When its lease ends without an extension, when someone calls
 * {@link StateStore#forceReleaseLock}, or when an extension fails. {@link #isHeld()} turns false in
 * each case it can know of; with {@link LockOptions#autoExtend()} the watchdog extends at a third of
 * the lease, so a holder that cannot reach the database for two thirds of the lease must consider
 * the lock lost.
 */
public final class Lock implements AutoCloseable {
    private final StateStore store;
    private final String threadId;
    private final String token;
    private final long fence;
    private final Duration ttl;
    private volatile Instant expiresAt;
    private volatile long leaseEndNanos;
    private volatile boolean ended;
    private volatile boolean closedByHolder;
    private volatile ScheduledFuture<?> renewal;

    Lock(StateStore store, String threadId, String token, long fence, Duration ttl, Instant expiresAt, long requestStartNanos) {
        this.store = store;
        this.threadId = threadId;
        this.token = token;
        this.fence = fence;
        this.ttl = ttl;
        this.expiresAt = expiresAt;
        this.leaseEndNanos = requestStartNanos + ttl.toNanos();
    }

    /** The thread id (lock name). */
    public String threadId() {
        return threadId;
    }

    /** The owner token stored in the lock row ({@code pg_<uuid>}, as the Node adapter makes them). */
    public String token() {
        return token;
    }

    /** The fencing number of this acquisition: strictly larger than that of any earlier acquisition. */
    public long fence() {
        return fence;
    }

    /** When the lease ends by the server's clock, as of the latest acquisition or extension. */
    public Instant expiresAt() {
        return expiresAt;
    }

    /** The lease length this lock was taken (and is extended) with. */
    public Duration ttl() {
        return ttl;
    }

    /**
     * Whether this holder may still assume it holds the lock: not released, no failed extension, and
     * its lease not over by this JVM's conservative estimate.
     */
    public boolean isHeld() {
        return !ended && System.nanoTime() - leaseEndNanos < 0;
    }

    /** Extends the lease by {@link #ttl()} from now; false if the lock was no longer held. */
    public boolean extend() {
        return store.extendLock(this, ttl);
    }

    /** Releases the lock if this holder still has it (a no-op otherwise) and stops its watchdog. */
    @Override
    public void close() {
        store.releaseLock(this);
    }

    /** Whether {@code candidate} is the store that acquired this lock. */
    boolean isFrom(StateStore candidate) {
        return store == candidate;
    }

    void extended(Instant newExpiry, long requestStartNanos, Duration leaseLength) {
        expiresAt = newExpiry;
        leaseEndNanos = requestStartNanos + leaseLength.toNanos();
    }

    void closeByHolder() {
        closedByHolder = true;
        end();
    }

    boolean isClosedByHolder() {
        return closedByHolder;
    }

    void end() {
        ended = true;
        ScheduledFuture<?> task = renewal;
        if (task != null) {
            task.cancel(false);
        }
    }

    boolean isEnded() {
        return ended;
    }

    void renewal(ScheduledFuture<?> task) {
        renewal = task;
        if (ended) {
            task.cancel(false);
        }
    }

    @Override
    public String toString() {
        return "Lock[threadId=" + threadId + ", fence=" + fence + ", expiresAt=" + expiresAt + ", held=" + isHeld() + "]";
    }
}
