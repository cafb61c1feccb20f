package dev.pgkit.persistence;

import java.time.Instant;
import java.util.List;

/**
 * One stored event of a stream.
 *
 * @param persistenceId the stream
 * @param sequenceNr    its number in the stream (1, 2, 3, ...)
 * @param event         the event, decoded by the codec
 * @param tags          its tags, in stored order
 * @param timestamp     when it was appended, by the server's clock (millisecond precision)
 */
public record JournalEvent<E>(String persistenceId, long sequenceNr, E event, List<String> tags, Instant timestamp) {
    public JournalEvent {
        tags = List.copyOf(tags);
    }
}
