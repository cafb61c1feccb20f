package dev.pgkit.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Presence gating: a shared advisory lock {@code (classId, hashtext(key))} held on the listener's
 * connection while this process has waiters on that key, so writers NOTIFY only keys someone waits
 * for. The desired presences (holds per key) are kept apart from the set of locks held on the current
 * connection (touched by the listener thread only); {@link #reconcile} takes the missing ones with
 * {@code pg_try_advisory_lock_shared}, never the blocking form, so a writer holding the exclusive
 * lock in an open transaction cannot stall the listener thread (the key is retried on the next loop).
 * A key is never locked twice on one connection nor unlocked when not held, and is unlocked once it
 * has had no hold for the linger time. At most {@code maxHeld} locks are held at once (the server's
 * lock table is shared by every session): beyond that a key gets no presence until a slot frees, and
 * lingering presences give theirs up at once while keys wait for one.
 */
final class PresenceLocks {
    private static final Logger log = LoggerFactory.getLogger(PresenceLocks.class);
    private static final String TRY_LOCK = """
            SELECT t.i, pg_try_advisory_lock_shared(t.c, hashtext(t.k))
            FROM unnest(?::int[], ?::text[]) WITH ORDINALITY AS t(c, k, i)""";
    private static final String UNLOCK = """
            SELECT t.i, pg_advisory_unlock_shared(t.c, hashtext(t.k))
            FROM unnest(?::int[], ?::text[]) WITH ORDINALITY AS t(c, k, i)""";

    record Key(int classId, String name) {
    }

    /**
     * The most presence locks held at once by default. Each takes a slot of the server's shared lock
     * table (about 64 times max_connections slots for every session): unbounded, thousands of keys
     * waited on within the linger would fill it, and every session on the server would fail with
     * "out of shared memory".
     */
    static final int DEFAULT_MAX_HELD = 1_000;

    private final long lingerNanos;
    private final int maxHeld;
    private boolean capReported;
    private final Map<Key, Entry> desired = new ConcurrentHashMap<>();
    /** Locked on the current connection; touched by the listener thread only. */
    private final Set<Key> held = new HashSet<>();
    /** Newly held on this connection, to be announced; listener thread only. */
    private final List<Entry> newlyHeld = new ArrayList<>();
    private volatile int heldCount;
    private volatile RuntimeException closedBy;

    private static final class Entry {
        final Key key;
        final List<Hold> holds = new ArrayList<>();
        long idleSince;
        CompletableFuture<Void> held = new CompletableFuture<>();

        Entry(Key key) {
            this.key = key;
        }
    }

    private final class Hold implements NotificationListener.PresenceHold {
        final Entry entry;
        final Runnable onHeld;

        Hold(Entry entry, Runnable onHeld) {
            this.entry = entry;
            this.onHeld = onHeld;
        }

        @Override
        public CompletableFuture<Void> held() {
            synchronized (entry) {
                return entry.held;
            }
        }

        @Override
        public void close() {
            release(this);
        }
    }

    PresenceLocks(long lingerNanos, int maxHeld) {
        if (maxHeld < 1) {
            throw new IllegalArgumentException("maxHeld must be at least 1, was " + maxHeld);
        }
        this.lingerNanos = lingerNanos;
        this.maxHeld = maxHeld;
    }

    /** Registers a hold; {@code onHeld} runs (on the listener thread: keep it short) each time the lock becomes held. */
    NotificationListener.PresenceHold hold(int classId, String key, Runnable onHeld) {
        Hold[] created = new Hold[1];
        desired.compute(new Key(classId, key), (k, existing) -> {
            Entry entry = existing != null ? existing : new Entry(k);
            synchronized (entry) {
                RuntimeException closed = closedBy;
                if (closed != null) {
                    entry.held.completeExceptionally(closed);
                }
                created[0] = new Hold(entry, onHeld);
                entry.holds.add(created[0]);
            }
            return entry;
        });
        return created[0];
    }

    private void release(Hold hold) {
        Entry entry = hold.entry;
        synchronized (entry) {
            if (entry.holds.remove(hold) && entry.holds.isEmpty()) {
                entry.idleSince = System.nanoTime();
            }
        }
    }

    /**
     * Listener thread: takes the wanted locks not held yet and releases those idle past the linger;
     * {@link #announceHeld()} then publishes the newly held ones.
     *
     * @return whether some wanted lock could not be taken (a writer holds it now): retry soon
     */
    boolean reconcile(Connection connection) throws SQLException {
        long now = System.nanoTime();
        // more keys waited on than free slots: lingering presences (no hold) give up theirs at once
        boolean crowded = unheldWanted() > maxHeld - held.size();
        List<Key> toUnlock = new ArrayList<>();
        for (Key key : desired.keySet()) {
            boolean[] expired = {false};
            desired.computeIfPresent(key, (k, entry) -> {
                synchronized (entry) {
                    expired[0] = entry.holds.isEmpty() && (crowded || now - entry.idleSince > lingerNanos);
                }
                return expired[0] ? null : entry;
            });
            if (expired[0] && held.contains(key)) {
                toUnlock.add(key);
            }
        }
        for (Key key : held) {
            if (!desired.containsKey(key) && !toUnlock.contains(key)) {
                toUnlock.add(key);
            }
        }
        if (!toUnlock.isEmpty()) {
            run(connection, UNLOCK, toUnlock);
            toUnlock.forEach(held::remove);
        }

        List<Entry> wanted = new ArrayList<>();
        for (Entry entry : desired.values()) {
            if (!held.contains(entry.key)) {
                synchronized (entry) {
                    if (!entry.holds.isEmpty()) {
                        wanted.add(entry);
                    }
                }
            }
        }
        int free = Math.max(0, maxHeld - held.size());
        if (wanted.size() > free) {
            if (!capReported) {
                capReported = true;
                log.warn("pgkit holds the maximum of {} presence locks on its listener connection; waiters on further keys get"
                        + " none until one is released, so writers send them no NOTIFY and they see changes within their"
                        + " re-check interval (waitRecheckInterval)", maxHeld);
            }
            wanted = wanted.subList(0, free); // the rest wait for a free slot, without polling faster for it
        }
        boolean pending = false;
        if (!wanted.isEmpty()) {
            boolean[] taken = run(connection, TRY_LOCK, wanted.stream().map(e -> e.key).toList());
            for (int i = 0; i < taken.length; i++) {
                if (taken[i]) {
                    held.add(wanted.get(i).key);
                    newlyHeld.add(wanted.get(i));
                } else {
                    pending = true;
                }
            }
        }
        heldCount = held.size();
        return pending;
    }

    private int unheldWanted() {
        int count = 0;
        for (Entry entry : desired.values()) {
            if (!held.contains(entry.key)) {
                synchronized (entry) {
                    count += entry.holds.isEmpty() ? 0 : 1;
                }
            }
        }
        return count;
    }

    /** Listener thread, after {@link #reconcile}: completes the newly held presences and runs their callbacks. */
    void announceHeld() {
        for (Entry entry : newlyHeld) {
            markHeld(entry);
        }
        newlyHeld.clear();
    }

    private static void markHeld(Entry entry) {
        List<Hold> holds;
        synchronized (entry) {
            if (entry.held.isDone()) {
                return;
            }
            entry.held.complete(null);
            holds = List.copyOf(entry.holds);
        }
        for (Hold hold : holds) {
            try {
                hold.onHeld.run();
            } catch (RuntimeException e) {
                log.error("pgkit presence callback failed", e);
            }
        }
    }

    /** Listener thread: the connection died, and with it every lock it held. */
    void connectionLost() {
        held.clear();
        newlyHeld.clear();
        heldCount = 0;
        for (Entry entry : desired.values()) {
            synchronized (entry) {
                if (entry.held.isDone() && closedBy == null) {
                    entry.held = new CompletableFuture<>();
                }
            }
        }
    }

    /** How many presence locks the current connection holds. */
    int heldCount() {
        return heldCount;
    }

    /** Fails every pending hold at once. */
    void close(RuntimeException reason) {
        closedBy = reason;
        for (Entry entry : desired.values()) {
            synchronized (entry) {
                entry.held.completeExceptionally(reason);
            }
        }
    }

    private static boolean[] run(Connection connection, String sql, List<Key> keys) throws SQLException {
        Integer[] classes = new Integer[keys.size()];
        String[] names = new String[keys.size()];
        for (int i = 0; i < keys.size(); i++) {
            classes[i] = keys.get(i).classId();
            names[i] = keys.get(i).name();
        }
        boolean[] results = new boolean[keys.size()];
        Array classArray = connection.createArrayOf("int4", classes);
        Array nameArray = connection.createArrayOf("text", names);
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setArray(1, classArray);
            statement.setArray(2, nameArray);
            try (ResultSet rs = statement.executeQuery()) {
                while (rs.next()) {
                    results[(int) rs.getLong(1) - 1] = rs.getBoolean(2);
                }
            }
        } finally {
            classArray.free();
            nameArray.free();
        }
        return results;
    }
}
