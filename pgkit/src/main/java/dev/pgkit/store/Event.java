package dev.pgkit.store;

import dev.pgkit.LogOffset;
import java.time.Instant;

/**
 * An event of a stream.
 *
 * @param id        its id, from the order of appends (a read from an id onward pages by it)
 * @param stream    the stream it was appended to
 * @param payload   its payload
 * @param timestamp when it was appended (server clock)
 * @param offset    its position in commit order, for resuming a live tail after it
 */
public record Event<T>(long id, String stream, T payload, Instant timestamp, LogOffset offset) {
}
