package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.Node;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A Java service (pgkit) and a Node service (the real {@code @chat-adapter/state-pg}, installed from
 * npm into {@code target/node-interop}) sharing one database, schema and key prefix see each other's
 * subscriptions, locks, cache entries, lists and queues. pgkit creates the tables; the Node adapter
 * runs with {@code autoCreateSchema: false}, so its schema check must accept them. Skipped when
 * {@code node} or {@code npm} is not installed.
 */
@ExtendWith(PostgresExtension.class)
class NodeInteropTest {
    static final String PACKAGE = "@chat-adapter/state-pg";
    static final String VERSION = "4.41.0";
    static final String SCRIPT = "node/state-interop.mjs";
    static final ObjectMapper JSON = new ObjectMapper();

    static Pgkit pgkit;
    static StateStore java;
    static Map<String, String> nodeEnv;
    static Node node;

    @BeforeAll
    static void setUp(TestPostgres server) {
        pgkit = Db.pgkit(server, TestPostgres.uniqueName("node_interop"));
        java = pgkit.state(TestPostgres.uniqueName("interop")); // creates the chat_state_* tables in the schema
        nodeEnv = Map.of(
                "PGKIT_NODE_URL", Node.postgresUrl(server.url(), pgkit.schema()),
                "PGKIT_NODE_KEY_PREFIX", java.keyPrefix());
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

    /** Runs {@code steps} in one node process on the shared prefix; returns one result per step. */
    static List<JsonNode> runNode(Step... steps) {
        JsonNode results = node().run(SCRIPT, nodeEnv, Arrays.asList(steps));
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

    @Test
    void eachSideReadsWhatTheOtherWrote() {
        node(); // skip before writing anything when node is missing
        Map<String, Object> fromJava = sample("java");
        Map<String, Object> fromNode = sample("node");

        java.set("from-java", fromJava);
        java.set("java-string", "plain text, not JSON-quoted by the reader");
        for (int i = 1; i <= 5; i++) {
            java.appendToList("java-list", map("i", i), ListOptions.none().maxLength(3));
        }
        for (int i = 1; i <= 3; i++) {
            java.enqueue("java-queue", map("text", "m" + i, "n", i), Duration.ofSeconds(60), 2);
        }
        java.subscribe("java-sub");
        Instant beforeNode = Instant.now();

        List<JsonNode> n = runNode(
                step("get", "from-java"),                                           // 0
                step("get", "java-string"),                                         // 1
                step("getList", "java-list"),                                       // 2
                step("dequeue", "java-queue"),                                      // 3
                step("dequeue", "java-queue"),                                      // 4
                step("dequeue", "java-queue"),                                      // 5
                step("isSubscribed", "java-sub"),                                   // 6
                step("isSubscribed", "node-sub"),                                   // 7
                step("setIfNotExists", "from-java", "node must not overwrite"),     // 8
                step("get", "from-java"),                                           // 9
                step("set", "from-node", fromNode),                                 // 10
                step("set", "node-string", "a JSON string"),                        // 11
                step("appendToList", "node-list", map("i", 1), map("maxLength", 3)), // 12
                step("appendToList", "node-list", map("i", 2), map("maxLength", 3)), // 13
                step("appendToList", "node-list", map("i", 3), map("maxLength", 3)), // 14
                step("appendToList", "node-list", map("i", 4), map("maxLength", 3)), // 15
                step("enqueue", "node-queue",
                        map("message", map("text", "from node", "n", 7), "enqueuedAt", map("$now", 0), "expiresAt", map("$now", 60_000)),
                        10),                                                        // 16
                step("subscribe", "node-sub"),                                      // 17
                step("unsubscribe", "java-sub"),                                    // 18
                step("setIfNotExists", "node-new", map("first", "node")));          // 19

        // Node reads what Java wrote.
        assertThat(value(n.get(0))).as("node get of a Java set").isEqualTo(fromJava);
        assertThat(value(n.get(1))).as("node get of a Java string").isEqualTo("plain text, not JSON-quoted by the reader");
        assertThat(value(n.get(2))).as("node getList of a Java list capped at 3")
                .isEqualTo(List.of(map("i", 3), map("i", 4), map("i", 5)));
        assertQueueEntry(n.get(3), map("text", "m2", "n", 2), beforeNode);
        assertQueueEntry(n.get(4), map("text", "m3", "n", 3), beforeNode);
        assertThat(value(n.get(5))).as("node dequeue of the emptied Java queue").isNull();
        assertThat(value(n.get(6))).as("node isSubscribed of a Java subscription").isEqualTo(true);
        assertThat(value(n.get(7))).as("node isSubscribed before subscribing").isEqualTo(false);
        assertThat(value(n.get(8))).as("node setIfNotExists on a Java-set key").isEqualTo(false);
        assertThat(value(n.get(9))).as("the Java value after node's setIfNotExists").isEqualTo(fromJava);
        assertThat(value(n.get(16))).as("node enqueue depth").isEqualTo(1);
        assertThat(value(n.get(19))).as("node setIfNotExists on a new key").isEqualTo(true);

        // Java reads what Node wrote.
        assertThat(java.get("from-node", Map.class)).as("Java get of a node set").contains(fromNode);
        assertThat(java.get("node-string", String.class)).as("Java get of a node string").contains("a JSON string");
        assertThat(java.getList("node-list", Map.class)).as("Java getList of a node list capped at 3")
                .isEqualTo(List.of(map("i", 2), map("i", 3), map("i", 4)));
        JsonNode sentEntry = n.get(16).get("args").get(1);
        QueueEntry<Map> entry = java.dequeue("node-queue", Map.class).orElseThrow(() -> new AssertionError("Java dequeue of a node entry is empty"));
        assertThat(entry.message()).isEqualTo(map("text", "from node", "n", 7));
        assertThat(entry.enqueuedAt()).isEqualTo(Instant.ofEpochMilli(sentEntry.get("enqueuedAt").asLong()));
        assertThat(entry.expiresAt()).isEqualTo(Instant.ofEpochMilli(sentEntry.get("expiresAt").asLong()));
        assertThat(java.dequeue("node-queue", Map.class)).as("Java dequeue of the emptied node queue").isEmpty();
        assertThat(java.queueDepth("java-queue")).as("Java queue depth after node dequeued it").isZero();
        assertThat(java.isSubscribed("node-sub")).as("Java isSubscribed of a node subscription").isTrue();
        assertThat(java.isSubscribed("java-sub")).as("Java isSubscribed after node unsubscribed it").isFalse();
        assertThat(java.setIfNotExists("node-new", map("first", "java"))).as("Java setIfNotExists on a node-set key").isFalse();
        assertThat(java.get("node-new", Map.class)).contains(map("first", "node"));
    }

    /** A node-dequeued QueueEntry that Java enqueued with a 60 s TTL. */
    private static void assertQueueEntry(JsonNode result, Map<String, Object> message, Instant notBefore) {
        JsonNode entry = result.get("value");
        assertThat(entry.isObject()).as("node dequeue of a Java entry: %s", entry).isTrue();
        assertThat(JSON.convertValue(entry.get("message"), Object.class)).as("message of %s", entry).isEqualTo(message);
        assertThat(entry.get("enqueuedAt").isIntegralNumber()).as("enqueuedAt of %s", entry).isTrue();
        assertThat(entry.get("expiresAt").isIntegralNumber()).as("expiresAt of %s", entry).isTrue();
        long enqueuedAt = entry.get("enqueuedAt").asLong();
        assertThat(entry.get("expiresAt").asLong() - enqueuedAt).as("TTL of %s", entry).isCloseTo(60_000L, within(5L));
        // Stamped by the server's clock in epoch milliseconds (allowing for skew with a remote test server).
        assertThat(enqueuedAt).as("enqueuedAt of %s", entry).isCloseTo(notBefore.toEpochMilli(), within(300_000L));
    }

    @Test
    void locksAreExclusiveAcrossJavaAndNode() {
        node();
        Duration ttl = Duration.ofSeconds(30);
        Lock javaLock = java.acquireLock("shared-lock", ttl).orElseThrow(() -> new AssertionError("Java acquire of a free lock failed"));

        List<JsonNode> held = runNode(step("acquireLock", "shared-lock", 30_000));
        assertThat(value(held.get(0))).as("node acquire of a lock Java holds").isNull();

        assertThat(java.releaseLock(javaLock)).isTrue();
        List<JsonNode> taken = runNode(step("acquireLock", "shared-lock", 30_000));
        JsonNode nodeLock = taken.get(0).get("value");
        assertThat(nodeLock.path("threadId").asText()).as("node acquire after Java released: %s", nodeLock).isEqualTo("shared-lock");
        assertThat(nodeLock.path("token").asText()).startsWith("pg_");

        assertThat(java.acquireLock("shared-lock", ttl)).as("Java acquire of a lock node holds").isEmpty();

        runNode(step("releaseLock", nodeLock));
        Lock again = java.acquireLock("shared-lock", ttl).orElseThrow(() -> new AssertionError("Java acquire after node released failed"));
        assertThat(again.fence()).isGreaterThan(javaLock.fence());
        assertThat(java.releaseLock(again)).isTrue();
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
