package dev.pgkit.store;

/**
 * Which write a row's version is: the writing server's time in microseconds and the replica that wrote it.
 * Ordered by time, then by origin, so every replica picks the same last writer. Text form {@code micros@origin}.
 */
record Stamp(long micros, String origin) implements Comparable<Stamp> {

    static Stamp parse(String text) {
        int at = text.indexOf('@');
        if (at <= 0) {
            throw new IllegalArgumentException("not a stamp: " + text);
        }
        return new Stamp(Long.parseLong(text.substring(0, at)), text.substring(at + 1));
    }

    @Override
    public int compareTo(Stamp other) {
        int byTime = Long.compare(micros, other.micros);
        return byTime != 0 ? byTime : origin.compareTo(other.origin);
    }

    static Stamp max(Stamp a, Stamp b) {
        if (a == null) {
            return b;
        }
        if (b == null) {
            return a;
        }
        return a.compareTo(b) >= 0 ? a : b;
    }

    java.time.Instant instant() {
        return java.time.Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1000L);
    }

    @Override
    public String toString() {
        return micros + "@" + origin;
    }
}
