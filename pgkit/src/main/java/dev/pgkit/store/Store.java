package dev.pgkit.store;

import dev.pgkit.internal.AdapterRegistry;
import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.OrderedLog;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * A named store (Persist's {@code createStore("analytics", {adapter: "postgres"})}): versioned JSON
 * {@link #records() records}, {@link #events() event streams}, {@link #kv() key-value} entries, the
 * {@link #queue() sync queue} every change is recorded in, and {@link #syncWith bidirectional sync} with the
 * same store in another database or schema. Stores with different names in one schema never see each other's
 * data. Obtain it from {@link dev.pgkit.Pgkit#store(String)}; it is thread-safe and cheap to keep.
 */
public final class Store {
    private final Context context;
    private final Database database;
    private final StoreSql sql;
    private final StoreOptions options;
    private final String replicaId;
    private final Records records;
    private final KeyValue kv;
    private final EventStreams events;
    private final OrderedLog<FeedItem> feed;

    static {
        // built by Pgkit#store through the registry, so no public member takes pgkit's internal Context
        AdapterRegistry.register(Store.class, StoreOptions.class, StoreOptions.named("default"), StoreSchema::component, Store::new);
    }

    private Store(Context context, StoreOptions options) {
        this.context = context;
        this.database = context.database();
        this.options = options;
        this.sql = new StoreSql(Identifier.of("store schema", options.schema()));
        this.replicaId = loadReplicaId();
        this.records = new Records(new Rows(database, context.codec(), sql.records, options.name(), replicaId, "record"));
        this.kv = new KeyValue(new Rows(database, context.codec(), sql.kv, options.name(), replicaId, "kv entry"));
        this.events = new EventStreams(context, sql, options);
        this.feed = new OrderedLog<>(database, "store " + options.name() + " change feed", sql.feed().source(), FeedItem::read);
    }

    /** The store's name. */
    public String name() {
        return options.name();
    }

    /** The schema of its tables. */
    public String schema() {
        return options.schema();
    }

    /** This store's id as a sync replica (the origin of its writes), created on first open. */
    public String replicaId() {
        return replicaId;
    }

    private String loadReplicaId() {
        String fresh = UUID.randomUUID().toString().replace("-", "");
        return database.query(sql.replicaId, options.name(), s -> {
            s.setString(1, options.name());
            s.setString(2, fresh);
            dev.pgkit.internal.Params.nullableLong(s, 3, options.tombstoneRetention().map(java.time.Duration::toMillis).orElse(null));
        }, rs -> {
            rs.next();
            return rs.getString(1);
        });
    }

    /** Versioned JSON records. */
    public Records records() {
        return records;
    }

    /** Key-value entries. */
    public KeyValue kv() {
        return kv;
    }

    /** Event streams. */
    public EventStreams events() {
        return events;
    }

    // ---------------------------------------------------------------- sync queue and conflicts

    /** Queue entries after id {@code afterId}, oldest first, with the given status (empty: any), at most {@code limit}. */
    public List<SyncEntry> queue(Optional<SyncEntry.Status> status, long afterId, int limit) {
        Checks.notNull("status", status);
        Check.limit(limit);
        String wanted = status.map(SyncEntry.Status::sql).orElse(null);
        return database.query(sql.queueEntries, options.name(), s -> {
            s.setString(1, options.name());
            s.setString(2, wanted);
            s.setString(3, wanted);
            s.setLong(4, afterId);
            s.setInt(5, limit);
        }, rs -> {
            List<SyncEntry> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new SyncEntry(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        SyncEntry.Status.valueOf(rs.getString(5).toUpperCase(java.util.Locale.ROOT)), Optional.ofNullable(rs.getString(6)),
                        rs.getInt(7), rs.getTimestamp(8).toInstant(), Optional.ofNullable(rs.getTimestamp(9)).map(java.sql.Timestamp::toInstant)));
            }
            return out;
        });
    }

    /** How many queue entries are pending, synced and failed. */
    public QueueCounts queueCounts() {
        return database.query(sql.queueCounts, options.name(), s -> s.setString(1, options.name()),
                rs -> {
                    rs.next();
                    return new QueueCounts(rs.getLong(1), rs.getLong(2), rs.getLong(3));
                });
    }

    /** Conflicts sync kept because its policy could not decide, oldest first, after id {@code afterId}. */
    public List<Conflict> conflicts(long afterId, int limit) {
        Check.limit(limit);
        return database.query(sql.conflicts, options.name(), s -> {
            s.setString(1, options.name());
            s.setLong(2, afterId);
            s.setInt(3, limit);
        }, rs -> {
            List<Conflict> out = new ArrayList<>();
            while (rs.next()) {
                out.add(new Conflict(rs.getLong(1), rs.getString(2), rs.getString(3), Optional.ofNullable(rs.getString(4)),
                        Optional.ofNullable(rs.getString(5)), rs.getString(7), rs.getTimestamp(8).toInstant()));
            }
            return out;
        });
    }

    /** Forgets a kept conflict (after writing the value wanted); true if it was there. */
    public boolean dismissConflict(long id) {
        return database.update(sql.conflictDismiss, id, s -> {
            s.setString(1, options.name());
            s.setLong(2, id);
        }) > 0;
    }

    // ---------------------------------------------------------------- sync

    /** One sync round with {@code remote} under last-writer-wins: see {@link #syncWith(Store, SyncOptions)}. */
    public SyncReport syncWith(Store remote) {
        return syncWith(remote, SyncOptions.defaults());
    }

    /**
     * One sync round with {@code remote} (the same store in another database or schema): pushes this store's
     * unsynced queue entries (the current version of each key changed), then pulls the remote's changes since the
     * checkpoint kept on both sides, resolving versions by the options' policy. Each batch is applied in one
     * transaction on the receiving side together with its checkpoint, so a round interrupted at any point (a lost
     * connection, a crash) is resumed by the next without losing or repeating a change; applying a version a side
     * already has changes nothing. A queue entry's status records this store's push, so a store pushes to one upstream
     * (the hub model); other peers get its changes by pulling ({@code other.syncWith(this)}), each with its own checkpoint.
     *
     * @throws IllegalArgumentException if {@code remote} is this store's own replica or has another name
     */
    public SyncReport syncWith(Store remote, SyncOptions options) {
        Checks.notNull("remote", remote);
        Checks.notNull("options", options);
        if (!remote.name().equals(name())) {
            throw new IllegalArgumentException("sync joins a store with the same store elsewhere: '" + name() + "' cannot sync with '"
                    + remote.name() + "'");
        }
        if (remote.replicaId.equals(replicaId)) {
            throw new IllegalArgumentException("store '" + name() + "' in schema " + schema() + " cannot sync with itself: the remote is "
                    + "the same replica (same database and schema)");
        }
        return new SyncRound(this, remote, options).run();
    }

    Database database() {
        return database;
    }

    StoreSql sql() {
        return sql;
    }

    OrderedLog<FeedItem> feed() {
        return feed;
    }

    /** One entry of the change feed: where the change came from and what it changed. */
    record FeedItem(String source, String kind, String key) {
        static FeedItem read(ResultSet rs) throws java.sql.SQLException {
            return new FeedItem(rs.getString(1), rs.getString(2), rs.getString(3));
        }
    }

    /** The current states of {@code keys} of one kind ({@code record} or {@code kv}); a cleaned-up key is absent. */
    Map<String, RowState> states(String kind, java.util.Collection<String> keys) {
        StoreSql.Table table = "record".equals(kind) ? sql.records : sql.kv;
        return database.query(table.states, options.name(), s -> {
            s.setString(1, options.name());
            s.setArray(2, s.getConnection().createArrayOf("text", keys.toArray()));
        }, rs -> {
            Map<String, RowState> out = new java.util.LinkedHashMap<>();
            while (rs.next()) {
                String key = rs.getString(1);
                out.put(key, RowState.read(key, rs, 2));
            }
            return out;
        });
    }
}
