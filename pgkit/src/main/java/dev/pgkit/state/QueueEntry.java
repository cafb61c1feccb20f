package dev.pgkit.state;

import java.time.Instant;

/**
 * A dequeued entry, as the Chat SDK's {@code QueueEntry}: the message and the server times at which
 * it was enqueued and expires.
 */
public record QueueEntry<T>(T message, Instant enqueuedAt, Instant expiresAt) {
}
