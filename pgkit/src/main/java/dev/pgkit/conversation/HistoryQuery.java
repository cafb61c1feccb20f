package dev.pgkit.conversation;

import dev.pgkit.internal.Checks;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Which page of a phone's history {@link ConversationStore#history(String, HistoryQuery)} reads: newest
 * first, at most {@code limit} entries, optionally within a time range {@code [from, until)} and older
 * than a {@link Cursor} (where the previous page ended). Immutable; checked when built.
 *
 * <pre>{@code
 * HistoryPage page = store.history(phone, HistoryQuery.newest(20).from(yesterday));
 * while (page.next().isPresent()) {
 *     page = store.history(phone, page.next().get());
 * }
 * }</pre>
 *
 * @param limit  the most entries on a page, 1 to {@link #MAX_LIMIT}
 * @param from   the earliest creation time included, if bounded
 * @param until  the creation time from which entries are excluded, if bounded
 * @param before where the previous page ended, if this is not the first page
 */
public record HistoryQuery(int limit, Optional<Instant> from, Optional<Instant> until, Optional<Cursor> before) {
    /** The largest page. */
    public static final int MAX_LIMIT = 10_000;

    /** @throws IllegalArgumentException for a limit out of range, or {@code from} not before {@code until} */
    public HistoryQuery {
        Check.limit(limit);
        Checks.notNull("from", from);
        Checks.notNull("until", until);
        Checks.notNull("before", before);
        if (from.isPresent() && until.isPresent() && !from.get().isBefore(until.get())) {
            throw new IllegalArgumentException("from (" + from.get() + ") must be before until (" + until.get() + ")");
        }
    }

    /** The newest {@code limit} entries. */
    public static HistoryQuery newest(int limit) {
        return new HistoryQuery(limit, Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** A copy keeping only entries created at or after {@code from}. */
    public HistoryQuery from(Instant from) {
        return new HistoryQuery(limit, Optional.of(Checks.notNull("from", from)), until, before);
    }

    /** A copy keeping only entries created before {@code until}. */
    public HistoryQuery until(Instant until) {
        return new HistoryQuery(limit, from, Optional.of(Checks.notNull("until", until)), before);
    }

    /** A copy reading the entries older than {@code cursor}. */
    public HistoryQuery before(Cursor cursor) {
        return new HistoryQuery(limit, from, until, Optional.of(Checks.notNull("before", cursor)));
    }

    /**
     * A position in a phone's history, newest first: entries are ordered by creation time, then id.
     *
     * @param createdAt the creation time of the last entry read
     * @param id        its id
     */
    public record Cursor(Instant createdAt, long id) {
        public Cursor {
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }
}
