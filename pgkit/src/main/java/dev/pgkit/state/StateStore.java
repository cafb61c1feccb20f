package dev.pgkit.state;

import dev.pgkit.PgkitException;
import dev.pgkit.internal.AdapterRegistry;
import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Params;
import dev.pgkit.internal.WakeProtocol;
import dev.pgkit.internal.WakeupService;
import dev.pgkit.json.JsonCodec;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;

/**
 * The Chat SDK state adapter on PostgreSQL: subscriptions, distributed locks, a TTL cache, capped
 * lists and bounded per-thread queues, in the Node adapter's tables ({@code chat_state_*}), so a
 * Java and a Node service with the same key prefix share their state.
 *
 * <p>Every operation is one round trip and atomic under any number of concurrent callers on any
 * number of servers; every expiry is computed by PostgreSQL's clock. Obtain it from
 * {@link dev.pgkit.Pgkit#state()}; it is thread-safe and cheap to keep.
 *
 * <p>Values are stored as JSON text written by the {@code Pgkit}'s codec (Jackson by default),
 * which reads what {@code JSON.stringify} wrote and writes what {@code JSON.parse} reads.
 */
public final class StateStore {
    private final Database database;
    private final JsonCodec codec;
    private final Context context;
    private final StateSql sql;
    private final String prefix;
    private final WakeupService wakeups;
    private volatile LockWatchdog watchdog;

    static {
        // built by Pgkit#state through the registry, so no public member takes pgkit's internal Context
        AdapterRegistry.register(StateStore.class, StateOptions.class, StateSchema.COMPONENT, StateStore::new);
    }

    private StateStore(Context context, StateOptions options) {
        this.context = context;
        this.database = context.database();
        this.codec = context.codec();
        this.sql = new StateSql(context.schema());
        this.prefix = options.keyPrefix();
        this.wakeups = context.wakeups();
    }

    /** The key prefix of every row this store reads and writes. */
    public String keyPrefix() {
        return prefix;
    }

    // ---------------------------------------------------------------- subscriptions

