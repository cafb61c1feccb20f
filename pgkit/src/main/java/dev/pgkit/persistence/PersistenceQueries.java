package dev.pgkit.persistence;

import dev.pgkit.LogOffset;
import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.OrderedLog;
import dev.pgkit.json.JsonCodec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The queries projections read the journal with (Pekko's {@code eventsByPersistenceId} and {@code eventsByTag}),
 * each as a finite "current" query and as a live one. Offsets are exact: a projection that stores the offset of
 * the last event it handled and resumes from it sees every later event once, however writers' transactions
 * interleave. Obtain it from {@link Persistence#queries()}; thread-safe.
 *
 * <p><b>By tag</b>, the order is the commit-safe order of the foundation's ordered-log reader over the tags table:
 * {@code (tx, seq)}, each tag row carrying its writing transaction's id, read only below the oldest running
 * transaction ({@code pg_snapshot_xmin}). A transaction that appended earlier but commits later is delivered
 * after the rows already delivered, never skipped: no timestamp windows, no gaps skipped on a timer. actor-ts
 * orders by timestamp and loses such events.
 *
 * <p><b>By persistence id</b>, the order is the sequence number: one stream's numbers become visible in order
 * (an append claims the stream's row until it commits, and a number is only appended after the one before it is
 * committed), so the last delivered number is an exact offset.
 */
public final class PersistenceQueries {
    /** Rows per read of a live query. */
    static final int BATCH = 500;
    /** Rows per page of a current query. */
    static final int PAGE = 1000;

    private final Context context;
    private final JsonCodec codec;
    private final EventJournal journal;
    private final String channel;
    private final OrderedLog<StoredEvent> byTag;
    private final OrderedLog<StoredEvent> byPersistenceId;

    /** An event row as read, decoded per query. */
    private record StoredEvent(String persistenceId, long sequenceNr, String payload, String tags, long timestamp) {
    }

    PersistenceQueries(Context context, PersistenceSql sql, EventJournal journal, String channel) {
        this.context = context;
        this.codec = context.codec();
        this.journal = journal;
        this.channel = channel;
        OrderedLog.RowReader<StoredEvent> row = rs -> new StoredEvent(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                rs.getLong(5));
        this.byTag = new OrderedLog<>(context.database(), "journal by tag", sql.byTag, row);
        this.byPersistenceId = new OrderedLog<>(context.database(), "journal by persistence id", sql.byPersistenceId, row);
    }

    // ---------------------------------------------------------------- by tag

    /**
     * The events tagged {@code tag} committed after {@code after} ({@link LogOffset#START} from the beginning), at
     * most {@code limit}, in the tag's order. Call again from the last envelope's offset for the next page; an empty
     * page means the query caught up with what has committed.
     */
    public <E> List<EventEnvelope<E>> currentEventsByTag(String tag, LogOffset after, int limit, Class<E> type) {
        Check.tag(tag);
        Checks.notNull("after", after);
        Checks.positive("limit", limit);
        Check.type(type);
        return envelopes(byTag.read(after, limit, s -> s.setString(1, tag)), type);
    }

    /** Every event tagged {@code tag} committed after {@code after}, read in pages. */
    public <E> List<EventEnvelope<E>> currentEventsByTag(String tag, LogOffset after, Class<E> type) {
        List<EventEnvelope<E>> all = new ArrayList<>();
        LogOffset from = after;
        while (true) {
            List<EventEnvelope<E>> page = currentEventsByTag(tag, from, PAGE, type);
            all.addAll(page);
            if (page.size() < PAGE) {
                return all;
            }
            from = page.get(page.size() - 1).offset();
        }
    }

    /**
     * Delivers the events tagged {@code tag} after {@code after} to {@code handler} as they commit, until the returned
     * query is closed: first those already stored, then each new one, once, in the tag's order.
     */
    public <E> LiveQuery eventsByTag(String tag, LogOffset after, Class<E> type, EventHandler<E> handler) {
        Check.tag(tag);
        Checks.notNull("after", after);
        Check.type(type);
        Checks.notNull("handler", handler);
        return new LiveQuery(byTag.followGated(context, channel, after, BATCH, s -> s.setString(1, tag),
                batch -> handler.onEvents(envelopes(batch, type))));
    }

    // ---------------------------------------------------------------- by persistence id

    /**
     * The events of a stream from {@code fromSequenceNr} to {@code toSequenceNr} (inclusive) stored now, in order
     * (the journal's {@link EventJournal#read}, as envelopes whose offset's sequence is the sequence number).
     */
    public <E> List<EventEnvelope<E>> currentEventsByPersistenceId(String persistenceId, long fromSequenceNr, long toSequenceNr, Class<E> type) {
        return journal.read(persistenceId, fromSequenceNr, toSequenceNr, Long.MAX_VALUE, type).stream()
                .map(e -> new EventEnvelope<>(new LogOffset(0, e.sequenceNr()), e.persistenceId(), e.sequenceNr(), e.event(), e.tags(),
                        e.timestamp()))
                .toList();
    }

    /**
     * Delivers the events of a stream from {@code fromSequenceNr} on to {@code handler} as they commit, until closed:
     * first those already stored, then each new one, once, in sequence order. A projection resumes from the last
     * sequence number it handled plus one.
     */
    public <E> LiveQuery eventsByPersistenceId(String persistenceId, long fromSequenceNr, Class<E> type, EventHandler<E> handler) {
        Check.persistenceId(persistenceId);
        Checks.notNegative("fromSequenceNr", fromSequenceNr);
        Check.type(type);
        Checks.notNull("handler", handler);
        long start = Math.max(fromSequenceNr, 1) - 1;
        AtomicLong delivered = new AtomicLong(start);
        return new LiveQuery(byPersistenceId.followGated(context, channel, new LogOffset(0, start), BATCH, s -> {
            s.setString(1, persistenceId);
            s.setLong(2, delivered.get());
        }, batch -> {
            handler.onEvents(envelopes(batch, type));
            delivered.set(batch.get(batch.size() - 1).offset().sequence());
        }));
    }

    private <E> List<EventEnvelope<E>> envelopes(List<OrderedLog.Entry<StoredEvent>> entries, Class<E> type) {
        List<EventEnvelope<E>> out = new ArrayList<>(entries.size());
        for (OrderedLog.Entry<StoredEvent> entry : entries) {
            StoredEvent row = entry.value();
            out.add(new EventEnvelope<>(entry.offset(), row.persistenceId(), row.sequenceNr(), codec.decode(row.payload(), type),
                    Tags.parse(row.tags()), Instant.ofEpochMilli(row.timestamp())));
        }
        return out;
    }
}
