package dev.pgkit.state;

import dev.pgkit.internal.Checks;
import java.time.Duration;

/** Argument checks, run before any SQL so that bad input never reaches the database. */
final class Check {
    /** The longest key (thread id, cache key, list key) accepted, in characters. */
    static final int MAX_KEY_LENGTH = 1024;
    /** TTLs beyond this are surely a unit mistake (and overflow PostgreSQL intervals far later). */
    static final Duration MAX_TTL = Duration.ofDays(365L * 100);
    /** Waits beyond this are surely a mistake (and overflow a count of nanoseconds from now well before 292 years). */
    static final Duration MAX_WAIT = Duration.ofDays(365L * 100);

    private Check() {
    }

    static String key(String name, String value) {
        return text(name, value, MAX_KEY_LENGTH);
    }

    static String text(String name, String value, int maxLength) {
        return Checks.text(name, value, maxLength, "names");
    }

    /** A TTL of at least one millisecond, returned in milliseconds. */
    static long ttl(String name, Duration ttl) {
        Checks.notNull(name, ttl);
        if (ttl.compareTo(Duration.ofMillis(1)) < 0) {
            throw new IllegalArgumentException(name + " must be at least 1 ms, was " + ttl);
        }
        if (ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException(name + " must be at most " + MAX_TTL.toDays() + " days, was " + ttl);
        }
        return ttl.toMillis();
    }

    static Duration wait(String name, Duration wait) {
        Checks.notNull(name, wait);
        if (wait.isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative, was " + wait);
        }
        if (wait.compareTo(MAX_WAIT) > 0) {
            throw new IllegalArgumentException(name + " must be at most " + MAX_WAIT.toDays() + " days, was " + wait);
        }
        return wait;
    }
}
