package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.Node;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A Java node and emitter in a cluster of two real Node Socket.IO servers on {@code @socket.io/postgres-adapter}
 * 0.5.0 (installed from npm into {@code target/broadcast-interop} with {@code socket.io}, {@code socket.io-client}
 * and the Node emitter 0.1.1) with three real clients: c1 on server 0 in room r1, c2 on server 1 in room r2,
 * c3 on server 1 in no room. See {@code node/broadcast-interop.mjs}. Skipped when node or npm is missing.
 */
@ExtendWith(PostgresExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class BroadcastNodeInteropTest {
    static final Map<String, String> PACKAGES = Map.of("@socket.io/postgres-adapter", "0.5.0", "@socket.io/postgres-emitter", "0.1.1",
            "socket.io", "4.8.4", "socket.io-client", "4.8.4", "pg", "8.23.1");
    static final ObjectMapper JSON = new ObjectMapper();

    static Pgkit pgkit;
    static Broadcast broadcast;
    static ClusterNode java;
    static Process node;
    static Writer commands;
    static final List<JsonNode> events = new CopyOnWriteArrayList<>();
    static final AtomicInteger ids = new AtomicInteger();

    @BeforeAll
    static void setUp(TestPostgres server) throws Exception {
        List<String> missing = Node.missingTools();
        Assumptions.assumeTrue(missing.isEmpty(),
                String.join(" and ", missing) + (missing.size() > 1 ? " are" : " is") + " not installed: skipping the Socket.IO interop test");
        Node npm = Node.install("broadcast-interop", PACKAGES);
        String schema = TestPostgres.uniqueName("broadcast_interop");
        String prefix = TestPostgres.uniqueName("sio");
        pgkit = Db.pgkit(server, schema);
        broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(prefix)); // creates socket_io_attachments
        node = npm.start("node/broadcast-interop.mjs", Map.of("PGKIT_NODE_URL", Node.postgresUrl(server.url(), schema),
                "PGKIT_CHANNEL_PREFIX", prefix));
        commands = new java.io.OutputStreamWriter(node.getOutputStream(), StandardCharsets.UTF_8);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(node.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    events.add(JSON.readTree(line));
                }
            } catch (Exception e) {
                events.add(JSON.createObjectNode().put("type", "reader-failed").put("error", e.toString()));
            }
        }, "node-interop-reader");
        reader.setDaemon(true);
        reader.start();
        await("the Node servers and clients are ready (see target/broadcast-interop/node-stderr.log)", 60, e -> e.path("type").asText().equals("ready"));
        java = broadcast.join("/");
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (node != null) {
            try {
                command("exit", Map.of());
            } catch (RuntimeException | AssertionError ignored) {
                // it may be gone already
            }
            if (!node.waitFor(10, TimeUnit.SECONDS)) {
                node.destroyForcibly();
            }
        }
        if (java != null) {
            java.close();
        }
        if (pgkit != null) {
            Db.dropAndClose(pgkit);
        }
    }

    static JsonNode await(String what, int seconds, Predicate<JsonNode> match) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            for (JsonNode e : events) {
                if (match.test(e)) {
                    return e;
                }
            }
            if (!node.isAlive() && events.stream().noneMatch(match)) {
                throw new AssertionError("the Node process exited (" + node.exitValue() + ") before " + what + "; events: " + events);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("timed out waiting for " + what + "; events: " + events);
    }

    static JsonNode command(String cmd, Map<String, Object> args) throws Exception {
        int id = ids.incrementAndGet();
        Map<String, Object> line = new LinkedHashMap<>(args);
        line.put("cmd", cmd);
        line.put("id", id);
        commands.write(JSON.writeValueAsString(line) + "\n");
        commands.flush();
        return await("the reply to " + cmd, 30, e -> e.path("type").asText().equals("reply") && e.path("id").asInt() == id);
    }

    static Predicate<JsonNode> clientEvent(String client, String event) {
        return e -> e.path("type").asText().equals("client-event") && e.path("client").asText().equals(client)
                && e.path("event").asText().equals(event);
    }

    static List<String> clientsThatGot(String event) {
        List<String> clients = new ArrayList<>();
        for (JsonNode e : events) {
            if (e.path("type").asText().equals("client-event") && e.path("event").asText().equals(event)) {
                clients.add(e.path("client").asText());
            }
        }
        return clients;
    }

    /**
     * Waits until each of {@code clients} got {@code event}. (The Node adapter handles a notification with an attachment
     * after fetching it, while later inline ones go straight through: a marker cannot show that an attachment arrived.)
     */
    static List<String> clientsThatGot(String event, String... clients) throws Exception {
        for (String c : clients) {
            await(c + " got " + event, 20, clientEvent(c, event));
        }
        flush();
        return clientsThatGot(event);
    }

    /** Emits an inline marker to every client and waits until all three have it: every inline message sent before was handled. */
    static void flush() throws Exception {
        String marker = "marker-" + ids.incrementAndGet();
        broadcast.emitter().emit(marker);
        for (String c : List.of("c1", "c2", "c3")) {
            await(c + " got " + marker, 20, clientEvent(c, marker));
        }
    }

    @Test
    @Order(1)
    void theJavaNodeAndTheNodeServersCountEachOther() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (java.serverCount() != 3 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(java.serverCount()).as("Java counts itself and both Node servers").isEqualTo(3);
        assertThat(command("serverCount", Map.of()).path("counts")).extracting(JsonNode::asInt).containsExactly(3, 3);
    }

    @Test
    @Order(2)
    void theEmittersEventsReachTheTargetedClients() throws Exception {
        Emitter emitter = broadcast.emitter();
        emitter.to("r1").emit("to-r1", 1, "one");
        emitter.except("r1").emit("except-r1", Map.of("k", "v"));
        byte[] binary = {0, 1, 2, (byte) 250, (byte) 255};
        emitter.to("r2").emit("binary", "label", binary);
        String large = "L".repeat(20_000);
        emitter.emit("large", large);
        flush();
        assertThat(clientsThatGot("to-r1")).containsExactly("c1");
        assertThat(await("c1 args", 1, clientEvent("c1", "to-r1")).path("args")).hasToString("[1,\"one\"]");
        assertThat(clientsThatGot("except-r1")).containsExactlyInAnyOrder("c2", "c3");
        JsonNode bin = await("binary", 20, clientEvent("c2", "binary"));
        assertThat(bin.path("args").get(0).asText()).isEqualTo("label");
        assertThat(Base64.getDecoder().decode(bin.path("args").get(1).path("binary").asText())).as("arrives as binary").isEqualTo(binary);
        assertThat(clientsThatGot("binary", "c2")).containsExactly("c2");
        assertThat(clientsThatGot("large", "c1", "c2", "c3")).containsExactlyInAnyOrder("c1", "c2", "c3");
        assertThat(await("large", 1, clientEvent("c3", "large")).path("args").get(0).asText()).isEqualTo(large);
    }

    @Test
    @Order(3)
    void aMessageOfExactly8000BytesOfJsonIsSpilledAndArrives() throws Exception {
        String filler = fillerFor8000Bytes();
        broadcast.emitter().emit("exact", filler);
        flush();
        assertThat(clientsThatGot("exact", "c1", "c2", "c3")).containsExactlyInAnyOrder("c1", "c2", "c3");
        assertThat(await("exact", 1, clientEvent("c1", "exact")).path("args").get(0).asText()).isEqualTo(filler);
    }

    /** A string whose emit message is exactly 8000 bytes of JSON, which PostgreSQL refuses in a NOTIFY. */
    static String fillerFor8000Bytes() {
        Outgoing probe = Outgoing.of("c", Wire.BROADCAST, emitData("exact", "e".repeat(7000)), Wire.EMITTER_UID, "/", 8000);
        int overhead = probe.inline().getBytes(StandardCharsets.UTF_8).length - 7000;
        String filler = "e".repeat(8000 - overhead);
        Outgoing exact = Outgoing.of("c", Wire.BROADCAST, emitData("exact", filler), Wire.EMITTER_UID, "/", 8000);
        assertThat(exact.spilled()).as("an 8000-byte message is spilled").isTrue();
        assertThat(Wire.json(Wire.fromMsgpack(exact.attachment())).getBytes(StandardCharsets.UTF_8)).hasSize(8000);
        assertThat(Outgoing.of("c", Wire.BROADCAST, emitData("exact", filler.substring(1)), Wire.EMITTER_UID, "/", 8000).spilled())
                .as("7999 bytes go inline").isFalse();
        return filler;
    }

    static ObjectNode emitData(String event, String arg) {
        ObjectNode packet = Wire.NODES.objectNode();
        packet.put("type", 2);
        ArrayNode data = packet.putArray("data");
        data.add(event).add(arg);
        packet.put("nsp", "/");
        ObjectNode message = Wire.NODES.objectNode();
        message.set("packet", packet);
        message.set("opts", Emitter.opts(Set.of(), Set.of()));
        return message;
    }

    @Test
    @Order(4)
    void thePublishedNodeEmitterIsDroppedByAdapter050ButPgkitsEmitterIsNot() throws Exception {
        command("nodeEmitter", Map.of("event", "from-node-emitter", "args", List.of("x")));
        broadcast.emitter().emit("from-pgkit-emitter", "x");
        flush();
        assertThat(clientsThatGot("from-pgkit-emitter")).hasSize(3);
        assertThat(clientsThatGot("from-node-emitter")).as("the Node emitter 0.1.1 sends no top-level nsp: adapter 0.5.0 drops it").isEmpty();
    }

    @Test
    @Order(5)
    void serverSideEmitsWithAcksBothWays() throws Exception {
        Replies fromNode = java.serverSideEmitWithAck("ping-node", "x");
        assertThat(fromNode.isComplete()).isTrue();
        assertThat(fromNode.values()).extracting(v -> v.path("server").asInt()).containsExactlyInAnyOrder(0, 1);
        assertThat(fromNode.values()).allMatch(v -> v.path("echo").asText().equals("x"));

        java.serverSideEmit("ping-node", "no ack", new byte[] {9, 8});
        JsonNode seen = await("a plain server-side event with binary", 20, e -> e.path("type").asText().equals("server-event")
                && e.path("args").get(0).asText().equals("no ack"));
        assertThat(Base64.getDecoder().decode(seen.path("args").get(1).path("binary").asText())).containsExactly(9, 8);

        try (AutoCloseable ignored = java.on("ping-java", e -> e.ack("java:" + e.arg(0, String.class)))) {
            JsonNode reply = command("serverSideEmitWithAck", Map.of("server", 0, "event", "ping-java", "args", List.of("y")));
            assertThat(reply.path("err").isNull()).as("no timeout: " + reply).isTrue();
            assertThat(reply.path("responses")).extracting(JsonNode::asText).containsExactlyInAnyOrder("java:y", "node1");
        }
    }

    @Test
    @Order(6)
    void fetchSocketsFromJavaAndTheNodeServersRequestsAreAnswered() throws Exception {
        List<RemoteSocket> sockets = java.fetchSockets();
        assertThat(sockets).extracting(s -> s.data().path("name").asText()).containsExactlyInAnyOrder("c1", "c2", "c3");
        RemoteSocket c1 = sockets.stream().filter(s -> s.data().path("name").asText().equals("c1")).findFirst().orElseThrow();
        assertThat(c1.rooms()).contains("r1", c1.id());
        assertThat(c1.data().path("server").asInt()).isZero();
        assertThat(java.fetchSockets(List.of("r2"), List.of())).extracting(s -> s.data().path("name").asText()).containsExactly("c2");
        assertThat(java.fetchSockets(List.of(), List.of("r2"))).hasSize(2);

        JsonNode fromNode = command("fetchSockets", Map.of("server", 0));
        assertThat(fromNode.path("failure").isMissingNode()).as("Java answers, so Node's fetchSockets completes: " + fromNode).isTrue();
        assertThat(fromNode.path("ids")).extracting(JsonNode::asText).containsExactly("c1", "c2", "c3");

        JsonNode acks = command("emitWithAck", Map.of("server", 0));
        assertThat(acks.path("err").isNull()).as("Java reports its 0 clients to a broadcast with acks: " + acks).isTrue();
        assertThat(acks.path("responses")).extracting(JsonNode::asText).containsExactlyInAnyOrder("ok:c1", "ok:c2", "ok:c3");
    }

    @Test
    @Order(7)
    void socketsJoinLeaveAndDisconnect() throws Exception {
        Emitter emitter = broadcast.emitter();
        emitter.to("r2").socketsJoin("r9");
        emitter.to("r9").emit("in-r9");
        java.clients().in("r1").socketsJoin("r9"); // as the member
        emitter.to("r9").emit("in-r9-again");
        emitter.to("r2").socketsLeave("r9");
        emitter.to("r9").emit("after-leave");
        flush();
        assertThat(clientsThatGot("in-r9")).containsExactly("c2");
        assertThat(clientsThatGot("in-r9-again")).containsExactlyInAnyOrder("c1", "c2");
        assertThat(clientsThatGot("after-leave")).containsExactly("c1");
        emitter.to("r1").disconnectSockets(true);
        await("c1 disconnected", 20, e -> e.path("type").asText().equals("client-disconnect") && e.path("client").asText().equals("c1"));
        assertThat(java.fetchSockets()).extracting(s -> s.data().path("name").asText()).containsExactlyInAnyOrder("c2", "c3");
    }

    @Test
    @Order(8)
    void aClosingJavaNodeIsUncountedAtOnce() throws Exception {
        java.close();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5); // the Node servers' heartbeat timeout is 10 s
        JsonNode counts;
        do {
            counts = command("serverCount", Map.of()).path("counts");
        } while ((counts.get(0).asInt() != 2 || counts.get(1).asInt() != 2) && System.nanoTime() < deadline);
        assertThat(counts).extracting(JsonNode::asInt).containsExactly(2, 2);
        assertThat(command("errors", Map.of()).path("errors")).as("the Node adapters met no error").isEmpty();
        assertThat(broadcast.missingAttachments()).isZero();
    }
}
