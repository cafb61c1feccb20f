package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.Node;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A Java service (pgkit) and a Node service (the real {@code @chat-adapter/state-pg}, installed from
 * npm into {@code target/node-interop}) sharing one database, schema and key prefix see each other's
 * subscriptions, locks, cache entries, lists and queues. pgkit creates the tables; the Node adapter
 * runs with {@code autoCreateSchema: false} (but once), so its schema check must accept them. Each
 * node process runs one batch of adapter calls (see {@code node/state-interop.mjs}). Skipped when
 * {@code node} or {@code npm} is not installed.
 */
@ExtendWith(PostgresExtension.class)
class NodeInteropTest {
    static final String PACKAGE = "@chat-adapter/state-pg";
    static final String VERSION = "4.41.0";
    static final String SCRIPT = "node/state-interop.mjs";
    static final ObjectMapper JSON = new ObjectMapper();

    static String serverUrl;
    static Pgkit pgkit;
    static StateStore java;
    static Node node;

    record Msg(String text, int n) {
    }

    @BeforeAll
    static void setUp(TestPostgres server) {
        serverUrl = server.url();
        pgkit = Db.pgkit(server, TestPostgres.uniqueName("node_interop"));
        java = pgkit.state(TestPostgres.uniqueName("interop")); // creates the chat_state_* tables in the schema
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    /** The Node adapter, installed on first use; skips the test when node or npm is missing. */
    static synchronized Node node() {
        List<String> missing = Node.missingTools();
        Assumptions.assumeTrue(missing.isEmpty(),
                String.join(" and ", missing) + (missing.size() > 1 ? " are" : " is") + " not installed: skipping the Node interop test");
        if (node == null) {
            node = Node.install("node-interop", PACKAGE, VERSION);
        }
        return node;
    }

    static Map<String, String> env(String schema, String keyPrefix, boolean autoCreateSchema) {
        return Map.of(
                "PGKIT_NODE_URL", Node.postgresUrl(serverUrl, schema),
                "PGKIT_NODE_KEY_PREFIX", keyPrefix,
                "PGKIT_NODE_AUTO_CREATE", Boolean.toString(autoCreateSchema));
    }

    /** Runs {@code steps} in one node process on the shared schema and prefix; returns one result per step. */
    static List<JsonNode> runNode(Step... steps) {
        return runNode(env(pgkit.schema(), java.keyPrefix(), false), steps);
    }

    static List<JsonNode> runNode(Map<String, String> env, Step... steps) {
        JsonNode results = node().run(SCRIPT, env, Arrays.asList(steps));
        assertThat(results.isArray()).as("node results %s", results).isTrue();
        assertThat(results.size()).as("node results %s", results).isEqualTo(steps.length);
        List<JsonNode> out = new ArrayList<>();
        for (int i = 0; i < steps.length; i++) {
            JsonNode result = results.get(i);
            if (!result.path("ok").asBoolean()) {
                fail("node step " + i + " " + steps[i].op() + " failed: " + result.path("error").asText());
            }
            out.add(result);
        }
        return out;
    }

    record Step(String op, List<Object> args) {
    }

    static Step step(String op, Object... args) {
        return new Step(op, Arrays.asList(args));
    }

    /** In a step's args: Date.now() + {@code offsetMillis} on the Node side. */
    static Map<String, Object> nodeNow(long offsetMillis) {
        return map("$now", offsetMillis);
    }

    /** The value a node step returned, as Jackson's plain Java types (Map, List, Integer, Long, Double, String, null). */
    static Object value(JsonNode result) {
        return JSON.convertValue(result.get("value"), Object.class);
    }

    static Map<String, Object> map(Object... keysAndValues) {
        Map<String, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }

    /** A value that exercises the JSON both encoders write: escapes, non-BMP text, number widths, null, nesting. */
    static Map<String, Object> sample(String origin) {
        return map(
                "origin", origin,
                "text", "h\u00e9llo \"quoted\" back\\slash\nnew line \u2713 \ud83d\ude00 \u2028 </script>",
                "int", 42,
                "negative", -7,
                "fraction", 1.5,
                "maxSafeInteger", 9007199254740991L,
                "flag", true,
                "nothing", null,
                "list", List.of("a", 1, false, map("in", "list")),
                "nested", map("deep", map("x", "y")),
                "emptyObject", map(),
                "emptyList", List.of());
    }

    /** The server's clock in epoch milliseconds (the clock pgkit stamps queue entries with). */
    static long serverMillis() {
        return Db.scalar(pgkit, "SELECT floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint");
    }

    /** Whole seconds from now until the row's expires_at, by the server's clock. */
    static long secondsLeft(String table, String keyColumn, String key) {
        return Db.scalar(pgkit, "SELECT floor(min(extract(epoch FROM expires_at - now())))::bigint FROM \"" + pgkit.schema() + "\"." + table
                + " WHERE key_prefix = '" + java.keyPrefix() + "' AND " + keyColumn + " = '" + key + "'");
    }

    @Test

    @ExpectServerLog("relation \"chat_state_lists\" does not exist") // the control run's schema check, in an empty schema
    void nodeAcceptsPgkitTablesAndUsesTheSchemaOnItsSearchPath() {
        node();
        assertThat(runNode()).as("connect() with autoCreateSchema: false verifies the tables pgkit created").isEmpty();

        // The control: the same adapter pointed (by search_path) at a schema without the tables refuses to start,
        // so the passing runs really use the test's schema, not tables some other run left in public.
        String empty = TestPostgres.uniqueName("node_interop_empty");
        Db.execute(pgkit, "CREATE SCHEMA \"" + empty + "\"");
        try {
            assertThatThrownBy(() -> runNode(env(empty, java.keyPrefix(), false)))
                    .hasMessageContaining("exit 2")
                    .hasMessageContaining("PostgreSQL state schema is not ready");
        } finally {
            Db.execute(pgkit, "DROP SCHEMA IF EXISTS \"" + empty + "\" CASCADE");
        }
    }

    @Test
    void cacheEntriesAreSharedBothWays() {
        node();
        Map<String, Object> fromJava = sample("java");
        Map<String, Object> fromNode = sample("node");
        java.set("j:object", fromJava);
        java.set("j:string", "plain text, not JSON-quoted by the reader");
        java.set("j:number", 42);
        java.set("j:ttl", fromJava, Duration.ofMinutes(5));
        java.set("j:doomed", "bye");

        List<JsonNode> n = runNode(
                step("get", "j:object"),                                      // 0
                step("get", "j:string"),                                      // 1
                step("get", "j:number"),                                      // 2
                step("get", "j:ttl"),                                         // 3
                step("setIfNotExists", "j:object", "node must not overwrite"), // 4
                step("get", "j:object"),                                      // 5
                step("set", "n:object", fromNode),                            // 6
                step("set", "n:string", "a JSON string"),                     // 7
                step("set", "n:null", null),                                  // 8
                step("set", "n:ttl", fromNode, 60_000),                       // 9
                step("setIfNotExists", "n:new", map("first", "node")),        // 10
                step("delete", "j:doomed"),                                   // 11
                step("get", "nobody-wrote-this"));                            // 12

        // Node reads what Java wrote.
        assertThat(value(n.get(0))).as("node get of a Java set").isEqualTo(fromJava);
        assertThat(value(n.get(1))).as("node get of a Java string").isEqualTo("plain text, not JSON-quoted by the reader");
        assertThat(value(n.get(2))).as("node get of a Java number").isEqualTo(42);
        assertThat(value(n.get(3))).as("node get of a Java set with a TTL").isEqualTo(fromJava);
        assertThat(value(n.get(4))).as("node setIfNotExists on a Java-set key").isEqualTo(false);
        assertThat(value(n.get(5))).as("the Java value after node's setIfNotExists").isEqualTo(fromJava);
        assertThat(value(n.get(10))).as("node setIfNotExists on a new key").isEqualTo(true);
        assertThat(value(n.get(12))).isNull();

        // Java reads what Node wrote.
        assertThat(java.get("n:object", Map.class)).as("Java get of a node set").contains(fromNode);
        assertThat(java.get("n:string", String.class)).as("Java get of a node string").contains("a JSON string");
        assertThat(java.get("n:null", Object.class)).as("a JSON null reads as absent, as node's get returns null").isEmpty();
        assertThat(java.get("n:ttl", Map.class)).as("Java get of a node set with a TTL").contains(fromNode);
        assertThat(secondsLeft("chat_state_cache", "cache_key", "n:ttl")).as("node's 60 s TTL").isBetween(45L, 60L);
        assertThat(java.get("j:doomed", String.class)).as("deleted by node").isEmpty();
        assertThat(java.setIfNotExists("n:new", map("first", "java"))).as("Java setIfNotExists on a node-set key").isFalse();
        assertThat(java.get("n:new", Map.class)).contains(map("first", "node"));
    }

    @Test
    void listsAreSharedBothWaysAndEitherSideTrimsThem() {
        node();
        for (int i = 1; i <= 5; i++) {
            java.appendToList("j:list", map("i", i), ListOptions.none().maxLength(3));
        }
        List<JsonNode> n = runNode(
                step("getList", "j:list"),                                         // 0
                step("appendToList", "n:list", map("i", 1), map("maxLength", 3)),  // 1
                step("appendToList", "n:list", map("i", 2), map("maxLength", 3)),  // 2
                step("appendToList", "n:list", map("i", 3), map("maxLength", 3)),  // 3
                step("appendToList", "n:list", map("i", 4), map("maxLength", 3)),  // 4
                step("appendToList", "j:list", map("i", 6), map("maxLength", 3)),  // 5
                step("getList", "j:list"),                                         // 6
                step("appendToList", "n:ttl-list", "x", map("ttlMs", 60_000)),     // 7
                step("getList", "nobody-wrote-this"));                             // 8

        assertThat(value(n.get(0))).as("node getList of a Java list capped at 3").isEqualTo(List.of(map("i", 3), map("i", 4), map("i", 5)));
        assertThat(value(n.get(6))).as("node trims a Java list").isEqualTo(List.of(map("i", 4), map("i", 5), map("i", 6)));
        assertThat(value(n.get(8))).isEqualTo(List.of());

        assertThat(java.getList("n:list", Map.class)).as("Java getList of a node list capped at 3")
                .isEqualTo(List.of(map("i", 2), map("i", 3), map("i", 4)));
        java.appendToList("j:list", map("i", 7), ListOptions.none().maxLength(3));
        assertThat(java.getList("j:list", Map.class)).as("Java trims rows node appended")
                .isEqualTo(List.of(map("i", 5), map("i", 6), map("i", 7)));
        assertThat(java.getList("n:ttl-list", String.class)).containsExactly("x");
        assertThat(secondsLeft("chat_state_lists", "list_key", "n:ttl-list")).as("node's 60 s list TTL").isBetween(45L, 60L);
    }

    @Test
    @SuppressWarnings({"rawtypes", "unchecked"})
    void queueEntriesAreSharedBothWays() {
        node();
        long before = serverMillis();
        assertThat(java.enqueue("q:java", new Msg("a", 1), Duration.ofMinutes(1), 10)).isEqualTo(1);
        assertThat(java.enqueue("q:java", new Msg("b", 2), Duration.ofMinutes(1), 10)).isEqualTo(2);
        long after = serverMillis();
        for (int i = 1; i <= 3; i++) {
            java.enqueue("q:cap", new Msg("cap", i), Duration.ofMinutes(1), 2);
        }

        Map<String, Object> first = map("text", "from node", "n", 10);
        Map<String, Object> second = map("text", "from node", "n", 11);
        List<JsonNode> n = runNode(
                step("dequeue", "q:java"),                                                                                     // 0
                step("queueDepth", "q:java"),                                                                                  // 1
                step("enqueue", "q:node", map("message", first, "enqueuedAt", nodeNow(0), "expiresAt", nodeNow(60_000)), 10),  // 2
                step("enqueue", "q:node", map("message", second, "enqueuedAt", nodeNow(0), "expiresAt", nodeNow(60_000)), 10), // 3
                step("enqueue", "q:java", map("message", map("text", "c", "n", 3), "enqueuedAt", nodeNow(0), "expiresAt", nodeNow(60_000)), 2), // 4
                step("queueDepth", "q:cap"),                                                                                   // 5
                step("dequeue", "q:cap"),                                                                                      // 6
                step("dequeue", "nobody-wrote-this"));                                                                         // 7

        // Node reads a QueueEntry Java wrote.
        JsonNode entry = n.get(0).get("value");
        assertThat(entry.isObject()).as("node dequeue of a Java entry: %s", entry).isTrue();
        List<String> fields = new ArrayList<>();
        entry.fieldNames().forEachRemaining(fields::add);
        assertThat(fields).as("a Chat SDK QueueEntry: %s", entry).containsExactlyInAnyOrder("message", "enqueuedAt", "expiresAt");
        assertThat(JSON.convertValue(entry.get("message"), Object.class)).isEqualTo(map("text", "a", "n", 1));
        assertThat(entry.get("enqueuedAt").isIntegralNumber()).as("enqueuedAt of %s", entry).isTrue();
        assertThat(entry.get("expiresAt").isIntegralNumber()).as("expiresAt of %s", entry).isTrue();
        long enqueuedAt = entry.get("enqueuedAt").asLong();
        assertThat(enqueuedAt).as("epoch ms by the server's clock during the enqueue: %s", entry).isBetween(before - 1, after + 1);
        assertThat(entry.get("expiresAt").asLong() - enqueuedAt).as("the 1 minute TTL of %s", entry).isEqualTo(60_000L);
        assertThat(value(n.get(1))).isEqualTo(1);
        assertThat(value(n.get(2))).as("node enqueue depth").isEqualTo(1);
        assertThat(value(n.get(3))).isEqualTo(2);
        assertThat(value(n.get(4))).as("node's maxSize counts Java's entries").isEqualTo(2);
        assertThat(value(n.get(5))).as("Java's maxSize held").isEqualTo(2);
        assertThat(JSON.convertValue(n.get(6).get("value").get("message"), Object.class)).isEqualTo(map("text", "cap", "n", 2));
        assertThat(value(n.get(7))).isNull();

        // Java reads QueueEntries Node wrote, with the timestamps Node chose.
        JsonNode sent = n.get(2).get("args").get(1);
        QueueEntry<Map> fromNode = java.dequeue("q:node", Map.class).orElseThrow(() -> new AssertionError("Java dequeue of a node entry is empty"));
        assertThat(fromNode.message()).isEqualTo(first);
        assertThat(fromNode.enqueuedAt()).isEqualTo(Instant.ofEpochMilli(sent.get("enqueuedAt").asLong()));
        assertThat(fromNode.expiresAt()).isEqualTo(Instant.ofEpochMilli(sent.get("expiresAt").asLong()));
        assertThat(java.dequeue("q:node", Msg.class).orElseThrow().message()).as("decoded into a Java type").isEqualTo(new Msg("from node", 11));
        assertThat(java.dequeue("q:node", Map.class)).as("Java dequeue of the emptied node queue").isEmpty();
        assertThat(java.queueDepth("q:java")).isEqualTo(2);
        assertThat(java.dequeue("q:java", Msg.class).orElseThrow().message()).isEqualTo(new Msg("b", 2));
        assertThat(java.dequeue("q:java", Msg.class).orElseThrow().message()).isEqualTo(new Msg("c", 3));
        assertThat(java.dequeue("q:java", Msg.class)).isEmpty();
        assertThat(java.dequeue("q:cap", Msg.class).orElseThrow().message()).isEqualTo(new Msg("cap", 3));
    }

    @Test
    void locksAreExclusiveAcrossJavaAndNode() {
        node();
        Duration ttl = Duration.ofSeconds(30);
        Lock javaLock = java.acquireLock("shared-lock", ttl).orElseThrow(() -> new AssertionError("Java acquire of a free lock failed"));

        List<JsonNode> held = runNode(
                step("acquireLock", "shared-lock", 30_000),                                                            // 0
                step("extendLock", map("threadId", "shared-lock", "token", javaLock.token(), "expiresAt", 0), 120_000)); // 1
        assertThat(value(held.get(0))).as("node acquire of a lock Java holds").isNull();
        assertThat(value(held.get(1))).as("node extends Java's lock by its token").isEqualTo(true);
        assertThat(secondsLeft("chat_state_locks", "thread_id", "shared-lock")).isBetween(100L, 120L);

        assertThat(java.releaseLock(javaLock)).isTrue();
        JsonNode nodeLock = runNode(step("acquireLock", "shared-lock", 30_000)).get(0).get("value");
        assertThat(nodeLock.path("threadId").asText()).as("node acquire after Java released: %s", nodeLock).isEqualTo("shared-lock");
        assertThat(nodeLock.path("token").asText()).startsWith("pg_");

        assertThat(java.acquireLock("shared-lock", ttl)).as("Java acquire of a lock node holds").isEmpty();

        Lock other = java.acquireLock("other-lock", ttl).orElseThrow();
        List<JsonNode> released = runNode(
                step("releaseLock", nodeLock),              // 0
                step("forceReleaseLock", "other-lock"),     // 1
                step("acquireLock", "other-lock", 30_000)); // 2
        assertThat(released.get(2).get("value").path("threadId").asText()).as("node takes a lock it force-released from Java").isEqualTo("other-lock");

        Lock again = java.acquireLock("shared-lock", ttl).orElseThrow(() -> new AssertionError("Java acquire after node released failed"));
        assertThat(again.fence()).isGreaterThan(javaLock.fence());
        assertThat(java.releaseLock(again)).isTrue();
        assertThat(java.releaseLock(other)).as("Java's release after node's force-release is a no-op").isFalse();
        assertThat(java.acquireLock("other-lock", ttl)).as("node holds other-lock").isEmpty();
    }

    @Test
    void javaWaitersSeeNodeWritesPromptly() throws Exception {
        node();
        // The Node adapter sends no NOTIFY: Java's waiting dequeue and acquire must still see its writes soon.
        JsonNode nodeLock = runNode(step("acquireLock", "wait-lock", 60_000)).get(0).get("value");
        assertThat(nodeLock.path("threadId").asText()).isEqualTo("wait-lock");
        CompletableFuture<Optional<QueueEntry<Msg>>> dequeued = CompletableFuture.supplyAsync(() -> java.dequeue("wait-queue", Msg.class, Duration.ofSeconds(20)));
        CompletableFuture<Optional<Lock>> acquired = CompletableFuture.supplyAsync(
                () -> java.acquireLock("wait-lock", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(20))));
        Thread.sleep(500); // both are waiting
        assertThat(dequeued).isNotDone();
        assertThat(acquired).isNotDone();

        runNode(
                step("enqueue", "wait-queue", map("message", map("text", "late", "n", 1), "enqueuedAt", nodeNow(0), "expiresAt", nodeNow(60_000)), 10),
                step("releaseLock", nodeLock));
        long released = System.nanoTime();
        Optional<QueueEntry<Msg>> entry = dequeued.get(30, TimeUnit.SECONDS);
        long dequeueMillis = (System.nanoTime() - released) / 1_000_000;
        Optional<Lock> lock = acquired.get(30, TimeUnit.SECONDS);
        long acquireMillis = (System.nanoTime() - released) / 1_000_000;
        assertThat(entry).map(e -> e.message()).contains(new Msg("late", 1));
        assertThat(lock).as("the lock node released, long before its 60 s lease ends").isPresent();
        assertThat(dequeueMillis).as("dequeue saw node's enqueue within ms").isLessThan(5_000);
        assertThat(acquireMillis).as("acquire saw node's release within ms").isLessThan(5_000);
        java.releaseLock(lock.get());
    }

