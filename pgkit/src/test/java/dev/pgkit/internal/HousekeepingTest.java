package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.state.StateStore;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Expired rows are deleted in the background, in batches, and only expired rows. */
@ExtendWith(PostgresExtension.class)
class HousekeepingTest {
    @Test
    void periodicHousekeepingDeletesExpiredRowsInBatches(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("housekeeping");
        Pgkit pgkit = Db.builder(postgres, schema).housekeepingInterval(Duration.ofMillis(300)).build();
        try {
            StateStore state = pgkit.state("hk");
            state.set("keep", 1);
            state.set("keep-ttl", 1, Duration.ofHours(1));
            String cache = "\"" + schema + "\".chat_state_cache";
            int expired = Housekeeper.BATCH * 2 + 17; // more than one batch
            Db.execute(pgkit, "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at)"
                    + " SELECT 'hk', 'old-' || i, '1', now() - interval '1 minute' FROM generate_series(1, " + expired + ") i");
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (Db.scalar(pgkit, "SELECT count(*) FROM " + cache + " WHERE expires_at <= now()") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM " + cache + " WHERE expires_at <= now()")).isZero();
            assertThat(state.get("keep", Integer.class)).contains(1);
            assertThat(state.get("keep-ttl", Integer.class)).contains(1);
        } finally {
            Db.dropAndClose(pgkit);
        }
    }
}
