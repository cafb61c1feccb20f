package dev.pgkit.state;

import java.time.Duration;
import java.time.Instant;

/**
 * A held distributed lock on one thread id. It belongs to its random {@link #token()}, not to a
 * Java thread, so any thread may extend or release it. Closing it releases it (try-with-resources).
 *
 * <p>Each acquisition carries a {@link #fence()} larger than that of every earlier acquisition: pass
 * it to the resource the lock protects, which rejects a write whose fence is lower than one it has
 * seen, so a holder that stalled past its lease cannot overwrite its successor's work.
 *
 * <p><b>When is the lock lost?</b> When its lease ends without an extension, when someone calls
 * {@link StateStore#forceReleaseLock}, or when an extension finds it gone. {@link #isHeld()} turns
 * false in each case it can know of, and stays false: once lost, a lock is never extended again, even
 * if a later attempt could. With {@link LockOptions#autoExtend()} the watchdog renews at a third of
 * the lease and notices a lost lock at its next renewal; a holder that cannot reach the database for
 * two thirds of the lease must consider the lock lost (its local lease estimate then runs out).
 */
public final class Lock implements AutoCloseable {
    private final StateStore store;
    private final String threadId;
    private final String token;
    private final long fence;
    private final Duration ttl;
    private Instant expiresAt;
    private long leaseEndNanos;
    private boolean lost;
    private volatile boolean closedByHolder;
    /** When the watchdog renews it next (its own bookkeeping). */
    private volatile long renewAtNanos;

    Lock(StateStore store, String threadId, String token, long fence, Duration ttl, Instant expiresAt, long requestStartNanos) {
        this.store = store;
        this.threadId = threadId;
        this.token = token;
        this.fence = fence;
        this.ttl = ttl;
        this.expiresAt = expiresAt;
        this.leaseEndNanos = requestStartNanos + ttl.toNanos();
        this.renewAtNanos = requestStartNanos + ttl.toNanos() / 3;
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
    public synchronized Instant expiresAt() {
        return expiresAt;
    }

    /** The lease length this lock was taken (and is extended) with. */
    public Duration ttl() {
        return ttl;
    }

    /**
     * Whether this holder may still assume it holds the lock: not released, not found lost by an
     * extension, and its lease not over by this JVM's conservative estimate (measured from the start
     * of the request that took or last extended it). Once false, it stays false.
     */
    public synchronized boolean isHeld() {
        if (!lost && System.nanoTime() - leaseEndNanos >= 0) {
            lost = true;
        }
        return !lost;
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

    /**
     * Records a successful extension requested at {@code requestStartNanos}; false (and nothing changes)
     * if the lock was already lost, including by its lease estimate running out meanwhile.
     */
    synchronized boolean extended(Instant newExpiry, long requestStartNanos, Duration leaseLength) {
        if (!isHeld()) {
            return false;
        }
        expiresAt = newExpiry;
        leaseEndNanos = Math.max(leaseEndNanos, requestStartNanos + leaseLength.toNanos());
        renewAtNanos = requestStartNanos + leaseLength.toNanos() / 3;
        return true;
    }

    /** The lock is known lost (an extension found it gone, or its holder released it); for good. */
    synchronized void lose() {
        lost = true;
    }

    void closeByHolder() {
        closedByHolder = true;
        lose();
    }

    boolean isClosedByHolder() {
        return closedByHolder;
    }

    /** When this JVM's estimate of the lease ends. */
    synchronized long leaseEndNanos() {
        return leaseEndNanos;
    }

    long renewAtNanos() {
        return renewAtNanos;
    }

    void renewAt(long nanos) {
        renewAtNanos = nanos;
    }

    @Override
    public String toString() {
        return "Lock[threadId=" + threadId + ", fence=" + fence + ", expiresAt=" + expiresAt() + ", held=" + isHeld() + "]";
    }
}
