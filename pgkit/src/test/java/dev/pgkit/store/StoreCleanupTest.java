package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Housekeeping removes tombstones and synced queue entries past their retention, and nothing else. */
@ExtendWith(PostgresExtension.class)
class StoreCleanupTest {

    @Test
    void oldTombstonesAndOldSyncedEntriesGoLiveRowsAndPendingEntriesStay(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("persist_clean");
        Pgkit pgkit = Db.builder(postgres, TestPostgres.uniqueName("store_clean")).housekeepingInterval(Duration.ofMillis(200)).build();
        try {
            Store store = StoreTestSupport.store(pgkit, "analytics", schema);
            store.records().put("live", 1);
            store.records().put("old-tombstone", 1);
            store.records().delete("old-tombstone");
            store.records().put("new-tombstone", 1);
            store.records().delete("new-tombstone");
            store.kv().set("kv-old", 1);
            store.kv().delete("kv-old");
            String s = "\"" + schema + "\"";
            Db.execute(pgkit, "UPDATE " + s + ".persist_records SET updated_at = now() - interval '31 days' WHERE key IN ('old-tombstone', 'live')");
            Db.execute(pgkit, "UPDATE " + s + ".persist_kv SET updated_at = now() - interval '31 days'");
            Db.execute(pgkit, "UPDATE " + s + ".persist_sync_queue SET status = 'synced', synced_at = now() - interval '31 days' WHERE key = 'old-tombstone'");
            Db.awaitTrue(pgkit, "housekeeping removed the old tombstones and synced entries",
                    "NOT EXISTS (SELECT 1 FROM " + s + ".persist_records WHERE key = 'old-tombstone') AND NOT EXISTS (SELECT 1 FROM " + s
                            + ".persist_kv) AND NOT EXISTS (SELECT 1 FROM " + s + ".persist_sync_queue WHERE key = 'old-tombstone')");
            assertThat(store.records().get("live", Integer.class)).as("an old live record stays").isPresent();
            assertThat(StoreTestSupport.count(pgkit, schema, "persist_records", "key = 'new-tombstone'")).isEqualTo(1);
            assertThat(StoreTestSupport.count(pgkit, schema, "persist_sync_queue", "status = 'pending'")).as("pending entries stay").isEqualTo(5);
        } finally {
            StoreTestSupport.drop(pgkit, schema);
        }
    }

    @Test
    void eachStoreKeepsItsOwnRetentionAndAnOpenWithoutOneKeepsIt(TestPostgres postgres) {
        String schema = TestPostgres.uniqueName("persist_ret");
        Pgkit pgkit = Db.builder(postgres, TestPostgres.uniqueName("store_ret")).housekeepingInterval(Duration.ofMillis(200)).build();
        try {
            Store shortLived = pgkit.store(StoreOptions.named("short").withSchema(schema).withTombstoneRetention(Duration.ofHours(2)));
            Store usual = StoreTestSupport.store(pgkit, "usual", schema); // 30 days
            // opened again without a retention (as `pgkit sync` does): the recorded two hours stay
            StoreTestSupport.store(pgkit, "short", schema);
            for (Store store : new Store[] {shortLived, usual}) {
                store.records().put("gone", 1);
                store.records().delete("gone");
                store.records().put("recent", 1);
                store.records().delete("recent");
            }
            String s = "\"" + schema + "\"";
            Db.execute(pgkit, "UPDATE " + s + ".persist_records SET updated_at = now() - interval '3 hours' WHERE key = 'gone'");
            Db.execute(pgkit, "UPDATE " + s + ".persist_sync_queue SET status = 'synced', synced_at = now() - interval '3 hours'");
            Db.awaitTrue(pgkit, "housekeeping removed the short-lived store's old tombstone and synced entries",
                    "NOT EXISTS (SELECT 1 FROM " + s + ".persist_records WHERE store = 'short' AND key = 'gone') AND NOT EXISTS (SELECT 1 FROM "
                            + s + ".persist_sync_queue WHERE store = 'short')");
            assertThat(StoreTestSupport.count(pgkit, schema, "persist_records", "store = 'short' AND key = 'recent'")).isEqualTo(1);
            assertThat(StoreTestSupport.count(pgkit, schema, "persist_records", "store = 'usual'")).as("30 days for the other store").isEqualTo(2);
            assertThat(StoreTestSupport.count(pgkit, schema, "persist_sync_queue", "store = 'usual'")).isEqualTo(4);
        } finally {
            StoreTestSupport.drop(pgkit, schema);
        }
    }

    @Test
    void aRetentionThatIsSurelyAMistakeIsRejected() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StoreOptions.named("s").withTombstoneRetention(Duration.ofMinutes(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("tombstoneRetention must be between PT1H and PT87600H, was PT5M");
    }
}
