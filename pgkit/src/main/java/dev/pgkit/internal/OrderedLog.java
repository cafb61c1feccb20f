package dev.pgkit.internal;

import dev.pgkit.LogOffset;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitTimeoutException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads an append-only table in an order that never skips a row that commits late: the one reader behind
 * the journal's tag queries, the store's event tails and durable broadcast. Internal to pgkit (not exported).
 *
 * <p>The problem: a sequence value is assigned at insert but becomes visible at commit, so a reader that
 * has read row 11 of a transaction that committed first never sees row 10 of one that commits after it.
 * Event stores solve it in one of three ways: serialise writers (an advisory lock held to commit, which
 * caps append throughput at one transaction at a time); gap tracking (which must ask whether the writer of
 * a missing number is still running, and PostgreSQL cannot name it); or a <em>commit-safe horizon</em>,
 * chosen here. Every row records its writer's transaction id ({@code xid8 DEFAULT pg_current_xact_id()},
 * which a Node writer that knows nothing of pgkit also fills), rows are ordered by {@code (tx, seq)}, and a
 * read returns only rows with {@code tx < pg_snapshot_xmin(pg_current_snapshot())}. Every transaction below
 * that horizon has ended, so no row can ever appear before a delivered one; a transaction still running
 * has an id at or above it, beyond every offset delivered, so its rows come later, exactly once. Nothing is
 * skipped on a timer: a row waits as long as its writer runs.
 *
 * <p>The cost: delivery waits for the oldest transaction that has written anything in the cluster (read-only
 * transactions have no id and hold nothing back), so a session left idle in a writing transaction delays
 * every live reader until it ends ({@code idle_in_transaction_session_timeout} bounds that; nothing bounds a
 * forgotten prepared transaction).
 *
 * <p>Offsets hold transaction ids, which belong to one cluster: after a dump and restore (or a logical-replication
 * switch-over) into a cluster whose transaction counter is lower, stored offsets do not carry over. Physical
 * replicas and {@code pg_upgrade} keep the counter.
 *
 * <p>The table needs {@code tx xid8 NOT NULL DEFAULT pg_current_xact_id()}, a {@code bigint} sequence column,
 * and an index on {@code (filter columns..., tx, seq)}. Writers {@code pg_notify} the log's channel in the
 * inserting transaction, so live readers wake at its commit: always ({@link #follow}), or only while a live reader
 * runs ({@link LogPresence#notifySql}, read with {@link #followGated}).
 *
 * @param <T> what one row is read as
 */
public final class OrderedLog<T> {
    private static final Logger log = LoggerFactory.getLogger(OrderedLog.class);
    /** The first re-read delay while committed rows wait behind an older running transaction; doubles up to the re-check interval. */
    private static final long FIRST_HELD_BACK_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
    private static final long FIRST_RETRY_DELAY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /**
     * Where the rows are.
     *
     * @param select    the select list of the caller's columns (the position columns are added)
     * @param from      the {@code FROM} clause's body, tables qualified and quoted
     * @param filter    a condition with {@code ?} parameters (none inside literals; {@code ??} is jsonb's {@code ?}),
     *                  or {@code true}; {@code select} and {@code from} take no parameters
     * @param txColumn  the {@code xid8} column of the writing transaction
     * @param seqColumn the {@code bigint} sequence column; {@code (tx, seq)} must be unique among the rows read
     *                  (a join must not repeat a row), since offsets name rows by it
     */
    public record Source(String select, String from, String filter, String txColumn, String seqColumn) {
        public Source {
            Objects.requireNonNull(select, "select");
            Objects.requireNonNull(from, "from");
            Objects.requireNonNull(filter, "filter");
            Objects.requireNonNull(txColumn, "txColumn");
            Objects.requireNonNull(seqColumn, "seqColumn");
        }
    }

    /** One row and its position. */
    public record Entry<T>(LogOffset offset, T value) {
    }

    /**
     * A read's rows, and whether rows after them have committed but wait behind an older transaction that is
     * still running (the read fetches one row past the limit, so it is known whatever the number of rows read).
     */
    record Page<T>(List<Entry<T>> entries, boolean heldBack) {
    }

    /** Reads the caller's columns {@code 1..n} of the current row. */
    @FunctionalInterface
    public interface RowReader<T> {
        T read(ResultSet row) throws SQLException;
    }

    /** Receives a live query's rows, on its own thread, one batch at a time, in offset order. */
    public interface Listener<T> {
        /** Rows that committed; when this returns, the query's offset is the last row's. Throwing ends the query. */
        void onEntries(List<Entry<T>> batch) throws Exception;

        /** The query ended because {@link #onEntries} threw or the log could not be read (not on close). */
        default void onError(Throwable failure) {
        }
    }

    private final Database database;
    private final String name;
    private final RowReader<T> reader;
    private final int filterParameters;
    private final Sql readSql;

    /**
     * @param name   what the log is, for operation names and thread names ({@code journal tag})
     * @param source where the rows are
     * @param reader reads the select list's columns of a row
     */
    public OrderedLog(Database database, String name, Source source, RowReader<T> reader) {
        this.database = Objects.requireNonNull(database, "database");
        this.name = Objects.requireNonNull(name, "name");
        this.reader = Objects.requireNonNull(reader, "reader");
        this.filterParameters = (int) source.filter().replace("??", "").chars().filter(c -> c == '?').count();
        // Rows at or above the horizon sort after every row below it, so reading one row past the limit without the
        // horizon in the WHERE clause returns the deliverable rows and, if fewer than the limit, the first held-back
        // row: one index scan tells both, in one round trip and one snapshot.
        this.readSql = Sql.read("read " + name, "SELECT " + source.select() + ", " + source.txColumn() + "::text::bigint, "
                + source.seqColumn() + ", " + source.txColumn() + " < pg_snapshot_xmin(pg_current_snapshot())"
                + " FROM " + source.from() + " WHERE (" + source.filter() + ") AND (" + source.txColumn() + ", " + source.seqColumn()
                + ") > (?::bigint::text::xid8, ?) ORDER BY " + source.txColumn() + ", " + source.seqColumn() + " LIMIT ?");
    }

    /**
     * The committed rows after {@code after}, at most {@code limit}, in offset order, up to the commit-safe
     * horizon: a later call from the last one's offset continues without gaps or repeats.
     *
     * @param filter binds the filter's parameters, from 1
     */
    public List<Entry<T>> read(LogOffset after, int limit, Database.Binder filter) {
        return readPage(after, limit, filter).entries();
    }

    /** {@link #read}, telling whether committed rows wait behind an older running transaction. */
    Page<T> readPage(LogOffset after, int limit, Database.Binder filter) {
        Objects.requireNonNull(after, "after");
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        }
        return database.query(readSql, name, statement -> {
            if (filter != null) {
                filter.bind(statement);
            }
            statement.setLong(filterParameters + 1, after.transaction());
            statement.setLong(filterParameters + 2, after.sequence());
            statement.setLong(filterParameters + 3, limit + 1L);
        }, rs -> {
            List<Entry<T>> entries = new ArrayList<>();
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                if (!rs.getBoolean(columns)) {
                    return new Page<>(entries, true);
                }
                if (entries.size() == limit) {
                    break;
                }
                entries.add(new Entry<>(new LogOffset(rs.getLong(columns - 2), rs.getLong(columns - 1)), reader.read(rs)));
            }
            return new Page<>(entries, false);
        });
    }

    /** A wrong password, a dropped database: waiting does not help. */
    private static boolean permanent(dev.pgkit.PgkitException e) {
        return e.sqlState().filter(state -> state.startsWith("28") || state.equals("3D000")).isPresent();
    }

    /**
     * Delivers the rows after {@code after} to {@code listener} as they commit, until closed, on a thread of
     * its own: woken by a notification on {@code channel} (which the writers send in their transaction), by a
     * gap in notifications (a reconnect of the listener), and at the wait/wake service's re-check interval.
     * Lost connections and timeouts are retried; a failure of the listener, or of the log's SQL, ends the query.
     * Closing the {@code Pgkit} closes it.
     */
    public Live follow(Context context, String channel, LogOffset after, int batchSize, Database.Binder filter, Listener<T> listener) {
        return start(context, channel, false, after, batchSize, filter, listener);
    }

    /**
     * {@link #follow} for writers that notify only while a live reader runs ({@link LogPresence#notifySql}): the query
     * holds the presence of every shard of {@code channel} while it runs, and re-reads each time one becomes held.
     */
    public Live followGated(Context context, String channel, LogOffset after, int batchSize, Database.Binder filter, Listener<T> listener) {
        return start(context, channel, true, after, batchSize, filter, listener);
    }

    private Live start(Context context, String channel, boolean gated, LogOffset after, int batchSize, Database.Binder filter,
                       Listener<T> listener) {
        Objects.requireNonNull(after, "after");
        Objects.requireNonNull(listener, "listener");
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1, was " + batchSize);
        }
        Live live = new Live(context, after);
        context.closeWith(live);
        live.subscription = context.wakeups().subscribe(channel, new NotificationHandler() {
            @Override
            public void onNotification(String ch, String payload) {
                live.wake();
            }

            @Override
            public void onGap() {
                live.wake();
            }
        });
        if (gated) {
            live.presence = LogPresence.hold(context.listener(), channel, live::wake);
        }
        long recheckNanos = context.wakeups().recheckInterval().toNanos();
        live.thread = NotificationListener.daemon("pgkit-log-" + name).newThread(() -> live.run(batchSize, filter, listener, recheckNanos));
        live.thread.start();
        return live;
    }

    /** A running live query. */
    public final class Live implements AutoCloseable {
        private final Semaphore wakeups = new Semaphore(0);
        private volatile LogOffset offset;
        private volatile boolean closed;
        private volatile Throwable failure;
        private NotificationListener.Subscription subscription;
        private List<NotificationListener.PresenceHold> presence = List.of();
        private Thread thread;

        private final Context context;

        private Live(Context context, LogOffset start) {
            this.context = context;
            this.offset = start;
        }

        /** The offset of the last row delivered (the start offset before the first). */
        public LogOffset offset() {
            return offset;
        }

        /** Whether the query still delivers (not closed, not failed). */
        public boolean isRunning() {
            return !closed && failure == null;
        }

        /** Why the query ended, if it failed. */
        public Throwable failure() {
            return failure;
        }

        private void wake() {
            if (wakeups.availablePermits() == 0) {
                wakeups.release();
            }
        }

        private void run(int batchSize, Database.Binder filter, Listener<T> listener, long recheckNanos) {
            long heldBackDelay = FIRST_HELD_BACK_DELAY_NANOS;
            long retryDelay = FIRST_RETRY_DELAY_NANOS;
            while (!closed) {
                List<Entry<T>> batch;
                long sleep;
                try {
                    wakeups.drainPermits(); // before the read: a commit after it wakes the wait below
                    Page<T> page = readPage(offset, batchSize, filter);
                    batch = page.entries();
                    if (page.heldBack()) {
                        sleep = heldBackDelay;
                        heldBackDelay = Math.min(heldBackDelay * 2, recheckNanos);
                    } else {
                        sleep = recheckNanos;
                        heldBackDelay = FIRST_HELD_BACK_DELAY_NANOS;
                    }
                    retryDelay = FIRST_RETRY_DELAY_NANOS;
                } catch (PgkitConnectionException | PgkitTimeoutException e) {
                    if (closed) {
                        return;
                    }
                    if (permanent(e)) {
                        fail(e, listener);
                        return;
                    }
                    log.warn("pgkit: reading {} failed, retrying in {} ms: {}", name, TimeUnit.NANOSECONDS.toMillis(retryDelay), e.getMessage());
                    pause(retryDelay);
                    retryDelay = Math.min(retryDelay * 2, Math.max(recheckNanos, FIRST_RETRY_DELAY_NANOS));
                    continue;
                } catch (Throwable e) { // a closing Pgkit fails the read: not the query's failure
                    if (!closed) {
                        fail(e, listener);
                    }
                    return;
                }
                if (closed) {
                    return; // read while closing: the caller may already follow from the stored offset again
                }
                if (!batch.isEmpty()) {
                    try {
                        listener.onEntries(batch);
                    } catch (Throwable e) {
                        fail(e, listener);
                        return;
                    }
                    offset = batch.get(batch.size() - 1).offset();
                    if (batch.size() == batchSize) {
                        continue; // more may be waiting: read on without sleeping
                    }
                }
                pause(sleep);
            }
        }

        private void pause(long nanos) {
            try {
                wakeups.tryAcquire(nanos, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                closed = true;
                stopWaking();
                Thread.currentThread().interrupt();
            }
        }

        private void fail(Throwable e, Listener<T> listener) {
            stopWaking();
            log.warn("pgkit: live read of {} stopped at offset {}: {}", name, offset, e.toString());
            try {
                listener.onError(e);
            } catch (RuntimeException ignored) {
                // the listener's own failure handling failed: nothing more to tell it
            } finally {
                failure = e; // last: isRunning() turns false once the listener has been told
                context.forget(this);
            }
        }

        /** Stops delivering; waits (up to 5 s) for a batch being delivered to finish, unless called from within one. */
        @Override
        public void close() {
            closed = true;
            context.forget(this);
            stopWaking();
            wakeups.release();
            if (thread != Thread.currentThread()) {
                try {
                    thread.join(TimeUnit.SECONDS.toMillis(5));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private void stopWaking() {
            subscription.close();
            presence.forEach(NotificationListener.PresenceHold::close);
        }

        @Override
        public String toString() {
            return "live " + name + " at " + offset + (closed ? " (closed)" : failure != null ? " (failed)" : "");
        }
    }
}