    @Test
    void subscriptionsAreSharedBothWaysAndPrefixesStaySeparate() {
        node();
        java.subscribe("java-sub");
        // autoCreateSchema: true this once: the Node adapter's own DDL runs harmlessly over pgkit's tables.
        List<JsonNode> n = runNode(env(pgkit.schema(), java.keyPrefix(), true),
                step("isSubscribed", "java-sub"),   // 0
                step("isSubscribed", "node-sub"),   // 1
                step("subscribe", "node-sub"),      // 2
                step("unsubscribe", "java-sub"),    // 3
                step("isSubscribed", "java-sub"));  // 4
        assertThat(value(n.get(0))).as("node isSubscribed of a Java subscription").isEqualTo(true);
        assertThat(value(n.get(1))).as("node isSubscribed before subscribing").isEqualTo(false);
        assertThat(value(n.get(4))).isEqualTo(false);
        assertThat(java.isSubscribed("node-sub")).as("Java isSubscribed of a node subscription").isTrue();
        assertThat(java.isSubscribed("java-sub")).as("Java isSubscribed after node unsubscribed it").isFalse();

        java.set("prefixed", "java");
        List<JsonNode> other = runNode(env(pgkit.schema(), TestPostgres.uniqueName("other"), false),
                step("isSubscribed", "node-sub"),
                step("get", "prefixed"));
        assertThat(value(other.get(0))).as("another key prefix is another namespace").isEqualTo(false);
        assertThat(value(other.get(1))).isNull();
    }

    @Test
    void testServerUrlsBecomeNodePostgresUrlsWithTheSearchPath() {
        assertThat(Node.postgresUrl("jdbc:postgresql://127.0.0.1:5433/postgres?user=postgres", "s_1"))
                .isEqualTo("postgres://postgres@127.0.0.1:5433/postgres?options=-c%20search_path%3Ds_1");
        assertThat(Node.postgresUrl("jdbc:postgresql://db:5432,db2:5432/app?user=a%40b&password=p%20w%3A&sslmode=require&connectTimeout=5", "s"))
                .isEqualTo("postgres://a%40b:p%20w%3A@db:5432/app?sslmode=require&options=-c%20search_path%3Ds");
        assertThat(Node.postgresUrl("postgres://u:p@h:1/d", "s")).isEqualTo("postgres://u:p@h:1/d?options=-c%20search_path%3Ds");
        assertThat(Node.postgresUrl("postgresql://u@h/d?sslmode=disable&options=-c%20statement_timeout%3D5000", "s"))
                .isEqualTo("postgresql://u@h/d?sslmode=disable&options=-c%20statement_timeout%3D5000%20-c%20search_path%3Ds");
    }
}
