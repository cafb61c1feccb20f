package dev.pgkit.store;

import dev.pgkit.LogOffset;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.PgkitException;
import dev.pgkit.PgkitTimeoutException;
import dev.pgkit.internal.OrderedLog;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * One sync round between a local and a remote store: push, then pull. What moves is the current state of each
 * key a change entry names (as CouchDB replicates a document's latest revision), so re-sending is harmless.
 *
 * <ul>
 *   <li>Push: the local unsynced queue entries in id order, a batch at a time; each batch is applied on the remote
 *       in one transaction (with the remote's record of the push), then marked synced locally. A loss between the
 *       two leaves them unsynced, and the next round sends them again, which changes nothing on the remote.
 *   <li>Pull: the remote's change feed (its queue, read in commit-safe {@code (tx, id)} order by the ordered-log
 *       reader) after the checkpoint; each batch is applied locally in one transaction together with the new
 *       checkpoint, which is then copied to the remote. The round starts from the lower of the two copies.
 * </ul>
 */
final class SyncRound {
    private static final String PUSHED_BY = "pushed_by";
    private static final String PULLED = "pulled";
    private static final String PULLED_BY = "pulled_by";

    /** Where a test makes a round crash: called at each step with the step's name; does nothing outside tests. */
    interface FaultPoint {
        void reached(String step);
    }

    static volatile FaultPoint faults = step -> { };

    private final Store local;
    private final Store remote;
    private final SyncOptions options;
    private final Merge merge;
    private long pushed;
    private long pulled;
    private long writtenRemote;
    private long writtenLocal;
    private long conflicts;

    SyncRound(Store local, Store remote, SyncOptions options) {
        this.local = local;
        this.remote = remote;
        this.options = options;
        this.merge = options.policy().merge();
    }

    SyncReport run() {
        long start = System.nanoTime();
        push();
        pull();
        return new SyncReport(pushed, pulled, writtenRemote, writtenLocal, conflicts, java.time.Duration.ofNanos(System.nanoTime() - start));
    }

    // ---------------------------------------------------------------- push

    private record Queued(long id, String kind, String key, RowState state) {
    }

    /**
     * Pushes the unsynced entries a batch at a time, pipelined: while the remote applies batch N, a second thread
     * (living only for the round) marks batch N-1 synced on the local side (its apply has committed) and reads batch
     * N+1, in one statement. A batch is marked only after its apply committed, so a crash anywhere leaves at most
     * the applied-but-unmarked batches unsynced, and pushing them again changes nothing on the remote.
     */
    private void push() {
        ExecutorService ahead = Executors.newSingleThreadExecutor(runnable -> {
            Thread thread = new Thread(runnable, "pgkit-store-sync-push");
            thread.setDaemon(true);
            return thread;
        });
        try {
            long after = 0;
            Long[] applied = null; // the ids of the last batch the remote applied, not yet marked synced
            List<Queued> batch = readAndMark(after, null);
            while (true) {
                if (batch.isEmpty()) {
                    if (applied == null) {
                        return;
                    }
                    batch = readAndMark(after, applied);
                    applied = null;
                    continue;
                }
                faults.reached("push.read");
                after = batch.get(batch.size() - 1).id();
                Long[] ids = batch.stream().map(Queued::id).toArray(Long[]::new);
                long from = after;
                Long[] toMark = applied;
                Future<List<Queued>> next = ahead.submit(() -> readAndMark(from, toMark));
                try {
                    Applied result = applyPushed(batch, ids, after);
                    faults.reached("push.applied");
                    pushed += batch.size();
                    writtenRemote += result.written();
                    conflicts += result.conflicts();
                    options.progress().accept(new SyncProgress("push", pushed, writtenRemote));
                } catch (RuntimeException e) {
                    awaitQuietly(next, e); // no statement of this round outlives it
                    throw e;
                }
                batch = await(next);
                applied = ids;
            }
        } finally {
            ahead.shutdown();
            // an interrupted round still waits for its read ahead, so that no statement of the round outlives it
            boolean interrupted = Thread.interrupted();
            while (true) {
                try {
                    ahead.awaitTermination(1, TimeUnit.MINUTES);
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Marks {@code synced} (null: none) as synced and reads the next batch after id {@code after}, in one statement. */
    private List<Queued> readAndMark(long after, Long[] synced) {
        return local.database().query(local.sql().pushBatch, local.name(), s -> {
            s.setString(1, local.name());
            s.setArray(2, synced == null ? null : s.getConnection().createArrayOf("bigint", synced));
            s.setString(3, local.name());
            s.setLong(4, after);
            s.setInt(5, options.batchSize());
        }, rs -> {
            List<Queued> out = new ArrayList<>();
            while (rs.next()) {
                String key = rs.getString(3);
                out.add(new Queued(rs.getLong(1), rs.getString(2), key, RowState.read(key, rs, 4)));
            }
            return out;
        });
    }

    /** Applies one batch on the remote; a batch the remote refuses is marked failed with the error. */
    private Applied applyPushed(List<Queued> batch, Long[] ids, long after) {
        Map<String, Map<String, RowState>> states = new TreeMap<>();
        for (Queued q : batch) {
            if (q.state() != null) { // a row cleanup removed: nothing left to send
                states.computeIfAbsent(q.kind(), k -> new LinkedHashMap<>()).put(q.key(), q.state());
            }
        }
        try {
            return apply(remote, states, local.replicaId(), true, PUSHED_BY, local.replicaId(), String.valueOf(after));
        } catch (PgkitConnectionException | PgkitTimeoutException e) {
            throw e; // the remote is unreachable or the outcome unknown: the entries stay as they are for the next round
        } catch (PgkitException | IllegalArgumentException | IllegalStateException e) {
            String error = e.getMessage() == null ? e.toString() : e.getMessage();
            local.database().update(local.sql().pushMarkFailed, local.name(), s -> {
                s.setString(1, error.length() > 2000 ? error.substring(0, 2000) : error);
                s.setString(2, local.name());
                s.setArray(3, s.getConnection().createArrayOf("bigint", ids));
            });
            throw e;
        }
    }

    private static <T> T await(Future<T> future) {
        try {
            return future.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PgkitException("sync interrupted while reading the next batch to push", e);
        }
    }

    /** Waits for the read ahead; its failure is added to {@code failure}'s. */
    private static void awaitQuietly(Future<?> future, RuntimeException failure) {
        try {
            await(future);
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    // ---------------------------------------------------------------- pull

    private void pull() {
        LogOffset position = min(checkpoint(local, PULLED, remote.replicaId()), checkpoint(remote, PULLED_BY, local.replicaId()));
        LogOffset stored = position; // the checkpoint both sides hold
        while (true) {
            List<OrderedLog.Entry<Store.FeedItem>> batch = remote.feed().read(position, options.batchSize(), s -> s.setString(1, remote.name()));
            if (batch.isEmpty()) {
                break;
            }
            faults.reached("pull.read");
            position = batch.get(batch.size() - 1).offset();
            Map<String, java.util.Set<String>> changed = new TreeMap<>();
            int fromPeer = 0;
            for (OrderedLog.Entry<Store.FeedItem> entry : batch) {
                Store.FeedItem item = entry.value();
                if (item.source().equals(local.replicaId())) {
                    continue; // a change this store pushed: the checkpoint moves past it
                }
                fromPeer++;
                changed.computeIfAbsent(item.kind(), k -> new java.util.LinkedHashSet<>()).add(item.key());
            }
            if (fromPeer == 0) {
                continue; // only changes this store pushed: the checkpoint moves with the next batch applied, or at the end
            }
            // the current state of what changed (read after the feed: at least as new as each entry)
            Map<String, Map<String, RowState>> states = new TreeMap<>();
            changed.forEach((kind, keys) -> states.put(kind, remote.states(kind, keys)));
            Applied applied = apply(local, states, remote.replicaId(), false, PULLED, remote.replicaId(), position.toString());
            faults.reached("pull.applied");
            writeCheckpoint(remote, PULLED_BY, local.replicaId(), position.toString());
            stored = position;
            pulled += fromPeer;
            writtenLocal += applied.written();
            conflicts += applied.conflicts();
            options.progress().accept(new SyncProgress("pull", pulled, writtenLocal));
        }
        if (!position.equals(stored)) {
            // a crash before these only makes the next round read those entries again
            writeCheckpoint(local, PULLED, remote.replicaId(), position.toString());
            faults.reached("pull.checkpoint");
            writeCheckpoint(remote, PULLED_BY, local.replicaId(), position.toString());
            options.progress().accept(new SyncProgress("pull", pulled, writtenLocal));
        }
    }

    private static LogOffset checkpoint(Store store, String direction, String peer) {
        return store.database().query(store.sql().checkpointRead, store.name(), s -> {
            s.setString(1, store.name());
            s.setString(2, peer);
            s.setString(3, direction);
        }, rs -> rs.next() ? LogOffset.parse(rs.getString(1)) : LogOffset.START);
    }

    private static void writeCheckpoint(Store store, String direction, String peer, String position) {
        store.database().update(store.sql().checkpointWrite, store.name(), s -> bindCheckpoint(s, store, direction, peer, position));
    }

    private static void bindCheckpoint(PreparedStatement s, Store store, String direction, String peer, String position) throws SQLException {
        s.setString(1, store.name());
        s.setString(2, peer);
        s.setString(3, direction);
        s.setString(4, position);
    }

    private static LogOffset min(LogOffset a, LogOffset b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    // ---------------------------------------------------------------- applying a batch

    private record Applied(int written, int conflicts) {
    }

    private record Write(RowState state, boolean existed, String status, String source) {
    }

    /**
     * Applies incoming states to {@code target} in one transaction with its checkpoint row: locks the rows, resolves
     * each key by the policy, writes what changed (queueing each write, as synced when it is the incoming version,
     * as the target's own change when the policy made a new version), keeps undecided conflicts.
     */
    private Applied apply(Store target, Map<String, Map<String, RowState>> states, String peer, boolean pushSide,
                          String direction, String checkpointPeer, String position) {
        StoreSql sql = target.sql();
        return target.database().inTransaction("store.sync.apply(" + target.name() + ")", connection -> {
            int written = 0;
            int kept = 0;
            for (Map.Entry<String, Map<String, RowState>> byKind : states.entrySet()) {
                String kind = byKind.getKey();
                StoreSql.Table table = "record".equals(kind) ? sql.records : sql.kv;
                Map<String, RowState> existing = lock(connection, table, target.name(), byKind.getValue().keySet());
                List<Write> writes = new ArrayList<>();
                List<Merge.Kept> conflictsFound = new ArrayList<>();
                List<String> conflictKeys = new ArrayList<>();
                for (RowState incoming : byKind.getValue().values()) {
                    RowState current = existing.get(incoming.key());
                    Merge.Outcome outcome = merge.resolve(kind, current, incoming);
                    if (outcome.write() != null) {
                        boolean asReceived = outcome.write() == incoming;
                        writes.add(new Write(outcome.write(), current != null, asReceived || pushSide ? "synced" : "pending",
                                asReceived ? peer : target.replicaId()));
                    }
                    if (outcome.conflict() != null) {
                        conflictsFound.add(outcome.conflict());
                        conflictKeys.add(incoming.key());
                    }
                }
                if (!writes.isEmpty()) {
                    int count = write(connection, table, target.name(), writes);
                    if (count != writes.size()) {
                        // a key absent when locked was inserted by a concurrent writer: roll back and run the batch again
                        throw new SQLException("a key of the batch was inserted concurrently", "40001");
                    }
                    written += count;
                }
                if (!conflictsFound.isEmpty()) {
                    keep(connection, sql, target.name(), kind, conflictKeys, conflictsFound);
                    kept += conflictsFound.size();
                }
            }
            faults.reached(pushSide ? "push.apply" : "pull.apply"); // inside the transaction: a crash rolls it back
            try (PreparedStatement s = connection.prepareStatement(sql.checkpointWrite.text())) {
                bindCheckpoint(s, target, direction, checkpointPeer, position);
                s.executeUpdate();
            }
            return new Applied(written, kept);
        });
    }

    private static Map<String, RowState> lock(Connection connection, StoreSql.Table table, String store, java.util.Set<String> keys)
            throws SQLException {
        Map<String, RowState> existing = new HashMap<>();
        try (PreparedStatement s = connection.prepareStatement(table.lockStates.text())) {
            s.setString(1, store);
            s.setArray(2, connection.createArrayOf("text", keys.stream().sorted().toArray()));
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    String key = rs.getString(1);
                    existing.put(key, RowState.read(key, rs, 2));
                }
            }
        }
        return existing;
    }

    private static int write(Connection connection, StoreSql.Table table, String store, List<Write> writes) throws SQLException {
        int n = writes.size();
        String[] keys = new String[n];
        String[] values = new String[n];
        Boolean[] deleted = new Boolean[n];
        Long[] micros = new Long[n];
        String[] origins = new String[n];
        String[] parents = new String[n];
        String[] fieldStamps = new String[n];
        Boolean[] existed = new Boolean[n];
        String[] status = new String[n];
        String[] source = new String[n];
        for (int i = 0; i < n; i++) {
            Write w = writes.get(i);
            RowState st = w.state();
            keys[i] = st.key();
            values[i] = st.value();
            deleted[i] = st.deleted();
            micros[i] = st.stamp().micros();
            origins[i] = st.stamp().origin();
            parents[i] = st.parentsLiteral();
            fieldStamps[i] = st.fieldStamps();
            existed[i] = w.existed();
            status[i] = w.status();
            source[i] = w.source();
        }
        try (PreparedStatement s = connection.prepareStatement(table.applyStates.text())) {
            s.setArray(1, connection.createArrayOf("text", keys));
            s.setArray(2, connection.createArrayOf("text", values));
            s.setArray(3, connection.createArrayOf("boolean", deleted));
            s.setArray(4, connection.createArrayOf("bigint", micros));
            s.setArray(5, connection.createArrayOf("text", origins));
            s.setArray(6, connection.createArrayOf("text", parents));
            s.setArray(7, connection.createArrayOf("text", fieldStamps));
            s.setArray(8, connection.createArrayOf("boolean", existed));
            s.setArray(9, connection.createArrayOf("text", status));
            s.setArray(10, connection.createArrayOf("text", source));
            s.setString(11, store);
            s.setString(12, store);
            s.setString(13, store);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static void keep(Connection connection, StoreSql sql, String store, String kind, List<String> keys, List<Merge.Kept> kept)
            throws SQLException {
        try (PreparedStatement s = connection.prepareStatement(sql.conflictInsert.text())) {
            s.setString(1, store);
            s.setString(2, kind);
            s.setArray(3, connection.createArrayOf("text", keys.toArray()));
            s.setArray(4, connection.createArrayOf("text", kept.stream().map(Merge.Kept::kept).toArray()));
            s.setArray(5, connection.createArrayOf("text", kept.stream().map(Merge.Kept::other).toArray()));
            s.setArray(6, connection.createArrayOf("text", kept.stream().map(Merge.Kept::otherStamp).toArray()));
            s.setArray(7, connection.createArrayOf("text", kept.stream().map(Merge.Kept::reason).toArray()));
            s.executeUpdate();
        }
    }
}
