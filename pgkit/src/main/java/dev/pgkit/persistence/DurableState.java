package dev.pgkit.persistence;

import java.time.Instant;

/**
 * A stored durable state.
 *
 * @param persistenceId its id
 * @param revision      its revision (1 after the creating upsert, +1 per update); pass it to the next upsert
 * @param value         the user's value, decoded by the codec
 * @param timestamp     when it was last written, by the server's clock (millisecond precision)
 */
public record DurableState<S>(String persistenceId, long revision, S value, Instant timestamp) {
}
