package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The behaviour of each store operation (seed 002, Persist's PostgreSQL adapter). */
@ExtendWith(PostgresExtension.class)
class StoreTest {
    static Pgkit pgkit;
    static String schema;
    static Store store;
    static int counter;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        // far above every wait these tests allow: a tail that delivers in time was woken by NOTIFY, not by a re-check
        pgkit = Db.builder(postgres, TestPostgres.uniqueName("store_behaviour")).waitRecheckInterval(java.time.Duration.ofSeconds(60)).build();
        schema = TestPostgres.uniqueName("persist");
        store = StoreTestSupport.store(pgkit, "analytics", schema);
    }

    @AfterAll
    static void tearDown() {
        StoreTestSupport.drop(pgkit, schema);
    }

    static String key(String hint) {
        return hint + ":" + (++counter);
    }

    static long queued(String key, String operation) {
        return StoreTestSupport.count(pgkit, schema, "persist_sync_queue",
                "store = 'analytics' AND key = '" + key + "' AND operation = '" + operation + "' AND status = 'pending'");
    }

    @Test
    void tablesAreCreatedInTheStoresSchemaWithTheSeedsColumns() {
        for (String table : List.of("persist_records", "persist_events", "persist_kv", "persist_sync_queue")) {
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM information_schema.tables WHERE table_schema = '" + schema
                    + "' AND table_name = '" + table + "'")).as(table).isEqualTo(1);
        }
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM information_schema.columns WHERE table_schema = '" + schema
                + "' AND (table_name, column_name) IN (('persist_records','key'),('persist_records','value'),('persist_records','version'),"
                + "('persist_records','updated_at'),('persist_events','id'),('persist_events','stream'),('persist_events','payload'),"
                + "('persist_events','timestamp'),('persist_kv','key'),('persist_kv','value'),('persist_kv','updated_at'),"
                + "('persist_sync_queue','id'),('persist_sync_queue','operation'),('persist_sync_queue','payload'),('persist_sync_queue','status'))"))
                .isEqualTo(15);
        assertThat(Db.scalar(pgkit, "SELECT version FROM \"" + schema + "\".pgkit_schema_version WHERE component = 'store'")).isEqualTo(1);
        // nothing of the store's in the Pgkit's own schema
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM information_schema.tables WHERE table_schema = '" + pgkit.schema()
                + "' AND table_name LIKE 'persist%'")).isZero();
    }

    @Test
    void defaultSchemaIsPersist() {
        assertThat(StoreOptions.named("x").schema()).isEqualTo("persist");
    }

    @Nested
    class Records {
        @Test
        void putGetBumpsVersionAndQueuesEachChange() {
            String k = key("user");
            assertThat(store.records().get(k, Map.class)).isEmpty();
            assertThat(store.records().put(k, Map.of("name", "Ada"))).isEqualTo(1);
            assertThat(store.records().put(k, Map.of("name", "Ada L."))).isEqualTo(2);
            StoredRecord<Map> read = store.records().get(k, Map.class).orElseThrow();
            assertThat(read.value()).isEqualTo(Map.of("name", "Ada L."));
            assertThat(read.version()).isEqualTo(2);
            assertThat(read.updatedAt()).isNotNull();
            assertThat(queued(k, "put")).isEqualTo(2);
        }

        @Test
        void updatedAtIsTheServersClockAndIncreasesWithEachWrite() {
            String k = key("clock");
            store.records().put(k, 1);
            var first = store.records().get(k, Integer.class).orElseThrow().updatedAt();
            store.records().put(k, 2);
            var second = store.records().get(k, Integer.class).orElseThrow().updatedAt();
            assertThat(second).isAfter(first);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\".persist_records WHERE key = '" + k
                    + "' AND updated_at BETWEEN now() - interval '1 minute' AND clock_timestamp()")).isEqualTo(1);
        }

        @Test
        void conditionalPutSucceedsAtTheExpectedVersionAndFailsWithTheCurrentOne() {
            String k = key("cas");
            assertThat(store.records().put(k, "a", 0)).isEqualTo(1);
            assertThatThrownBy(() -> store.records().put(k, "b", 0))
                    .isInstanceOfSatisfying(VersionConflictException.class, e -> {
                        assertThat(e.currentVersion()).isEqualTo(1);
                        assertThat(e.expectedVersion()).isZero();
                    });
            assertThat(store.records().put(k, "b", 1)).isEqualTo(2);
            assertThatThrownBy(() -> store.records().put(k, "c", 1))
                    .isInstanceOfSatisfying(VersionConflictException.class, e -> assertThat(e.currentVersion()).isEqualTo(2));
            assertThat(store.records().get(k, String.class).orElseThrow().value()).isEqualTo("b");
            assertThat(queued(k, "put")).as("a lost race queues nothing").isEqualTo(2);
            assertThatThrownBy(() -> store.records().put(key("absent"), "x", 3))
                    .isInstanceOfSatisfying(VersionConflictException.class, e -> assertThat(e.currentVersion()).isZero());
        }

        @Test
        void deleteKeepsATombstoneThatReadsAsAbsentAndVersionsGoOn() {
            String k = key("del");
            store.records().put(k, "a");
            assertThat(store.records().delete(k)).isTrue();
            assertThat(store.records().delete(k)).isFalse();
            assertThat(store.records().get(k, String.class)).isEmpty();
            assertThat(store.records().version(k)).isZero();
            assertThat(queued(k, "delete")).isEqualTo(1);
            assertThat(store.records().put(k, "again", 0)).as("a deleted record counts as absent; versions continue").isEqualTo(3);
            assertThatThrownBy(() -> store.records().delete(k, 1)).isInstanceOf(VersionConflictException.class);
            assertThat(store.records().delete(k, 3)).isTrue();
        }

        @Test
        void listByPrefixPagesWithACursorInKeyOrder() {
            String prefix = key("list") + "/";
            List<String> keys = new ArrayList<>();
            for (int i = 0; i < 25; i++) {
                keys.add(prefix + String.format("%02d", i));
                store.records().put(prefix + String.format("%02d", i), i);
            }
            store.records().put(prefix.substring(0, prefix.length() - 1) + "0", "outside"); // '0' sorts after '/'
            store.records().put(prefix + "05x", "deleted");
            store.records().delete(prefix + "05x");
            List<String> seen = new ArrayList<>();
            Page<StoredRecord<Integer>> page = store.records().list(prefix, 10, Integer.class);
            int pages = 1;
            seen.addAll(page.items().stream().map(StoredRecord::key).toList());
            while (page.nextCursor().isPresent()) {
                page = store.records().list(prefix, 10, Integer.class, page.nextCursor().get());
                seen.addAll(page.items().stream().map(StoredRecord::key).toList());
                pages++;
            }
            assertThat(seen).containsExactlyElementsOf(keys);
            assertThat(pages).isEqualTo(3);
            assertThatThrownBy(() -> store.records().list(prefix, 10, Integer.class, "not a cursor!"))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cursor");
        }

        @Test
        void prefixUpperBoundCoversEveryContinuation() {
            assertThat(Rows.upperBound("ab")).isEqualTo("ac");
            assertThat(Rows.upperBound("")).isNull();
            assertThat(Rows.upperBound("a\uD7FF")).isEqualTo("a\uE000");
            assertThat(Rows.upperBound("a" + new String(Character.toChars(0x10FFFF)))).isEqualTo("b");
            String prefix = key("uni") + "é";
            store.records().put(prefix + new String(Character.toChars(0x1F600)), 1);
            store.records().put(prefix + "z", 2);
            assertThat(store.records().list(prefix, 10, Integer.class).items()).hasSize(2);
        }

        @Test
        void containmentFieldValueAndFullTextQueries() {
            String tag = "t" + key("q").replace(":", "");
            store.records().put(tag + ":1", Map.of("tag", tag, "city", "Paris", "bio", "writes compilers in the evening"));
            store.records().put(tag + ":2", Map.of("tag", tag, "city", "Lyon", "bio", "bakes bread at dawn"));
            store.records().put(tag + ":3", Map.of("tag", tag, "city", "Paris", "bio", "paints the evening sky"));
            assertThat(store.records().whereContains(Map.of("tag", tag, "city", "Paris"), 10, Map.class, null).items())
                    .extracting(StoredRecord::key).containsExactly(tag + ":1", tag + ":3");
            Page<StoredRecord<Map>> first = store.records().whereField("tag", tag, 2, Map.class, null);
            assertThat(first.items()).hasSize(2);
            assertThat(store.records().whereField("tag", tag, 2, Map.class, first.nextCursor().orElseThrow()).items())
                    .extracting(StoredRecord::key).containsExactly(tag + ":3");
            assertThat(store.records().search("evening " + tag, 10, Map.class, null).items())
                    .extracting(StoredRecord::key).containsExactly(tag + ":1", tag + ":3");
            assertThat(store.records().search("\"evening sky\" " + tag, 10, Map.class, null).items())
                    .extracting(StoredRecord::key).containsExactly(tag + ":3");
            store.records().delete(tag + ":3");
            assertThat(store.records().search("evening " + tag, 10, Map.class, null).items()).extracting(StoredRecord::key).containsExactly(tag + ":1");
        }

        @Test
        void queriesUseTheIndexesTheMigrationCreates() throws Exception {
            try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement()) {
                s.execute("SET enable_seqscan = off");
                String plan = plan(s, "SELECT key FROM \"" + schema + "\".persist_records WHERE value @> '{\"city\":\"Paris\"}'");
                assertThat(plan).contains("persist_records_value_idx");
                plan = plan(s, "SELECT key FROM \"" + schema + "\".persist_records WHERE "
                        + "jsonb_to_tsvector('simple'::regconfig, value, '[\"string\"]'::jsonb) @@ websearch_to_tsquery('simple', 'evening')");
                assertThat(plan).contains("persist_records_text_idx");
                plan = plan(s, "SELECT key FROM \"" + schema + "\".persist_records WHERE store = 'analytics' AND key >= 'a' AND key < 'b' ORDER BY key");
                assertThat(plan).contains("persist_records_pkey");
            }
        }

        private String plan(Statement s, String sql) throws Exception {
            StringBuilder out = new StringBuilder();
            try (ResultSet rs = s.executeQuery("EXPLAIN " + sql)) {
                while (rs.next()) {
                    out.append(rs.getString(1)).append('\n');
                }
            }
            return out.toString();
        }

        @Test
        void jsonTextIsStoredAsIs() {
            String k = key("json");
            store.records().putJson(k, "{\"a\": [1, 2, {\"b\": null}]}");
            assertThat(store.records().get(k, Map.class).orElseThrow().value()).isEqualTo(Map.of("a", List.of(1, 2, java.util.Collections.singletonMap("b", null))));
        }
    }

    @Nested
    class KeyValues {
        @Test
        void setGetDeleteJsonValuesAndQueueEachChange() {
            String k = key("kv");
            assertThat(store.kv().get(k, String.class)).isEmpty();
            store.kv().set(k, Map.of("theme", "dark"));
            store.kv().set(k, List.of(1, 2, 3));
            assertThat(store.kv().get(k, List.class)).contains(List.of(1, 2, 3));
            assertThat(store.kv().delete(k)).isTrue();
            assertThat(store.kv().delete(k)).isFalse();
            assertThat(store.kv().get(k, List.class)).isEmpty();
            assertThat(StoreTestSupport.count(pgkit, schema, "persist_sync_queue", "kind = 'kv' AND key = '" + k + "'")).isEqualTo(3);
            assertThat(store.records().get(k, Object.class)).as("kv and records are apart").isEmpty();
        }
    }

    @Nested
    class Queue {
        @Test
        void everyChangeHasExactlyOneEntryAndEveryEntryItsChange() {
            String k = key("q");
            store.records().put(k, 1);
            store.records().put(k, 2);
            store.records().delete(k);
            List<SyncEntry> entries = store.queue(Optional.empty(), 0, 10_000).stream().filter(e -> e.key().equals(k)).toList();
            assertThat(entries).extracting(SyncEntry::operation).containsExactly("put", "put", "delete");
            assertThat(entries).allSatisfy(e -> {
                assertThat(e.status()).isEqualTo(SyncEntry.Status.PENDING);
                assertThat(e.kind()).isEqualTo("record");
                assertThat(e.retries()).isZero();
                assertThat(e.error()).isEmpty();
            });
            // each entry's payload names the version it recorded: 1, 2, 3
            assertThat(Db.ints(pgkit, "SELECT (payload->>'version')::int FROM \"" + schema + "\".persist_sync_queue WHERE key = '" + k
                    + "' ORDER BY id")).containsExactly(1, 2, 3);
            QueueCounts counts = store.queueCounts();
            assertThat(counts.pending()).isGreaterThanOrEqualTo(3);
        }

        @Test
        @dev.pgkit.testing.ExpectServerLog("violates check constraint \"no_poison\"")
        void aWriteThatFailsQueuesNothingAndAQueueFailureWritesNothing() {
            String k = key("atomic");
            store.records().put(k, 1);
            // make the queue insert fail for this key: the record write must roll back with it
            Db.admin(TestPostgres.shared(), "ALTER TABLE \"" + schema + "\".persist_sync_queue ADD CONSTRAINT no_poison CHECK (key <> 'poison:" + k + "')");
            try {
                assertThatThrownBy(() -> store.records().put("poison:" + k, 1)).isInstanceOf(dev.pgkit.PgkitException.class);
                assertThat(store.records().get("poison:" + k, Integer.class)).isEmpty();
            } finally {
                Db.admin(TestPostgres.shared(), "ALTER TABLE \"" + schema + "\".persist_sync_queue DROP CONSTRAINT no_poison");
            }
            assertThatThrownBy(() -> store.records().put(k, 2, 7)).isInstanceOf(VersionConflictException.class);
            assertThat(queued(k, "put")).isEqualTo(1);
        }
    }

    @Nested
    class Events {
        @Test
        void appendReturnsIdsAndReadPagesFromAnId() {
            String stream = key("stream");
            List<Long> ids = new ArrayList<>();
            for (int i = 0; i < 7; i++) {
                ids.add(store.events().append(stream, Map.of("n", i)));
            }
            assertThat(ids).isSorted().doesNotHaveDuplicates();
            List<Event<Map>> page1 = store.events().read(stream, 0, 3, Map.class);
            assertThat(page1).extracting(Event::id).containsExactlyElementsOf(ids.subList(0, 3));
            List<Event<Map>> page2 = store.events().read(stream, page1.get(2).id() + 1, 3, Map.class);
            assertThat(page2).extracting(Event::id).containsExactlyElementsOf(ids.subList(3, 6));
            assertThat(store.events().read(stream, ids.get(6), 3, Map.class)).extracting(e -> e.payload().get("n")).containsExactly(6);
            assertThat(page1.get(0).stream()).isEqualTo(stream);
            assertThat(page1.get(0).timestamp()).isNotNull();
        }

        @Test
        void readAfterAnOffsetContinuesWithoutGapsOrRepeats() {
            String stream = key("offsets");
            for (int i = 0; i < 5; i++) {
                store.events().append(stream, i);
            }
            List<Event<Integer>> first = store.events().readAfter(stream, LogOffset.START, 2, Integer.class);
            List<Event<Integer>> rest = store.events().readAfter(stream, first.get(1).offset(), 10, Integer.class);
            assertThat(first).extracting(Event::payload).containsExactly(0, 1);
            assertThat(rest).extracting(Event::payload).containsExactly(2, 3, 4);
        }

        @Test
        void liveTailDeliversEventsAsTheyCommitIncludingOneThatCommitsLate(TestPostgres postgres) throws Exception {
            String stream = key("tail");
            store.events().append(stream, "before");
            List<String> seen = new CopyOnWriteArrayList<>();
            try (EventStreams.Tail tail = store.events().follow(stream, LogOffset.START, String.class,
                    batch -> batch.forEach(e -> seen.add(e.payload())))) {
                awaitSize(seen, 1);
                try (Connection late = Db.server(postgres).admin()) {
                    late.setAutoCommit(false);
                    try (PreparedStatement s = late.prepareStatement("INSERT INTO \"" + schema + "\".persist_events (store, stream, payload) VALUES "
                            + "('analytics', ?, '\"late\"')")) {
                        s.setString(1, stream);
                        s.executeUpdate(); // takes the smaller id, commits after the next append
                    }
                    store.events().append(stream, "after");
                    Thread.sleep(300);
                    assertThat(seen).as("held back behind the open transaction, never skipped").containsExactly("before");
                    late.commit();
                }
                store.events().append(stream, "last");
                awaitSize(seen, 4);
                // offset order is (writing transaction, id): the late event's transaction began first, so it comes first
                assertThat(seen).containsExactly("before", "late", "after", "last");
                assertThat(tail.isRunning()).isTrue();
            }
        }

        /** Appends NOTIFY only while a tail of their store runs (presence gating: no NOTIFY's commit lock otherwise). */
        @Test
        void appendsNotifyOnlyWhileATailOfTheStoreRuns(TestPostgres postgres) throws Exception {
            StoreOptions options = StoreOptions.named("gated").withSchema(schema);
            Store gated = pgkit.store(options);
            String stream = key("gated");
            try (Connection plain = Db.server(postgres).admin(); Statement listen = plain.createStatement()) {
                listen.execute("LISTEN " + EventStreams.channel(options));
                org.postgresql.PGConnection pg = plain.unwrap(org.postgresql.PGConnection.class);
                gated.events().append(stream, "nobody follows");
                assertThat(pg.getNotifications(300)).as("no tail: no NOTIFY").isNullOrEmpty();
                List<String> seen = new CopyOnWriteArrayList<>();
                try (EventStreams.Tail tail = gated.events().follow(stream, LogOffset.START, String.class,
                        batch -> batch.forEach(e -> seen.add(e.payload())))) {
                    awaitSize(seen, 1);
                    Db.awaitTrue(pgkit, "the tail's presence is held", "SELECT count(*) >= " + dev.pgkit.internal.LogPresence.SHARDS
                            + " FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = "
                            + dev.pgkit.internal.WakeProtocol.LOG_PRESENCE_CLASS + " AND objid::bigint IN (SELECT hashtext('"
                            + EventStreams.channel(options) + "' || chr(31) || shard)::bigint & 4294967295 FROM generate_series(0, 15) shard)");
                    gated.events().append(stream, "followed");
                    assertThat(pg.getNotifications(5_000)).as("a tail runs: the NOTIFY").isNotEmpty();
                    awaitSize(seen, 2);
                    assertThat(seen).containsExactly("nobody follows", "followed");
                }
            }
        }

        private void awaitSize(List<String> seen, int size) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (seen.size() < size && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(seen).hasSizeGreaterThanOrEqualTo(size);
        }
    }

    @Nested
    class NamedStores {
        @Test
        void storesWithDifferentNamesInOneSchemaNeverSeeEachOthersData() {
            Store other = StoreTestSupport.store(pgkit, "billing", schema);
            String k = key("shared");
            store.records().put(k, "analytics");
            store.kv().set(k, "analytics");
            store.events().append(k, "analytics");
            assertThat(other.records().get(k, String.class)).isEmpty();
            assertThat(other.kv().get(k, String.class)).isEmpty();
            assertThat(other.events().read(k, 0, 10, String.class)).isEmpty();
            assertThat(other.records().list("", 100, Object.class).items()).isEmpty();
            assertThat(other.queue(Optional.empty(), 0, 100)).isEmpty();
            other.records().put(k, "billing");
            assertThat(store.records().get(k, String.class).orElseThrow().value()).isEqualTo("analytics");
            assertThat(other.replicaId()).isNotEqualTo(store.replicaId());
            assertThat(pgkit.store(StoreOptions.named("analytics").withSchema(schema))).isSameAs(store);
        }
    }
}
