package dev.pgkit.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Short "control" statements run on the listener's connection between polls (the lock watchdog's
 * renewals), so they never queue behind application work in the pool. Work submitted while the
 * connection is down waits for the next one; work whose future is already done (cancelled, timed out)
 * is skipped. Each piece of work must be one short autocommit statement that leaves the session as it
 * found it.
 */
final class ControlQueue {
    private record Task<T>(Database.ConnectionWork<T> work, CompletableFuture<T> result) {
        void run(Connection connection) throws SQLException {
            try {
                result.complete(work.run(connection));
            } catch (SQLException | RuntimeException e) {
                result.completeExceptionally(e);
                throw e;
            }
        }
    }

    private final ConcurrentLinkedQueue<Task<?>> queue = new ConcurrentLinkedQueue<>();
    private volatile RuntimeException closedBy;

    <T> CompletableFuture<T> submit(Database.ConnectionWork<T> work) {
        CompletableFuture<T> result = new CompletableFuture<>();
        queue.add(new Task<>(work, result));
        RuntimeException closed = closedBy;
        if (closed != null) {
            result.completeExceptionally(closed);
        }
        return result;
    }

    /**
     * Listener thread: runs the queued work. A failure that means the connection is gone is rethrown
     * (the listener reconnects); any other failure only fails that work's future.
     */
    void runPending(Connection connection) throws SQLException {
        Task<?> task;
        while ((task = queue.poll()) != null) {
            if (task.result().isDone()) {
                continue;
            }
            try {
                task.run(connection);
            } catch (SQLException e) {
                if (Failures.isConnectionLost(e) || isClosed(connection)) {
                    throw e;
                }
            } catch (RuntimeException ignored) {
                // reported through the work's future
            }
        }
    }

    private static boolean isClosed(Connection connection) {
        try {
            return connection.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    /** Fails all queued work at once. */
    void close(RuntimeException reason) {
        closedBy = reason;
        Task<?> task;
        while ((task = queue.poll()) != null) {
            task.result().completeExceptionally(reason);
        }
    }
}
