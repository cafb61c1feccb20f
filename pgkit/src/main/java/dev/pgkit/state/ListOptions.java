package dev.pgkit.state;

import dev.pgkit.internal.Checks;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Options of {@link StateStore#appendToList}: a cap that trims the oldest entries, and a TTL that
 * applies to the whole list (each append re-times every entry).
 */
public final class ListOptions {
    private static final ListOptions NONE = new ListOptions(null, null);

    private final Integer maxLength;
    private final Duration ttl;

    private ListOptions(Integer maxLength, Duration ttl) {
        this.maxLength = maxLength;
        this.ttl = ttl;
    }

    /** No cap, no expiry. */
    public static ListOptions none() {
        return NONE;
    }

    /** A copy keeping at most {@code maxLength} entries, the newest. */
    public ListOptions maxLength(int maxLength) {
        return new ListOptions(Checks.positive("maxLength", maxLength), ttl);
    }

    /** A copy after which the whole list expires {@code ttl} after the latest append. */
    public ListOptions ttl(Duration ttl) {
        Check.ttl("ttl", ttl);
        return new ListOptions(maxLength, ttl);
    }

    public OptionalInt maxLength() {
        return maxLength == null ? OptionalInt.empty() : OptionalInt.of(maxLength);
    }

    public Optional<Duration> ttl() {
        return Optional.ofNullable(ttl);
    }

    @Override
    public String toString() {
        return "ListOptions[maxLength=" + maxLength + ", ttl=" + ttl + "]";
    }
}
