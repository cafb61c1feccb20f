package dev.pgkit.persistence;

import dev.pgkit.ConcurrencyConflictException;
import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Database;
import dev.pgkit.json.JsonCodec;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The event journal: streams of events per persistence id, in actor-ts's {@code events} and
 * {@code events_tags} tables. Shaped like Pekko's journal plugin contract (atomic batch writes, inclusive
 * replay bounds with a count limit, range deletes that keep the highest sequence number).
 *
 * <p>An append is one round trip and atomic: all of its events are stored, numbered
 * {@code expectedSequenceNr + 1 ...}, or none. Obtain it from {@link Persistence#journal()}; thread-safe.
 */
public final class EventJournal {
    private final Database database;
    private final JsonCodec codec;
    private final PersistenceSql sql;
    private final String channel;

    EventJournal(Database database, JsonCodec codec, PersistenceSql sql, String channel) {
        this.database = database;
        this.codec = codec;
        this.sql = sql;
        this.channel = channel;
    }

    /**
     * Appends untagged events after {@code expectedSequenceNr}.
     *
     * @see #appendAll(String, List, long)
     */
    public long append(String persistenceId, List<?> events, long expectedSequenceNr) {
        Checks.notNull("events", events);
        return appendAll(persistenceId, events.stream().map(e -> NewEvent.of(Checks.notNull("event", e))).toList(), expectedSequenceNr);
    }

    /**
     * Appends events that all carry {@code tags}.
     *
     * @see #appendAll(String, List, long)
     */
    public long append(String persistenceId, List<?> events, List<String> tags, long expectedSequenceNr) {
        Checks.notNull("events", events);
        Checks.notNull("tags", tags);
        return appendAll(persistenceId, events.stream().map(e -> new NewEvent(Checks.notNull("event", e), tags)).toList(), expectedSequenceNr);
    }

    /**
     * Appends a batch atomically: the events get sequence numbers {@code expectedSequenceNr + 1} onwards, in order,
     * if and only if the stream's highest sequence number is {@code expectedSequenceNr} (0 for a new stream).
     *
     * @return the stream's new highest sequence number
     * @throws JournalConcurrencyException if the stream's highest sequence number is not {@code expectedSequenceNr}
     *         (it carries the current one); nothing was written
     * @throws IllegalArgumentException    on an invalid id, an empty or oversized batch, a bad tag or an event the codec
     *                                     cannot encode; nothing was written
     * @throws dev.pgkit.OutcomeUnknownException if the connection broke after the append was sent: check
     *         {@link #highestSequenceNr} before appending again
     */
    public long appendAll(String persistenceId, List<NewEvent> events, long expectedSequenceNr) {
        Check.persistenceId(persistenceId);
        Checks.notNull("events", events);
        Checks.notNegative("expectedSequenceNr", expectedSequenceNr);
        if (events.isEmpty()) {
            throw new IllegalArgumentException("events must not be empty");
        }
        if (events.size() > Check.MAX_BATCH) {
            throw new IllegalArgumentException("an append takes at most " + Check.MAX_BATCH + " events, was " + events.size());
        }
        if (expectedSequenceNr > Long.MAX_VALUE - events.size()) {
            throw new IllegalArgumentException("expectedSequenceNr " + expectedSequenceNr + " leaves no room for " + events.size() + " events");
        }
        int n = events.size();
        String[] payloads = new String[n];
        String[] csv = new String[n];
        List<Long> tagOrd = new ArrayList<>();
        List<String> tagNames = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            NewEvent event = Checks.notNull("events[" + i + "]", events.get(i));
            List<String> tags = Tags.checked(event.tags());
            payloads[i] = Check.encode(codec, "events[" + i + "]", event.event());
            csv[i] = Tags.csv(tags);
            for (String tag : tags) {
                tagOrd.add((long) i + 1);
                tagNames.add(tag);
            }
        }
        long[] outcome;
        try {
            outcome = database.query(sql.append, persistenceId, s -> {
                Connection c = s.getConnection();
                s.setString(1, persistenceId);
                s.setLong(2, expectedSequenceNr);
                s.setLong(3, n);
                s.setArray(4, c.createArrayOf("text", payloads));
                s.setArray(5, c.createArrayOf("text", csv));
                s.setArray(6, c.createArrayOf("bigint", tagOrd.toArray()));
                s.setArray(7, c.createArrayOf("text", tagNames.toArray()));
                s.setString(8, channel);
            }, rs -> {
                rs.next();
                long claimed = rs.getLong(1);
                return new long[] {rs.wasNull() ? -1 : claimed, rs.getLong(2)};
            });
        } catch (ConcurrencyConflictException e) {
            // the primary key's backstop: a writer that does not claim the stream's row (an actor-ts node) got there first
            throw new JournalConcurrencyException(persistenceId, expectedSequenceNr, highestSequenceNr(persistenceId), e.constraint(), e);
        }
        if (outcome[0] >= 0) {
            return outcome[0];
        }
        long current = outcome[1] != expectedSequenceNr ? outcome[1] : highestSequenceNr(persistenceId); // moved on during the statement
        throw new JournalConcurrencyException(persistenceId, expectedSequenceNr, current, null, null);
    }

    /**
     * The events of a stream from {@code fromSequenceNr} to {@code toSequenceNr} (both inclusive), in order, at most
     * {@code max} of them (0: none). Deleted events are not returned.
     *
     * @param type the events' type, for the codec (a common supertype for a stream of several event types)
     */
    public <E> List<JournalEvent<E>> read(String persistenceId, long fromSequenceNr, long toSequenceNr, long max, Class<E> type) {
        Check.persistenceId(persistenceId);
        Checks.notNegative("fromSequenceNr", fromSequenceNr);
        Checks.notNegative("toSequenceNr", toSequenceNr);
        Checks.notNegative("max", max);
        Check.type(type);
        if (max == 0 || fromSequenceNr > toSequenceNr) {
            return List.of();
        }
        return database.query(sql.read, persistenceId, s -> {
            s.setString(1, persistenceId);
            s.setLong(2, fromSequenceNr);
            s.setLong(3, toSequenceNr);
            s.setLong(4, max);
        }, rs -> events(persistenceId, rs, type));
    }

    /** Every event of a stream still stored, in order. */
    public <E> List<JournalEvent<E>> read(String persistenceId, Class<E> type) {
        return read(persistenceId, 0, Long.MAX_VALUE, Long.MAX_VALUE, type);
    }

    /**
     * The stream's highest sequence number ever appended, also after its events were deleted; 0 for a stream
     * never written.
     */
    public long highestSequenceNr(String persistenceId) {
        Check.persistenceId(persistenceId);
        return database.query(sql.highest, persistenceId, s -> {
            s.setString(1, persistenceId);
            s.setString(2, persistenceId);
        }, rs -> rs.next() ? rs.getLong(1) : 0L);
    }

    /**
     * Deletes the stream's events up to {@code toSequenceNr} (inclusive; {@code Long.MAX_VALUE} for all), with their
     * tag rows. The highest sequence number is remembered, so later appends continue after it.
     *
     * @return how many events were deleted
     */
    public long deleteTo(String persistenceId, long toSequenceNr) {
        Check.persistenceId(persistenceId);
        Checks.positive("toSequenceNr", toSequenceNr);
        return database.query(sql.deleteTo, persistenceId, s -> {
            s.setString(1, persistenceId);
            s.setLong(2, toSequenceNr);
        }, rs -> rs.next() ? rs.getLong(1) : 0L);
    }

    /** Every persistence id with events or a remembered highest sequence number, in order. */
    public List<String> persistenceIds() {
        List<String> all = new ArrayList<>();
        String after = "";
        while (true) {
            List<String> page = persistenceIds(after, 10_000);
            all.addAll(page);
            if (page.size() < 10_000) {
                return all;
            }
            after = page.get(page.size() - 1);
        }
    }

    /** Up to {@code limit} persistence ids after {@code afterId} ("" from the start), in order: a page of {@link #persistenceIds()}. */
    public List<String> persistenceIds(String afterId, int limit) {
        Checks.notNull("afterId", afterId);
        Checks.positive("limit", limit);
        return database.query(sql.persistenceIds, afterId, s -> {
            s.setString(1, afterId);
            s.setString(2, afterId);
            s.setInt(3, limit);
        }, rs -> {
            List<String> ids = new ArrayList<>();
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
            return ids;
        });
    }

    private <E> List<JournalEvent<E>> events(String persistenceId, ResultSet rs, Class<E> type) throws SQLException {
        List<JournalEvent<E>> out = new ArrayList<>();
        while (rs.next()) {
            out.add(new JournalEvent<>(persistenceId, rs.getLong(1), codec.decode(rs.getString(2), type), Tags.parse(rs.getString(3)),
                    Instant.ofEpochMilli(rs.getLong(4))));
        }
        return out;
    }

}
