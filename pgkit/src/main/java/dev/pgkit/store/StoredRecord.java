package dev.pgkit.store;

import java.time.Instant;

/**
 * A record as read: its key, value, version (bumped by every write, the number a conditional write
 * expects) and the time of its last write by the server that made it.
 */
public record StoredRecord<T>(String key, T value, long version, Instant updatedAt) {
}
