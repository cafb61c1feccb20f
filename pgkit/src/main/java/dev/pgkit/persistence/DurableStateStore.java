package dev.pgkit.persistence;

import dev.pgkit.internal.Checks;
import dev.pgkit.internal.Database;
import dev.pgkit.json.JsonCodec;
import java.time.Instant;
import java.util.Optional;

/**
 * Durable state, in actor-ts's {@code durable_state} table: one value per persistence id, written by revision
 * compare-and-set (Pekko's durable state store contract). Obtain it from {@link Persistence#durableState()};
 * thread-safe.
 */
public final class DurableStateStore {
    private final Database database;
    private final JsonCodec codec;
    private final PersistenceSql sql;

    DurableStateStore(Database database, JsonCodec codec, PersistenceSql sql) {
        this.database = database;
        this.codec = codec;
        this.sql = sql;
    }

    /**
     * Stores {@code value} as revision {@code expectedRevision + 1}, if the stored revision is {@code expectedRevision}
     * (0: no state is stored, and this creates it). One statement; of concurrent writers expecting the same revision,
     * exactly one succeeds.
     *
     * @return the new revision
     * @throws DurableStateConcurrencyException if the stored revision is another (it carries it); nothing was written
     * @throws IllegalArgumentException         on an invalid id, a negative revision or a value the codec cannot encode
     * @throws dev.pgkit.OutcomeUnknownException if the connection broke after the upsert was sent: {@link #load} to see
     */
    public long upsert(String persistenceId, long expectedRevision, Object value) {
        Check.persistenceId(persistenceId);
        Checks.notNegative("expectedRevision", expectedRevision);
        if (expectedRevision == Long.MAX_VALUE) {
            throw new IllegalArgumentException("expectedRevision " + expectedRevision + " has no next revision");
        }
        String json = Check.encode(codec, "value", value);
        long[] outcome = database.query(sql.stateUpsert, persistenceId, s -> {
            s.setString(1, persistenceId);
            s.setLong(2, expectedRevision);
            s.setString(3, json);
        }, rs -> {
            rs.next();
            long written = rs.getLong(1);
            boolean wrote = !rs.wasNull();
            long seen = rs.getLong(2);
            return new long[] {wrote ? written : -1, rs.wasNull() ? 0 : seen};
        });
        if (outcome[0] >= 0) {
            return outcome[0];
        }
        long current = outcome[1] != expectedRevision ? outcome[1] : revision(persistenceId); // changed during the statement
        throw new DurableStateConcurrencyException(persistenceId, expectedRevision, current);
    }

    /** The stored state of {@code persistenceId}, if any. */
    public <S> Optional<DurableState<S>> load(String persistenceId, Class<S> type) {
        Check.persistenceId(persistenceId);
        Check.type(type);
        return database.query(sql.stateLoad, persistenceId, s -> s.setString(1, persistenceId), rs -> rs.next()
                ? Optional.of(new DurableState<>(persistenceId, rs.getLong(1), codec.decode(rs.getString(2), type),
                        Instant.ofEpochMilli(rs.getLong(3))))
                : Optional.empty());
    }

    /** The stored revision of {@code persistenceId}; 0 when no state is stored. */
    public long revision(String persistenceId) {
        Check.persistenceId(persistenceId);
        return database.query(sql.stateRevision, persistenceId, s -> s.setString(1, persistenceId), rs -> rs.next() ? rs.getLong(1) : 0L);
    }

    /** Deletes the state of {@code persistenceId} (a later upsert creates it again from revision 0); returns whether there was one. */
    public boolean delete(String persistenceId) {
        Check.persistenceId(persistenceId);
        return database.update(sql.stateDelete, persistenceId, s -> s.setString(1, persistenceId)) > 0;
    }
}
