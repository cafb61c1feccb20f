package dev.pgkit.persistence;

import dev.pgkit.LogOffset;
import java.time.Instant;
import java.util.List;

/**
 * One event delivered by a query, with the offset a projection stores to resume after it.
 *
 * @param offset        where this event is in the query's order: pass it to the same query to continue after it
 * @param persistenceId the event's stream
 * @param sequenceNr    its number in the stream
 * @param event         the event, decoded by the codec
 * @param tags          its tags
 * @param timestamp     when it was appended, by the server's clock
 */
public record EventEnvelope<E>(LogOffset offset, String persistenceId, long sequenceNr, E event, List<String> tags, Instant timestamp) {
    public EventEnvelope {
        tags = List.copyOf(tags);
    }
}
