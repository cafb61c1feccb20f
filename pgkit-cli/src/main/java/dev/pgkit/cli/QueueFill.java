package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import java.sql.Connection;
import java.sql.PreparedStatement;

/** Fills a queue in one statement, so that {@code bench state} can measure dequeue alone. */
final class QueueFill {
    /** Entries per worker: enough for a few seconds of the fastest dequeue seen here, split between the workers. */
    static int perWorker(int clients) {
        return Math.max(5_000, 200_000 / clients);
    }

    private QueueFill() {
    }

    /** Inserts {@code count} live entries (a Chat SDK QueueEntry each, expiring in an hour) into one queue. */
    static void fill(Pgkit pgkit, String prefix, String threadId, int count) throws Exception {
        String sql = "INSERT INTO \"" + pgkit.schema() + "\".chat_state_queues (key_prefix, thread_id, value, expires_at)"
                + " SELECT ?, ?, '{\"message\":\"m\",\"enqueuedAt\":' || floor(extract(epoch FROM now()) * 1000)::bigint"
                + " || ',\"expiresAt\":' || floor(extract(epoch FROM now() + interval '1 hour') * 1000)::bigint || '}',"
                + " now() + interval '1 hour' FROM generate_series(1, ?)";
        try (Connection connection = pgkit.dataSource().getConnection(); PreparedStatement insert = connection.prepareStatement(sql)) {
            insert.setString(1, prefix);
            insert.setString(2, threadId);
            insert.setInt(3, count);
            insert.executeUpdate();
        }
    }
}