    /** Subscribes to a thread (idempotent). */
    public void subscribe(String threadId) {
        Check.key("threadId", threadId);
        database.update(sql.subscribe, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
        });
    }

    /** Unsubscribes from a thread; a no-op when not subscribed. */
    public void unsubscribe(String threadId) {
        Check.key("threadId", threadId);
        database.update(sql.unsubscribe, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
        });
    }

    /** Whether a thread is subscribed to. */
    public boolean isSubscribed(String threadId) {
        Check.key("threadId", threadId);
        return database.query(sql.isSubscribed, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
        }, rs -> rs.next() && rs.getBoolean(1));
    }

    // ---------------------------------------------------------------- locks

    /**
     * Takes the lock on {@code threadId} if it is free or its lease has run out (one attempt, the
     * Node adapter's {@code acquireLock}).
     */
    public Optional<Lock> acquireLock(String threadId, Duration ttl) {
        return acquireLock(threadId, LockOptions.lease(ttl));
    }

    /**
     * Takes the lock on {@code threadId}, waiting up to {@link LockOptions#maxWait()} for its holder to
     * release it (woken by a pgkit release's NOTIFY; a release by a Node service, which sends none, is seen
     * within the {@code Pgkit}'s wait re-check interval) or for its lease to end.
     *
     * <p>Returns within {@code maxWait} plus one round trip: no try starts after the wait ran out, unless a
     * wake-up came for it. Each try borrows a pooled connection like any call, so if none is free it waits for
     * one, up to the pool's acquire timeout.
     *
     * @return the lock, or empty if it was still held when the wait ended
     * @throws PgkitException if interrupted while waiting (the interrupt flag is restored)
     */
    public Optional<Lock> acquireLock(String threadId, LockOptions options) {
        Check.key("threadId", threadId);
        Checks.notNull("options", options);
        Optional<Lock> lock;
        if (options.maxWait().isZero()) {
            lock = tryAcquire(threadId, options.ttl()).lock();
        } else {
            lock = acquireWaiting(threadId, options);
        }
        if (options.watchdog()) {
            lock.ifPresent(l -> watchdog().watch(l));
        }
        return lock;
    }

    /**
     * Releases a lock if it is still held with its token; a no-op otherwise (expired, taken over or
     * force-released). Stops its watchdog.
     *
     * @return whether this call released it (after a lost connection the release is repeated, and may then
     *         report false for a release its first attempt made)
     * @throws IllegalArgumentException if the lock was acquired through another store
     */
    public boolean releaseLock(Lock lock) {
        requireOwn(lock);
        lock.closeByHolder();
        return database.query(sql.lockRelease, lock.threadId(), s -> {
            s.setString(1, prefix);
            s.setString(2, lock.threadId());
            s.setString(3, lock.token());
        }, ResultSet::next);
    }

    /**
     * Extends a lock still held with its token to {@code ttl} from now (server clock); never
     * resurrects an expired or taken lock.
     *
     * @return false when the lock was no longer held (its {@link Lock#isHeld()} turns false)
     */
    public boolean extendLock(Lock lock, Duration ttl) {
        requireOwn(lock);
        long ttlMillis = Check.ttl("ttl", ttl);
        if (!lock.isHeld()) {
            return false; // lost for good: never revived, even if the row could still be extended
        }
        long start = System.nanoTime();
        Optional<Instant> extended = database.query(sql.lockExtend, lock.threadId(), s -> {
            s.setLong(1, ttlMillis);
            s.setString(2, prefix);
            s.setString(3, lock.threadId());
            s.setString(4, lock.token());
        }, rs -> rs.next() ? Optional.of(rs.getTimestamp(1).toInstant()) : Optional.empty());
        if (extended.isPresent() && lock.extended(extended.get(), start, ttl)) {
            return true;
        }
        lock.lose();
        return false;
    }

    /** Releases the lock on {@code threadId} whoever holds it; the holder's later release is a no-op. */
    public boolean forceReleaseLock(String threadId) {
        Check.key("threadId", threadId);
        return database.query(sql.lockForceRelease, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
        }, ResultSet::next);
    }

    private void requireOwn(Lock lock) {
        Checks.notNull("lock", lock);
        if (!lock.isFrom(this)) {
            throw new IllegalArgumentException("lock " + lock.threadId() + " was acquired through another StateStore (another Pgkit, "
                    + "or key prefix other than '" + prefix + "'): release or extend it through the store that acquired it");
        }
    }

    private record Attempt(Optional<Lock> lock, OptionalLong retryMillis) {
    }

    private Attempt tryAcquire(String threadId, Duration ttl) {
        long ttlMillis = Check.ttl("ttl", ttl);
        String token = "pg_" + UUID.randomUUID();
        long start = System.nanoTime();
        return database.query(sql.lockAcquire, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
            s.setString(3, token);
            s.setLong(4, ttlMillis);
            s.setString(5, prefix);
            s.setString(6, threadId);
        }, rs -> {
            if (!rs.next()) {
                return new Attempt(Optional.empty(), OptionalLong.empty()); // taken by a writer our snapshot cannot see yet
            }
            if (rs.getBoolean(1)) {
                Instant expires = rs.getTimestamp(2).toInstant();
                return new Attempt(Optional.of(new Lock(this, threadId, token, rs.getLong(3), ttl, expires, start)), OptionalLong.empty());
            }
            return new Attempt(Optional.empty(), OptionalLong.of(rs.getLong(4)));
        });
    }

    private Optional<Lock> acquireWaiting(String threadId, LockOptions options) {
        long deadline = System.nanoTime() + options.maxWait().toNanos();
        Attempt attempt = tryAcquire(threadId, options.ttl());
        if (attempt.lock().isPresent()) {
            return attempt.lock();
        }
        try (WakeupService.Waiter waiter = wakeups.register(WakeProtocol.Kind.STATE_LOCK, prefix, threadId)) {
            while (true) {
                waiter.arm();
                attempt = tryAcquire(threadId, options.ttl());
                if (attempt.lock().isPresent()) {
                    return attempt.lock();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return Optional.empty();
                }
                // Woken by the release (NOTIFY), or when the holder's lease ends (a crashed holder never releases);
                // the service re-checks within its interval anyway (a Node service releases without NOTIFY).
                long leaseLeftNanos = (attempt.retryMillis().orElse(Long.MAX_VALUE / 2_000_000L) + 1) * 1_000_000L;
                if (!await(waiter, Math.min(left, leaseLeftNanos), "lock " + threadId, deadline)) {
                    return Optional.empty();
                }
            }
        }
    }

    // ---------------------------------------------------------------- cache

    /** The live value of {@code key} as a {@code type}, in one query; empty when absent, expired or JSON {@code null}. */
    public <T> Optional<T> get(String key, Class<T> type) {
        Check.key("key", key);
        Checks.notNull("type", type);
        String json = database.query(sql.cacheGet, key, s -> {
            s.setString(1, prefix);
            s.setString(2, key);
        }, rs -> rs.next() ? rs.getString(1) : null);
        // A stored JSON null (Node's set(key, null)) reads as absent, as the Node adapter's get returns null.
        return json == null ? Optional.empty() : Optional.ofNullable(decode(json, type));
    }

    /** Stores {@code value} under {@code key} with no expiry. */
    public void set(String key, Object value) {
        set(key, value, null, false);
    }

    /** Stores {@code value} under {@code key}, expiring {@code ttl} from now by the server's clock. */
    public void set(String key, Object value, Duration ttl) {
        Check.ttl("ttl", ttl);
        set(key, value, ttl, false);
    }

    /** Stores {@code value} only if {@code key} has no live value; true if it was stored. */
    public boolean setIfNotExists(String key, Object value) {
        return set(key, value, null, true);
    }

    /** Stores {@code value} with a TTL only if {@code key} has no live value; true if it was stored. */
    public boolean setIfNotExists(String key, Object value, Duration ttl) {
        Check.ttl("ttl", ttl);
        return set(key, value, ttl, true);
    }

    /** Deletes {@code key}; true if it had a live value. */
    public boolean delete(String key) {
        Check.key("key", key);
        return database.query(sql.cacheDelete, key, s -> {
            s.setString(1, prefix);
            s.setString(2, key);
        }, rs -> rs.next() && rs.getLong(1) > 0);
    }

    private boolean set(String key, Object value, Duration ttl, boolean onlyIfAbsent) {
        Check.key("key", key);
        String json = encode("value", value);
        return database.update(onlyIfAbsent ? sql.cacheSetIfAbsent : sql.cacheSet, key, s -> {
            s.setString(1, prefix);
            s.setString(2, key);
            s.setString(3, json);
            Params.nullableLong(s, 4, ttl == null ? null : ttl.toMillis());
        }) > 0;
    }

    // ---------------------------------------------------------------- lists

    /** Appends {@code value} to the list {@code key}, no cap, no expiry. */
    public void appendToList(String key, Object value) {
        appendToList(key, value, ListOptions.none());
    }

    /**
     * Appends {@code value} to the list {@code key}; with a max length the oldest entries beyond it
     * are dropped, with a TTL the whole list expires that long after this append. Atomic: the cap
     * holds exactly under any number of concurrent appenders.
     */
    public void appendToList(String key, Object value, ListOptions options) {
        Check.key("key", key);
        Checks.notNull("options", options);
        String json = encode("value", value);
        Long ttl = options.ttl().map(Duration::toMillis).orElse(null);
        Integer max = options.maxLength().isPresent() ? options.maxLength().getAsInt() : null;
        database.query(sql.listAppend, key, s -> {
            s.setString(1, prefix);
            s.setString(2, key);
            s.setString(3, prefix);
            s.setString(4, key);
            s.setString(5, json);
            Params.nullableLong(s, 6, ttl);
            Params.nullableInt(s, 7, max);
        }, rs -> rs.next());
    }

    /** The live entries of list {@code key}, oldest first (empty when absent or expired). */
    public <T> List<T> getList(String key, Class<T> type) {
        Check.key("key", key);
        Checks.notNull("type", type);
        List<String> values = database.query(sql.listGet, key, s -> {
            s.setString(1, prefix);
            s.setString(2, key);
        }, rs -> {
            List<String> out = new ArrayList<>();
            while (rs.next()) {
                out.add(rs.getString(1));
            }
            return out;
        });
        List<T> decoded = new ArrayList<>(values.size());
        for (String json : values) {
            decoded.add(decode(json, type));
        }
        return decoded;
    }

    // ---------------------------------------------------------------- queues

    /**
     * Appends {@code message} to the queue of {@code threadId}, expiring {@code ttl} from now; when the
     * queue then holds more than {@code maxSize} live entries the oldest are dropped. Atomic: the cap
     * holds exactly under any number of concurrent writers. Wakes waiting dequeuers.
     *
     * @return the queue's depth after this enqueue
     */
    public int enqueue(String threadId, Object message, Duration ttl, int maxSize) {
        Checks.positive("maxSize", maxSize);
        return enqueue(threadId, message, ttl, Integer.valueOf(maxSize));
    }

    /**
     * Appends {@code message} to the unbounded queue of {@code threadId}; returns the new depth (the live
     * entries this statement saw, plus its own: with no cap to enforce it takes no lock, so concurrent
     * enqueues may each count only themselves).
     *
     * <p>Cost: to return the depth (the Node adapter's contract) every call counts the queue's live entries,
     * so an enqueue takes time proportional to the queue's length. For a queue that may grow long, prefer the
     * capped {@link #enqueue(String, Object, Duration, int)}, whose work is bounded by its cap.
     */
    public int enqueue(String threadId, Object message, Duration ttl) {
        return enqueue(threadId, message, ttl, null);
    }

    private int enqueue(String threadId, Object message, Duration ttl, Integer maxSize) {
        Check.key("threadId", threadId);
        long ttlMillis = Check.ttl("ttl", ttl);
        String json = encode("message", message);
        if (maxSize == null) {
            return database.query(sql.queueEnqueueUncapped, threadId, s -> {
                s.setString(1, prefix);
                s.setString(2, threadId);
                s.setString(3, json);
                s.setLong(4, ttlMillis);
            }, StateStore::readDepth);
        }
        return database.query(sql.queueEnqueue, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
            s.setString(3, prefix);
            s.setString(4, threadId);
            s.setString(5, json);
            s.setInt(6, maxSize);
            s.setLong(7, ttlMillis);
        }, StateStore::readDepth);
    }

    private static int readDepth(ResultSet rs) throws SQLException {
        rs.next();
        return rs.getInt(1);
    }

    /**
     * Removes and returns the oldest live entry of the queue of {@code threadId}; entries other
     * dequeuers are claiming at the same moment are skipped, never waited for.
     */
    public <T> Optional<QueueEntry<T>> dequeue(String threadId, Class<T> type) {
        Check.key("threadId", threadId);
        Checks.notNull("type", type);
        String json = database.query(sql.queueDequeue, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
            s.setString(3, prefix);
            s.setString(4, threadId);
        }, rs -> rs.next() ? rs.getString(1) : null);
        return json == null ? Optional.empty() : Optional.of(decodeEntry(json, type));
    }

    /**
     * Like {@link #dequeue(String, Class)}, but waits up to {@code maxWait} for an entry, woken by a pgkit
     * enqueue's NOTIFY; an entry a Node service enqueues (it sends no NOTIFY) is seen within the
     * {@code Pgkit}'s wait re-check interval.
     *
     * <p>Returns within {@code maxWait} plus one round trip: no try starts after the wait ran out, unless a
     * wake-up came for it. Each try borrows a pooled connection like any call, so if none is free it waits for
     * one, up to the pool's acquire timeout.
     *
     * @throws PgkitException if interrupted while waiting (the interrupt flag is restored)
     */
    public <T> Optional<QueueEntry<T>> dequeue(String threadId, Class<T> type, Duration maxWait) {
        Check.key("threadId", threadId);
        Checks.notNull("type", type);
        Check.wait("maxWait", maxWait);
        long deadline = System.nanoTime() + maxWait.toNanos();
        Optional<QueueEntry<T>> entry = dequeue(threadId, type);
        if (entry.isPresent() || maxWait.isZero()) {
            return entry;
        }
        try (WakeupService.Waiter waiter = wakeups.register(WakeProtocol.Kind.STATE_QUEUE, prefix, threadId)) {
            while (true) {
                waiter.arm();
                entry = dequeue(threadId, type);
                long left = deadline - System.nanoTime();
                if (entry.isPresent() || left <= 0) {
                    return entry;
                }
                if (!await(waiter, left, "queue " + threadId, deadline)) {
                    return Optional.empty();
                }
            }
        }
    }

    /** The number of live entries in the queue of {@code threadId}. */
    public int queueDepth(String threadId) {
        Check.key("threadId", threadId);
        return database.query(sql.queueDepth, threadId, s -> {
            s.setString(1, prefix);
            s.setString(2, threadId);
        }, rs -> {
            rs.next();
            return rs.getInt(1);
        });
    }

    // ---------------------------------------------------------------- internals

    private LockWatchdog watchdog() {
        LockWatchdog current = watchdog;
        if (current == null) {
            synchronized (this) {
                if (watchdog == null) {
                    watchdog = new LockWatchdog(context, sql, prefix);
                }
                current = watchdog;
            }
        }
        return current;
    }

    /**
     * Waits for a wake-up or a re-check; false when the wait ran out at the deadline with no wake-up: then no
     * try follows, since it could only start after the deadline and, with the pool busy, wait up to its acquire
     * timeout for a connection. A wake-up, even one at the deadline, is tried: it may be the one wake-up a
     * NOTIFY hands this process's waiters of the key, which would otherwise be lost until the next re-check.
     */
    private static boolean await(WakeupService.Waiter waiter, long nanos, String what, long deadline) {
        try {
            return waiter.await(nanos) || deadline - System.nanoTime() > 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PgkitException("interrupted while waiting for " + what, e);
        }
    }

    private String encode(String name, Object value) {
        Checks.notNull(name, value);
        return codec.encode(value);
    }

    private <T> T decode(String json, Class<T> type) {
        try {
            return codec.decode(json, type);
        } catch (RuntimeException e) {
            if (type == String.class) {
                return type.cast(json); // the Node adapter returns text that is not JSON as it is
            }
            throw e;
        }
    }

    /** The codec reads only the message: the entry's shape is pgkit's business, not the codec's. */
    private <T> QueueEntry<T> decodeEntry(String json, Class<T> type) {
        StoredQueueEntry stored = StoredQueueEntry.parse(json);
        T message = decode(stored.messageJson(), type);
        return new QueueEntry<>(message, Instant.ofEpochMilli(stored.enqueuedAtMillis()), Instant.ofEpochMilli(stored.expiresAtMillis()));
    }
}
