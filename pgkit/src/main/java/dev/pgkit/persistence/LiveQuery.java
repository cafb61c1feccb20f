package dev.pgkit.persistence;

import dev.pgkit.LogOffset;
import dev.pgkit.internal.OrderedLog;
import java.util.Optional;

/**
 * A running live query: it delivers events to its {@link EventHandler} as they commit until closed. Woken by the
 * appending transactions' NOTIFY through the {@code Pgkit}'s one listener connection, and after that connection is
 * lost and re-opened; lost connections while reading are retried.
 */
public final class LiveQuery implements AutoCloseable {
    private final OrderedLog<?>.Live live;

    LiveQuery(OrderedLog<?>.Live live) {
        this.live = live;
    }

    /**
     * The offset of the last event delivered (the start offset before any): resume a query from it. For a query by
     * persistence id its {@link LogOffset#sequence()} is the last sequence number delivered.
     */
    public LogOffset offset() {
        return live.offset();
    }

    /** Whether the query still delivers (neither closed nor failed). */
    public boolean isRunning() {
        return live.isRunning();
    }

    /** Why the query stopped, if its handler threw or an event could not be decoded. */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(live.failure());
    }

    /** Stops the query; waits briefly for a batch being handled to finish. */
    @Override
    public void close() {
        live.close();
    }

    @Override
    public String toString() {
        return live.toString();
    }
}
