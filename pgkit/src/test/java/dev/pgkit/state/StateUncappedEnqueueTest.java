package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An enqueue without a cap has nothing to trim: it is one statement that neither waits for the key's
 * lock nor windows the queue, and still reports the depth.
 */
@ExtendWith(PostgresExtension.class)
class StateUncappedEnqueueTest {
    @Test
    void anUncappedEnqueueDoesNotWaitForTheKeysLock(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("uncapped");
        try (Pgkit pgkit = Db.pgkit(postgres, schema); Connection holder = Db.server(postgres).admin()) {
            StateStore state = pgkit.state("uncapped");
            for (int i = 0; i < 3; i++) {
                state.enqueue("q", "before" + i, Duration.ofMinutes(5));
            }
            holder.setAutoCommit(false);
            try (var lock = holder.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext('uncapped' || chr(31) || 'q'))")) {
                lock.setInt(1, StateSql.QUEUE_LOCK_CLASS);
                lock.execute();
            }
            int depth = CompletableFuture.supplyAsync(() -> state.enqueue("q", "while locked", Duration.ofMinutes(5)))
                    .get(10, TimeUnit.SECONDS);
            assertThat(depth).isEqualTo(4);
            holder.rollback();
            assertThat(state.dequeue("q", String.class)).map(QueueEntry::message).contains("before0");
            Db.dropAndClose(pgkit);
        }
    }
}
