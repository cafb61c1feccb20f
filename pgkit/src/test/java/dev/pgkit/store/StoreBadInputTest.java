package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.LogOffset;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Bad input gets a clear exception before any SQL runs, and nothing is written. */
@ExtendWith(PostgresExtension.class)
class StoreBadInputTest {
    static Pgkit pgkit;
    static String schema;
    static Store store;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = StoreTestSupport.pgkit(postgres, "store_bad");
        schema = TestPostgres.uniqueName("persist_bad");
        store = StoreTestSupport.store(pgkit, "analytics", schema);
    }

    @AfterAll
    static void tearDown() {
        StoreTestSupport.drop(pgkit, schema);
    }

    static void nothingWritten() {
        for (String table : new String[] {"persist_records", "persist_kv", "persist_events", "persist_sync_queue"}) {
            assertThat(StoreTestSupport.count(pgkit, schema, table, "")).as(table).isZero();
        }
    }

    @Test
    void emptyNullAndControlCharacterKeysAreRefused() {
        assertThatThrownBy(() -> store.records().put("", 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key must not be empty");
        assertThatThrownBy(() -> store.records().put(null, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("key must not be null");
        assertThatThrownBy(() -> store.kv().set("a\u0000b", 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("U+0000");
        assertThatThrownBy(() -> store.events().append("", 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stream");
        assertThatThrownBy(() -> store.records().put("x".repeat(1025), 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1024");
        assertThatThrownBy(() -> store.records().put("bad\uD800", 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("surrogate");
        assertThatThrownBy(() -> store.records().get("", Map.class)).isInstanceOf(IllegalArgumentException.class);
        nothingWritten();
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "   ", "{", "{\"a\":}", "1 2", "null", "undefined", "{'a': 1}", "\"\\u0000\""})
    void nonJsonValuesAreRefused(String json) {
        assertThatThrownBy(() -> store.records().putJson("k", json)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("json");
        assertThatThrownBy(() -> store.kv().setJson("k", json)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.events().appendJson("s", json)).isInstanceOf(IllegalArgumentException.class);
        nothingWritten();
    }

    @Test
    void valuesTheCodecCannotWriteOrNullOrOversizedAreRefused() {
        assertThatThrownBy(() -> store.records().put("k", new Object())).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("JSON");
        assertThatThrownBy(() -> store.records().put("k", null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> store.records().putJson("k", "\"" + "x".repeat(Check.MAX_VALUE_CHARS) + "\""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most");
        assertThatThrownBy(() -> store.records().put("k", 1, -1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expectedVersion");
        assertThatThrownBy(() -> store.records().list("", 0, Map.class)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> store.records().list("", 10_001, Map.class)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.records().list("", 10, Map.class, "%%%")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cursor");
        assertThatThrownBy(() -> store.events().readAfter("s", null, 10, Map.class)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.events().follow("s", LogOffset.START, String.class, null)).isInstanceOf(IllegalArgumentException.class);
        nothingWritten();
    }

    @ParameterizedTest
    @ValueSource(strings = {"persist\"; DROP TABLE x; --", "my-schema", "1persist", "", "a b", "persist.public",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    void hostileSchemaNamesAreRefusedBeforeAnySql(String hostile) {
        assertThatThrownBy(() -> pgkit.store(StoreOptions.named("analytics").withSchema(hostile)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("store schema");
        assertThat(dev.pgkit.test.Db.scalar(pgkit, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%DROP%' OR nspname = 'my-schema'")).isZero();
    }

    @Test
    void badStoreNamesAndSyncPartnersAreRefused() {
        assertThatThrownBy(() -> pgkit.store("")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("store name");
        assertThatThrownBy(() -> pgkit.store("a\nb")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("store name");
        assertThatThrownBy(() -> store.syncWith(store)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("itself");
        Store other = StoreTestSupport.store(pgkit, "billing", schema);
        assertThatThrownBy(() -> store.syncWith(other)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("same store");
        assertThatThrownBy(() -> store.syncWith(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> SyncOptions.defaults().withBatchSize(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batchSize");
        assertThatThrownBy(() -> SyncPolicy.resolver(null)).isInstanceOf(NullPointerException.class);
        nothingWritten();
    }

    @Test
    void anUnreachableRemoteIsAConnectionErrorAndTheLocalQueueStaysPending(TestPostgres postgres) {
        store.records().put("pending", 1);
        try {
            assertThatThrownBy(() -> {
                try (Pgkit unreachable = Pgkit.builder().url("postgres://nobody@127.0.0.1:1/none").connectTimeout(Duration.ofSeconds(1))
                        .acquireTimeout(Duration.ofSeconds(2)).disableHousekeeping().build()) {
                    store.syncWith(unreachable.store(StoreOptions.named("analytics").withSchema(schema)));
                }
            }).isInstanceOf(PgkitConnectionException.class).hasMessageContaining("127.0.0.1:1");
            assertThat(store.queueCounts().pending()).isEqualTo(1);
            assertThat(store.queue(Optional.of(SyncEntry.Status.FAILED), 0, 10)).isEmpty();
        } finally {
            dev.pgkit.test.Db.execute(pgkit, "TRUNCATE \"" + schema + "\".persist_records, \"" + schema + "\".persist_sync_queue");
        }
    }
}
