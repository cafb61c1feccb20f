package dev.pgkit.store;

import dev.pgkit.LogOffset;
import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.OrderedLog;
import dev.pgkit.internal.Params;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * A store's event streams: append-only, each event with an id. Read a stream from an id onward, page by
 * page, or follow it live: a tail delivers events as they commit, in commit order, never skipping one that
 * commits late (pgkit's commit-safe ordered-log reader, woken by the NOTIFY an append sends at its commit while
 * some tail of the store runs; appends nobody follows send none).
 * Thread-safe.
 */
public final class EventStreams {
    private final Context context;
    private final Database database;
    private final StoreSql sql;
    private final String store;
    private final String channel;
    private final OrderedLog<Event<String>> log;

    EventStreams(Context context, StoreSql sql, StoreOptions options) {
        this.context = context;
        this.database = context.database();
        this.sql = sql;
        this.store = options.name();
        this.channel = channel(options);
        this.log = new OrderedLog<>(database, "store " + store + " events", sql.eventLog().source(),
                rs -> new Event<>(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getTimestamp(4).toInstant(), null));
    }

    /** The NOTIFY channel of a store's appends: short and safe whatever the store's name. */
    static String channel(StoreOptions options) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest((options.schema() + "\u0000" + options.name()).getBytes(StandardCharsets.UTF_8));
            return "pgkit_store_" + HexFormat.of().formatHex(hash, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Appends {@code payload} (encoded by the codec) to {@code stream}; returns the event's id. */
    public long append(String stream, Object payload) {
        Check.key("stream", stream);
        return insert(stream, Check.encode(context.codec(), "payload", payload));
    }

    /** Appends JSON text as it is (checked to be one JSON value first); returns the event's id. */
    public long appendJson(String stream, String json) {
        Check.key("stream", stream);
        return insert(stream, Check.json("payload", json));
    }

    private long insert(String stream, String json) {
        return database.query(sql.eventAppend, stream, s -> {
            s.setString(1, store);
            s.setString(2, stream);
            Params.jsonb(s, 3, json);
            s.setString(4, channel);
        }, rs -> {
            rs.next();
            return rs.getLong(1);
        });
    }

    /**
     * The events of {@code stream} with id {@code fromId} or above, in id order, at most {@code limit}: page on from
     * the last id plus one. Ids follow the order of appends; an event of a transaction still running when this
     * reads is not there yet, so to follow a stream without missing any use {@link #readAfter} or {@link #follow}.
     */
    public <T> List<Event<T>> read(String stream, long fromId, int limit, Class<T> type) {
        Check.key("stream", stream);
        Check.limit(limit);
        Checks.notNull("type", type);
        return database.query(sql.eventRead, stream, s -> {
            s.setString(1, store);
            s.setString(2, stream);
            s.setLong(3, fromId);
            s.setInt(4, limit);
        }, rs -> {
            List<Event<T>> out = new ArrayList<>();
            while (rs.next()) {
                long id = rs.getLong(1);
                out.add(new Event<>(id, stream, context.codec().decode(rs.getString(2), type), rs.getTimestamp(3).toInstant(),
                        new LogOffset(Long.parseLong(rs.getString(4)), id)));
            }
            return out;
        });
    }

    /**
     * The committed events of {@code stream} after {@code after} in commit order, at most {@code limit}: calling again
     * from the last one's {@link Event#offset()} continues without a gap or a repeat, even across events that
     * committed late.
     */
    public <T> List<Event<T>> readAfter(String stream, LogOffset after, int limit, Class<T> type) {
        Check.key("stream", stream);
        Checks.notNull("after", after);
        Check.limit(limit);
        Checks.notNull("type", type);
        List<Event<T>> out = new ArrayList<>();
        for (OrderedLog.Entry<Event<String>> entry : log.read(after, limit, filter(stream))) {
            out.add(decode(entry, type));
        }
        return out;
    }

    /**
     * Delivers the events of {@code stream} after {@code after} ({@link LogOffset#START} for all) to {@code listener}
     * as they commit, batch by batch in commit order, on a thread of its own, until the tail is closed.
     */
    public <T> Tail follow(String stream, LogOffset after, Class<T> type, Consumer<List<Event<T>>> listener) {
        Check.key("stream", stream);
        Checks.notNull("after", after);
        Checks.notNull("type", type);
        Checks.notNull("listener", listener);
        OrderedLog<Event<String>>.Live live = log.followGated(context, channel, after, 500, filter(stream), batch -> {
            List<Event<T>> events = new ArrayList<>(batch.size());
            for (OrderedLog.Entry<Event<String>> entry : batch) {
                events.add(decode(entry, type));
            }
            listener.accept(events);
        });
        return new Tail(live);
    }

    private Database.Binder filter(String stream) {
        return s -> {
            s.setString(1, store);
            s.setString(2, stream);
        };
    }

    private <T> Event<T> decode(OrderedLog.Entry<Event<String>> entry, Class<T> type) {
        Event<String> raw = entry.value();
        return new Event<>(raw.id(), raw.stream(), context.codec().decode(raw.payload(), type), raw.timestamp(), entry.offset());
    }

    /** A live tail of a stream; {@link #close()} stops it. */
    public static final class Tail implements AutoCloseable {
        private final OrderedLog<?>.Live live;

        Tail(OrderedLog<?>.Live live) {
            this.live = live;
        }

        /** The offset of the last event delivered (where a new tail would resume). */
        public LogOffset offset() {
            return live.offset();
        }

        /** Whether it still delivers: not closed, and the listener has not thrown. */
        public boolean isRunning() {
            return live.isRunning();
        }

        /** Stops delivering; waits (up to 5 s) for a batch being delivered to finish. */
        @Override
        public void close() {
            live.close();
        }
    }
}
