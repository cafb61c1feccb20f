package dev.pgkit.state;

import java.time.Duration;

/**
 * How to take a lock: its lease ({@code ttl}), how long to wait for a held lock, and whether a
 * watchdog keeps extending it while it is held.
 *
 * <pre>{@code
 * LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(5)).autoExtend()
 * }</pre>
 *
 * @param ttl        the lease; the lock expires this long after acquisition (or the last extension)
 * @param maxWait    how long to wait for a held lock ({@link Duration#ZERO}: one attempt)
 * @param watchdog   whether a watchdog extends the lease at a third of its length until the lock is closed
 */
public record LockOptions(Duration ttl, Duration maxWait, boolean watchdog) {

    /** @throws IllegalArgumentException if {@code ttl} is not positive or {@code maxWait} is negative */
    public LockOptions {
        Check.ttl("ttl", ttl);
        Check.wait("maxWait", maxWait);
    }

    /** One attempt, no watchdog. */
    public static LockOptions lease(Duration ttl) {
        return new LockOptions(ttl, Duration.ZERO, false);
    }

    /** A copy that waits up to {@code maxWait} for the lock, woken as soon as it is released. */
    public LockOptions waitUpTo(Duration maxWait) {
        return new LockOptions(ttl, maxWait, watchdog);
    }

    /** A copy whose lease the watchdog extends until the lock is closed. */
    public LockOptions autoExtend() {
        return new LockOptions(ttl, maxWait, true);
    }
}
