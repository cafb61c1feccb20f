package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bidirectional sync between the same store in two schemas, through two Pgkit instances. */
@ExtendWith(PostgresExtension.class)
class StoreSyncTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** The randomised tests' seed: fixed, printed, overridable with -Dstore.sync.seed=N to replay a run. */
    static final long SEED = Long.getLong("store.sync.seed", 20261123L);

    Pgkit pgkitA;
    Pgkit pgkitB;
    String schemaA;
    String schemaB;
    Store a;
    Store b;

    @BeforeEach
    void setUp(TestPostgres postgres) {
        pgkitA = StoreTestSupport.pgkit(postgres, "sync_a");
        pgkitB = StoreTestSupport.pgkit(postgres, "sync_b");
        schemaA = TestPostgres.uniqueName("persist_a");
        schemaB = TestPostgres.uniqueName("persist_b");
        a = StoreTestSupport.store(pgkitA, "analytics", schemaA);
        b = StoreTestSupport.store(pgkitB, "analytics", schemaB);
    }

    @AfterEach
    void tearDown() {
        StoreTestSupport.drop(pgkitA, schemaA);
        StoreTestSupport.drop(pgkitB, schemaB);
    }

    @Test
    void aStoreThatPushedToOnePeerReachesAnotherThroughThatPeersPull(TestPostgres postgres) {
        // a queue entry's status is the store's push, to one upstream: a second peer gets the change by pulling
        String schemaC = TestPostgres.uniqueName("persist_c");
        Pgkit pgkitC = StoreTestSupport.pgkit(postgres, "sync_c");
        try {
            Store c = StoreTestSupport.store(pgkitC, "analytics", schemaC);
            a.records().put("user:1", Map.of("name", "Ada"));
            assertThat(a.syncWith(b).pushed()).isEqualTo(1);
            assertThat(a.queueCounts().pending()).isZero();
            SyncReport pulled = c.syncWith(a);
            assertThat(pulled.pulled()).isEqualTo(1);
            assertThat(c.records().get("user:1", Map.class).orElseThrow().value()).isEqualTo(Map.of("name", "Ada"));
            assertThat(c.syncWith(a).changedNothing()).as("the checkpoint is c's own").isTrue();
            assertThat(c.syncWith(b).changedNothing()).as("b's copy is the same version").isTrue();
        } finally {
            StoreTestSupport.drop(pgkitC, schemaC);
        }
    }

    @Test
    void changesFlowBothWaysAndARepeatedRoundChangesNothing() {
        a.records().put("user:1", Map.of("name", "Ada"));
        a.kv().set("theme", "dark");
        b.records().put("user:2", Map.of("name", "Bob"));
        SyncReport first = a.syncWith(b);
        assertThat(first.pushed()).isEqualTo(2);
        assertThat(first.writtenRemote()).isEqualTo(2);
        assertThat(first.writtenLocal()).isEqualTo(1);
        assertThat(b.records().get("user:1", Map.class).orElseThrow().value()).isEqualTo(Map.of("name", "Ada"));
        assertThat(b.kv().get("theme", String.class)).contains("dark");
        assertThat(a.records().get("user:2", Map.class).orElseThrow().value()).isEqualTo(Map.of("name", "Bob"));
        assertThat(a.syncWith(b).changedNothing()).isTrue();
        assertThat(b.syncWith(a).changedNothing()).as("from the other side too").isTrue();

        b.records().put("user:1", Map.of("name", "Ada Lovelace"));
        a.records().delete("user:2");
        a.kv().delete("theme");
        a.syncWith(b);
        assertThat(a.records().get("user:1", Map.class).orElseThrow().value()).isEqualTo(Map.of("name", "Ada Lovelace"));
        assertThat(b.records().get("user:2", Map.class)).isEmpty();
        assertThat(b.kv().get("theme", String.class)).isEmpty();
        assertThat(a.queueCounts().pending()).isZero();
        assertThat(a.queueCounts().failed()).isZero();
        // the write's stamp (its server's time) travels with it
        assertThat(b.records().get("user:1", Map.class).orElseThrow().updatedAt())
                .isEqualTo(a.records().get("user:1", Map.class).orElseThrow().updatedAt());
        // checkpoints on both sides
        assertThat(StoreTestSupport.count(pgkitA, schemaA, "persist_sync_checkpoints", "direction = 'pulled' AND peer = '" + b.replicaId() + "'")).isEqualTo(1);
        assertThat(StoreTestSupport.count(pgkitB, schemaB, "persist_sync_checkpoints", "direction = 'pulled_by' AND peer = '" + a.replicaId() + "'")).isEqualTo(1);
        assertThat(StoreTestSupport.count(pgkitB, schemaB, "persist_sync_checkpoints", "direction = 'pushed_by' AND peer = '" + a.replicaId() + "'")).isEqualTo(1);
    }

    @Test
    void lastWriterWinsByTheWritingServersStampWithADeterministicTieBreak() {
        a.records().put("k", "from a");
        b.records().put("k", "from b"); // later: wins on both sides
        a.syncWith(b);
        assertThat(a.records().get("k", String.class).orElseThrow().value()).isEqualTo("from b");
        assertThat(b.records().get("k", String.class).orElseThrow().value()).isEqualTo("from b");
        // equal times: the larger replica id wins, whichever side starts the sync
        String winner = a.replicaId().compareTo(b.replicaId()) > 0 ? "a" : "b";
        for (String key : List.of("tie-pushed-by-b", "tie-pushed-by-a")) {
            a.records().put(key, "a");
            b.records().put(key, "b");
            Db.execute(pgkitA, "UPDATE \"" + schemaA + "\".persist_records SET updated_at = '2030-01-01T00:00:00Z' WHERE key = '" + key + "'");
            Db.execute(pgkitB, "UPDATE \"" + schemaB + "\".persist_records SET updated_at = '2030-01-01T00:00:00Z' WHERE key = '" + key + "'");
            if (key.endsWith("b")) {
                b.syncWith(a);
            } else {
                a.syncWith(b);
            }
            assertThat(a.records().get(key, String.class).orElseThrow().value()).as(key).isEqualTo(winner);
            assertThat(b.records().get(key, String.class).orElseThrow().value()).as(key).isEqualTo(winner);
        }
    }

    @Test
    void fieldMergeKeepsConcurrentChangesToDifferentFields() {
        SyncOptions merge = SyncOptions.defaults().withPolicy(SyncPolicy.fieldMerge());
        a.records().put("doc", Map.of("title", "t0", "body", "b0", "tags", List.of("x")));
        a.syncWith(b, merge);
        a.records().put("doc", Map.of("title", "t1", "body", "b0", "tags", List.of("x")));   // a changes the title
        b.records().put("doc", Map.of("title", "t0", "body", "b1"));                          // b changes the body, removes tags
        a.syncWith(b, merge);
        a.syncWith(b, merge);
        Map<?, ?> expected = Map.of("title", "t1", "body", "b1");
        assertThat(a.records().get("doc", Map.class).orElseThrow().value()).isEqualTo(expected);
        assertThat(b.records().get("doc", Map.class).orElseThrow().value()).isEqualTo(expected);
        assertThat(a.syncWith(b, merge).changedNothing()).isTrue();
    }

    @Test
    void aResolverDecidesConcurrentVersionsAndWhatItCannotDecideIsKeptAndVisible() {
        SyncOptions resolving = SyncOptions.defaults().withPolicy(SyncPolicy.resolver((kind, key, older, newer) ->
                key.startsWith("sum") ? Optional.of(String.valueOf(Integer.parseInt(older.json().orElse("0")) + Integer.parseInt(newer.json().orElse("0"))))
                        : Optional.empty()));
        a.records().put("sum", 0);
        a.records().put("undecided", "base");
        a.syncWith(b, resolving);
        a.records().put("sum", 2);
        b.records().put("sum", 3);
        a.records().put("undecided", "mine");
        b.records().put("undecided", "theirs"); // later: kept in the table
        a.records().put("fast-forward", 1);
        a.syncWith(b, resolving);
        a.records().put("fast-forward", 2); // replaces its own version: no conflict, no resolver
        a.syncWith(b, resolving);
        assertThat(a.records().get("sum", Integer.class).orElseThrow().value()).isEqualTo(5);
        assertThat(b.records().get("sum", Integer.class).orElseThrow().value()).isEqualTo(5);
        assertThat(a.records().get("undecided", String.class).orElseThrow().value()).isEqualTo("theirs");
        assertThat(b.records().get("undecided", String.class).orElseThrow().value()).isEqualTo("theirs");
        assertThat(b.records().get("fast-forward", Integer.class).orElseThrow().value()).isEqualTo(2);
        List<Conflict> kept = new ArrayList<>(a.conflicts(0, 100));
        kept.addAll(b.conflicts(0, 100));
        assertThat(kept).isNotEmpty().allSatisfy(c -> {
            assertThat(c.key()).isEqualTo("undecided");
            assertThat(c.kept()).contains("\"theirs\"");
            assertThat(c.other()).contains("\"mine\"");
        });
        // a push repeated after its confirmation was lost (entries still pending) meets a version that replaced it: no resolver call
        a.records().put("sum-again", 1);
        a.syncWith(b, resolving);
        Db.execute(pgkitA, "UPDATE \"" + schemaA + "\".persist_sync_queue SET status = 'pending' WHERE key = 'sum-again'");
        b.records().put("sum-again", 10);
        a.syncWith(b, resolving);
        assertThat(b.records().get("sum-again", Integer.class).orElseThrow().value()).isEqualTo(10);
        assertThat(a.records().get("sum-again", Integer.class).orElseThrow().value()).isEqualTo(10);
        Conflict first = kept.get(0);
        Store owner = a.conflicts(0, 100).isEmpty() ? b : a;
        assertThat(owner.dismissConflict(first.id())).isTrue();
    }

    @Test
    void randomisedConcurrentEditsConvergeUnderLastWriterWins() throws Exception {
        converge(SyncOptions.defaults(), SEED);
    }

    @Test
    void randomisedConcurrentEditsConvergeUnderFieldMerge() throws Exception {
        converge(SyncOptions.defaults().withPolicy(SyncPolicy.fieldMerge()), SEED + 1);
    }

    @Test
    void randomisedConcurrentEditsConvergeUnderAResolver() throws Exception {
        // deterministic and symmetric: objects are unioned field by field (the newer's field wins), anything else undecided
        ConflictResolver union = (kind, key, older, newer) -> {
            if (older.json().isEmpty() || newer.json().isEmpty()) {
                return Optional.empty();
            }
            try {
                JsonNode o = JSON.readTree(older.json().get());
                JsonNode n = JSON.readTree(newer.json().get());
                if (!o.isObject() || !n.isObject()) {
                    return Optional.empty();
                }
                ObjectNode merged = ((ObjectNode) o).deepCopy();
                merged.setAll((ObjectNode) n);
                return Optional.of(merged.toString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        converge(SyncOptions.defaults().withPolicy(SyncPolicy.resolver(union)), SEED + 2);
    }

    /**
     * Two writers per side edit 24 records and 8 kv entries at random (objects with random fields, scalars,
     * deletes) while syncs run in both directions; afterwards syncs repeat until a round in each direction changes
     * nothing, and both stores must hold the same values.
     */
    private void converge(SyncOptions options, long seed) throws Exception {
        System.out.println("StoreSyncTest seed=" + seed + " policy=" + options.policy() + " (replay: -Dstore.sync.seed=" + SEED + ")");
        SyncOptions small = options.withBatchSize(7); // many batches per round
        AtomicBoolean writing = new AtomicBoolean(true);
        ExecutorService pool = Executors.newFixedThreadPool(5);
        try {
            List<Future<?>> writers = new ArrayList<>();
            for (int w = 0; w < 4; w++) {
                Store side = w % 2 == 0 ? a : b;
                Random random = new Random(seed * 31 + w);
                writers.add(pool.submit(() -> {
                    for (int op = 0; op < 120; op++) {
                        edit(side, random);
                    }
                    return null;
                }));
            }
            Random syncRandom = new Random(seed);
            Future<Integer> syncer = pool.submit(() -> {
                int rounds = 0;
                while (writing.get()) {
                    if (syncRandom.nextBoolean()) {
                        a.syncWith(b, small);
                    } else {
                        b.syncWith(a, small);
                    }
                    rounds++;
                }
                return rounds;
            });
            for (Future<?> writer : writers) {
                writer.get(120, TimeUnit.SECONDS);
            }
            writing.set(false);
            assertThat(syncer.get(120, TimeUnit.SECONDS)).isPositive();
        } finally {
            pool.shutdownNow();
        }
        int rounds = 0;
        boolean quiet = false;
        while (!quiet && rounds < 20) {
            quiet = a.syncWith(b, small).changedNothing() & b.syncWith(a, small).changedNothing();
            rounds++;
        }
        assertThat(quiet).as("no round changes anything after %d rounds (seed %d)", rounds, seed).isTrue();
        assertThat(contents(pgkitA, schemaA)).as("seed %d", seed).isEqualTo(contents(pgkitB, schemaB));
        assertThat(a.queueCounts().pending() + a.queueCounts().failed()).isZero();
        if (options.policy().toString().equals("last-writer-wins")) {
            // the version kept is the last write made anywhere (by its server's stamp)
            Map<String, Stamp> last = new TreeMap<>();
            for (Map.Entry<String, Stamp> write : writeStamps(pgkitA, schemaA).entrySet()) {
                last.merge(write.getKey(), write.getValue(), Stamp::max);
            }
            for (Map.Entry<String, Stamp> write : writeStamps(pgkitB, schemaB).entrySet()) {
                last.merge(write.getKey(), write.getValue(), Stamp::max);
            }
            assertThat(rowStamps(pgkitA, schemaA)).as("seed %d", seed).isEqualTo(last);
            assertThat(rowStamps(pgkitB, schemaB)).as("seed %d", seed).isEqualTo(last);
        }
    }

    /** The newest stamp of the writes made on this side (queue entries of local writes record theirs), per kind/key. */
    private static Map<String, Stamp> writeStamps(Pgkit pgkit, String schema) throws Exception {
        Map<String, Stamp> out = new TreeMap<>();
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT kind, key, payload->>'stamp' FROM \"" + schema + "\".persist_sync_queue q WHERE source = "
                     + "(SELECT replica_id FROM \"" + schema + "\".persist_sync_replicas WHERE store = q.store)")) {
            while (rs.next()) {
                out.merge(rs.getString(1) + "/" + rs.getString(2), Stamp.parse(rs.getString(3)), Stamp::max);
            }
        }
        return out;
    }

    private static Map<String, Stamp> rowStamps(Pgkit pgkit, String schema) throws Exception {
        Map<String, Stamp> out = new TreeMap<>();
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement()) {
            for (String kind : List.of("record", "kv")) {
                String table = kind.equals("record") ? "persist_records" : "persist_kv";
                try (ResultSet rs = s.executeQuery("SELECT key, " + StoreSql.stamp("r") + " FROM \"" + schema + "\"." + table + " r")) {
                    while (rs.next()) {
                        out.put(kind + "/" + rs.getString(1), Stamp.parse(rs.getString(2)));
                    }
                }
            }
        }
        return out;
    }

    private static void edit(Store side, Random random) {
        boolean kv = random.nextInt(4) == 0;
        String key = kv ? "kv" + random.nextInt(8) : "rec" + random.nextInt(24);
        int choice = random.nextInt(10);
        if (choice == 0) {
            if (kv) {
                side.kv().delete(key);
            } else {
                side.records().delete(key);
            }
            return;
        }
        Object value;
        if (choice == 1) {
            value = random.nextInt(100);
        } else {
            Map<String, Object> fields = new TreeMap<>();
            for (String field : List.of("a", "b", "c", "d")) {
                if (random.nextInt(3) > 0) {
                    fields.put(field, random.nextInt(5));
                }
            }
            value = fields;
        }
        if (kv) {
            side.kv().set(key, value);
        } else {
            side.records().put(key, value);
        }
    }

    /** Every live record and kv entry: kind/key → value. */
    static Map<String, JsonNode> contents(Pgkit pgkit, String schema) throws Exception {
        Map<String, JsonNode> out = new TreeMap<>();
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement()) {
            for (String table : List.of("persist_records", "persist_kv")) {
                try (ResultSet rs = s.executeQuery("SELECT key, value::text FROM \"" + schema + "\"." + table + " WHERE NOT deleted")) {
                    while (rs.next()) {
                        out.put(table + "/" + rs.getString(1), JSON.readTree(rs.getString(2)));
                    }
                }
            }
        }
        return out;
    }
}
