package dev.pgkit.persistence;

import java.util.List;

/**
 * Receives a live query's events, one batch at a time, in order, on the query's own thread. When it returns, the
 * query's {@link LiveQuery#offset()} is the last event's: a projection that stores that offset in the same
 * transaction as its effects resumes exactly. Throwing ends the query ({@link LiveQuery#failure()}).
 */
@FunctionalInterface
public interface EventHandler<E> {
    void onEvents(List<EventEnvelope<E>> batch) throws Exception;
}
