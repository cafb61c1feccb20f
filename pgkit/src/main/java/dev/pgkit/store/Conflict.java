package dev.pgkit.store;

import java.time.Instant;
import java.util.Optional;

/**
 * A conflict a sync policy could not decide. Both versions are kept: the table holds the one that won
 * deterministically (the later writer, so every replica holds the same), this holds the other, until the
 * application writes the value it wants and {@linkplain Store#dismissConflict dismisses} the conflict.
 *
 * @param id         its id
 * @param kind       {@code record} or {@code kv}
 * @param key        the key
 * @param kept       the JSON of the version kept in the table (empty: a delete)
 * @param other      the JSON of the other version (empty: a delete)
 * @param reason     why the policy could not decide
 * @param detectedAt when a sync met it
 */
public record Conflict(long id, String kind, String key, Optional<String> kept, Optional<String> other, String reason, Instant detectedAt) {
}
