package dev.pgkit.persistence;

import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Database;
import dev.pgkit.json.JsonCodec;
import java.time.Instant;
import java.util.Optional;

/**
 * The snapshot store, in actor-ts's {@code snapshots} table: one snapshot per persistence id and sequence number,
 * the newest {@link PersistenceOptions#keepN()} kept per persistence id. Shaped like Pekko's snapshot store plugin
 * contract. Obtain it from {@link Persistence#snapshots()}; thread-safe.
 */
public final class SnapshotStore {
    private final Database database;
    private final JsonCodec codec;
    private final PersistenceSql sql;
    private final int keepN;

    SnapshotStore(Database database, JsonCodec codec, PersistenceSql sql, int keepN) {
        this.database = database;
        this.codec = codec;
        this.sql = sql;
        this.keepN = keepN;
    }

    /**
     * Saves a snapshot of {@code persistenceId} taken at {@code sequenceNr}, replacing one saved at the same number, and
     * (with {@code keepN > 0}) deletes the id's snapshots beyond its newest {@code keepN} in the same statement. A
     * snapshot older than the newest {@code keepN} already stored is not kept.
     *
     * @return its metadata, with the save time by the server's clock
     * @throws IllegalArgumentException on an invalid id, a negative number or a value the codec cannot encode
     */
    public SnapshotMetadata save(String persistenceId, long sequenceNr, Object snapshot) {
        Check.persistenceId(persistenceId);
        Checks.notNegative("sequenceNr", sequenceNr);
        String json = Check.encode(codec, "snapshot", snapshot);
        long millis = database.query(sql.snapshotSave, persistenceId, s -> {
            s.setString(1, persistenceId);
            s.setLong(2, sequenceNr);
            s.setString(3, json);
            s.setInt(4, keepN);
        }, rs -> {
            rs.next();
            long saved = rs.getLong(1);
            return rs.wasNull() ? rs.getLong(2) : saved;
        });
        return new SnapshotMetadata(persistenceId, sequenceNr, Instant.ofEpochMilli(millis));
    }

    /** The newest snapshot of {@code persistenceId}, if any. */
    public <S> Optional<SelectedSnapshot<S>> load(String persistenceId, Class<S> type) {
        return load(persistenceId, SnapshotCriteria.latest(), type);
    }

    /** The snapshot with the highest sequence number among those {@code criteria} select. */
    public <S> Optional<SelectedSnapshot<S>> load(String persistenceId, SnapshotCriteria criteria, Class<S> type) {
        Check.persistenceId(persistenceId);
        Checks.notNull("criteria", criteria);
        Check.type(type);
        return database.query(sql.snapshotLoad, persistenceId, s -> {
            s.setString(1, persistenceId);
            bind(s, 2, criteria);
        }, rs -> rs.next()
                ? Optional.of(new SelectedSnapshot<>(new SnapshotMetadata(persistenceId, rs.getLong(1), Instant.ofEpochMilli(rs.getLong(3))),
                        codec.decode(rs.getString(2), type)))
                : Optional.empty());
    }

    /** Deletes the snapshot of {@code persistenceId} at {@code sequenceNr}; returns whether there was one. */
    public boolean delete(String persistenceId, long sequenceNr) {
        Check.persistenceId(persistenceId);
        Checks.notNegative("sequenceNr", sequenceNr);
        return database.update(sql.snapshotDelete, persistenceId, s -> {
            s.setString(1, persistenceId);
            s.setLong(2, sequenceNr);
        }) > 0;
    }

    /** Deletes every snapshot of {@code persistenceId} that {@code criteria} select; returns how many. */
    public int delete(String persistenceId, SnapshotCriteria criteria) {
        Check.persistenceId(persistenceId);
        Checks.notNull("criteria", criteria);
        return database.update(sql.snapshotDeleteMatching, persistenceId, s -> {
            s.setString(1, persistenceId);
            bind(s, 2, criteria);
        });
    }

    private static void bind(java.sql.PreparedStatement s, int first, SnapshotCriteria criteria) throws java.sql.SQLException {
        s.setLong(first, criteria.minSequenceNr());
        s.setLong(first + 1, criteria.maxSequenceNr());
        s.setLong(first + 2, criteria.minMillis());
        s.setLong(first + 3, criteria.maxMillis());
    }
}
