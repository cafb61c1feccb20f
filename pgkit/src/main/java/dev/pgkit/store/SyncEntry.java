package dev.pgkit.store;

import java.time.Instant;
import java.util.Optional;

/**
 * One row of the sync queue: a change to a record or key-value entry, written in the same transaction as
 * the change.
 *
 * @param id        its id
 * @param kind      {@code record} or {@code kv}
 * @param key       the key changed
 * @param operation {@code put} or {@code delete}
 * @param status    pending, synced or failed
 * @param error     the last push error of a failed entry
 * @param retries   how many pushes of it failed
 * @param createdAt when it was queued
 * @param syncedAt  when it was pushed (or, for a change that came from a peer, applied)
 */
public record SyncEntry(long id, String kind, String key, String operation, Status status, Optional<String> error, int retries,
                        Instant createdAt, Optional<Instant> syncedAt) {
    /** Where an entry stands. */
    public enum Status {
        /** Not pushed yet. */
        PENDING,
        /** Pushed, or came from a peer. */
        SYNCED,
        /** Its last push failed; it is pushed again by the next sync. */
        FAILED;

        String sql() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
