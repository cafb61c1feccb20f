package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Several pgkit nodes (one {@code Pgkit} each, standing for separate servers) on one namespace: every
 * message reaches every other node exactly once and in order per sender, whatever its size or content;
 * membership follows joins, goodbyes and silent deaths; requests collect one answer per live node.
 */
@ExtendWith(PostgresExtension.class)
class BroadcastClusterTest {
    static final int NODES = 3;
    static final List<Pgkit> servers = new ArrayList<>();
    static String schema;
    static TestPostgres postgres;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        schema = TestPostgres.uniqueName("broadcast_cluster");
        for (int i = 0; i < NODES; i++) {
            servers.add(Db.builder(server, schema).poolSize(10).build());
        }
    }

    @AfterAll
    static void tearDown() {
        for (int i = 1; i < servers.size(); i++) {
            servers.get(i).close();
        }
        Db.dropAndClose(servers.get(0));
    }

    /** Options on a channel prefix of the test's own, so tests never hear each other. */
    static BroadcastOptions options() {
        return BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("bc"));
    }

    static List<ClusterNode> join(BroadcastOptions options, String namespace) {
        List<ClusterNode> nodes = new ArrayList<>();
        for (Pgkit pgkit : servers) {
            nodes.add(pgkit.broadcast(options).join(namespace));
        }
        return nodes;
    }

    static void await(String what, long seconds, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    record Received(String from, int thread, int seq, int size) {
    }

    @Test
    void everyMessageReachesEveryOtherNodeExactlyOnceInOrderPerSender() throws Exception {
        BroadcastOptions options = options();
        List<ClusterNode> nodes = join(options, "/");
        int threads = 4;
        int perThread = 150;
        List<List<Received>> received = new ArrayList<>();
        for (ClusterNode node : nodes) {
            List<Received> mine = new CopyOnWriteArrayList<>();
            received.add(mine);
            node.on("m", e -> {
                int size = e.args().get(2).isBinary() ? e.arg(2, byte[].class).length : e.args().get(2).asText().length();
                mine.add(new Received(e.from(), e.arg(0, Integer.class), e.arg(1, Integer.class), size));
            });
        }
        ExecutorService pool = Executors.newFixedThreadPool(NODES * threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (ClusterNode node : nodes) {
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        for (int seq = 0; seq < perThread; seq++) {
                            Object payload = switch (seq % 10) {
                                case 3 -> "x".repeat(9_000); // spilled: over the NOTIFY limit
                                case 7 -> new byte[] {1, 2, (byte) seq}; // spilled: binary
                                default -> "small";
                            };
                            node.serverSideEmit("m", thread, seq, payload);
                        }
                        return null;
                    }));
                }
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        int expected = (NODES - 1) * threads * perThread;
        await("every node received every other node's messages", 60, () -> received.stream().allMatch(r -> r.size() >= expected));
        Thread.sleep(300); // a duplicate would arrive right behind
        for (int n = 0; n < NODES; n++) {
            List<Received> mine = received.get(n);
            String self = nodes.get(n).uid();
            assertThat(mine).as("node %d receives each message once", n).hasSize(expected).doesNotHaveDuplicates();
            assertThat(mine).as("never its own").noneMatch(r -> r.from().equals(self));
            Map<String, Integer> last = new ConcurrentHashMap<>();
            for (Received r : mine) {
                Integer previous = last.put(r.from() + "/" + r.thread(), r.seq());
                assertThat(r.seq()).as("in order per sender").isEqualTo(previous == null ? 0 : previous + 1);
                assertThat(r.size()).isEqualTo(r.seq() % 10 == 3 ? 9_000 : r.seq() % 10 == 7 ? 3 : 5);
            }
        }
        Broadcast first = servers.get(0).broadcast(options);
        assertThat(first.batchesSent()).as("concurrent senders share statements").isLessThan(first.notificationsSent());
        assertThat(first.missingAttachments()).isZero();
        nodes.forEach(ClusterNode::close);
    }

    @Test
    void oneThreadSendingWithoutWaitingIsBatchedAndKeepsItsOrder() throws Exception {
        BroadcastOptions options = options();
        List<ClusterNode> nodes = join(options, "/async");
        List<Received> got = new CopyOnWriteArrayList<>();
        nodes.get(1).on("a", e -> {
            int size = e.args().get(1).isBinary() ? e.arg(1, byte[].class).length : e.args().get(1).asText().length();
            got.add(new Received(e.from(), 0, e.arg(0, Integer.class), size));
        });
        Broadcast sending = servers.get(0).broadcast(options);
        long statements0 = sending.batchesSent();
        long notifications0 = sending.notificationsSent();
        int count = 3_000;
        List<java.util.concurrent.CompletableFuture<Void>> sent = new ArrayList<>();
        for (int seq = 0; seq < count; seq++) {
            Object payload = switch (seq % 50) {
                case 13 -> "x".repeat(9_000); // spilled: over the NOTIFY limit
                case 27 -> new byte[] {1, 2, 3}; // spilled: binary
                default -> "same"; // identical to its neighbours but for the sequence number
            };
            if (seq % 500 == 499) {
                nodes.get(0).serverSideEmit("a", seq, payload); // a waiting send keeps its place among the others
            } else {
                sent.add(nodes.get(0).serverSideEmitAsync("a", seq, payload));
            }
        }
        java.util.concurrent.CompletableFuture.allOf(sent.toArray(new java.util.concurrent.CompletableFuture[0])).get(60, TimeUnit.SECONDS);
        await("every message arrived", 60, () -> got.size() >= count);
        Thread.sleep(300); // a duplicate would arrive right behind
        assertThat(got).hasSize(count);
        for (int i = 0; i < count; i++) {
            assertThat(got.get(i).seq()).as("in the order sent").isEqualTo(i);
            assertThat(got.get(i).size()).isEqualTo(i % 50 == 13 ? 9_000 : i % 50 == 27 ? 3 : 4);
        }
        assertThat(sending.batchesSent() - statements0).as("one thread's messages share statements")
                .isLessThan((sending.notificationsSent() - notifications0) / 2);
        nodes.forEach(ClusterNode::close);
    }

    @Test
    void aCallbackOfAnAsyncSendMaySendAgain() throws Exception {
        List<ClusterNode> nodes = join(options(), "/callback");
        Set<Integer> got = ConcurrentHashMap.newKeySet();
        nodes.get(1).on("c", e -> got.add(e.arg(0, Integer.class)));
        int count = 200;
        List<java.util.concurrent.CompletableFuture<Void>> chained = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int next = count + i;
            // a callback that runs where the batch was sent would wait for that thread's own sender role
            chained.add(nodes.get(0).serverSideEmitAsync("c", i).thenRun(() -> nodes.get(0).serverSideEmit("c", next)));
        }
        java.util.concurrent.CompletableFuture.allOf(chained.toArray(new java.util.concurrent.CompletableFuture[0])).get(20, TimeUnit.SECONDS);
        nodes.get(0).serverSideEmit("c", 2 * count);
        await("every message arrived", 20, () -> got.size() == 2 * count + 1);
        nodes.forEach(ClusterNode::close);
    }

    @Test
    void identicalMessagesSentConcurrentlyAreEachDelivered() throws Exception {
        List<ClusterNode> nodes = join(options(), "/same");
        java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger();
        nodes.get(1).on("same", e -> got.incrementAndGet());
        int threads = 8;
        int each = 100;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        nodes.get(0).serverSideEmit("same", "x"); // PostgreSQL folds identical notifications of one transaction
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        await("every identical message arrived", 30, () -> got.get() >= threads * each);
        Thread.sleep(300);
        assertThat(got.get()).isEqualTo(threads * each);
        nodes.forEach(ClusterNode::close);
    }

    @Test
    void aHeldNodeLosesNothingOfABurstAndHoldsNoOtherNodeOfItsListener() throws Exception {
        int burst = 15_000; // beyond the 10,000 notifications a mailbox once held
        Pgkit shared = servers.get(0);
        Broadcast slowBroadcast = shared.broadcast(options());
        BroadcastOptions other = options();
        try (ClusterNode slow = slowBroadcast.join("/"); ClusterNode neighbour = shared.broadcast(other).join("/");
             ClusterNode sender = servers.get(1).broadcast(other).join("/")) {
            List<Integer> got = new CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            slow.on("burst", e -> {
                got.add(e.arg(0, Integer.class));
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            });
            List<String> neighbourGot = new CopyOnWriteArrayList<>();
            neighbour.on("ping", e -> neighbourGot.add(e.arg(0, String.class)));
            Db.execute(shared, "SELECT pg_notify('" + slow.channel() + "', '{\"type\":9,\"data\":{\"packet\":[\"burst\",' || n || ']},"
                    + "\"uid\":\"burster\",\"nsp\":\"/\"}') FROM generate_series(1, " + burst + ") n");
            await("the first holds the slow node", 10, () -> got.size() == 1);
            sender.serverSideEmit("ping", "while the slow node is held");
            await("its neighbour on the same listener is not held", 5, () -> neighbourGot.size() == 1);
            release.countDown();
            await("the whole burst arrives, or a gap", 60, () -> got.size() == burst || slowBroadcast.gaps() > 0);
            assertThat(got).as("every one, in order").isEqualTo(java.util.stream.IntStream.rangeClosed(1, burst).boxed().toList());
            assertThat(slowBroadcast.gaps()).as("nothing dropped for a gap").isZero();
        }
    }

    @Test
    void nodesCountEachOtherAndAClosedNodeLeavesAtOnce() throws Exception {
        BroadcastOptions options = options().withHeartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60));
        List<ClusterNode> nodes = join(options, "/members");
        await("each node counts " + NODES, 10, () -> nodes.stream().allMatch(n -> n.serverCount() == NODES));
        assertThat(nodes.get(0).nodes()).containsExactlyInAnyOrder(nodes.get(1).uid(), nodes.get(2).uid());
        nodes.get(2).close();
        // far below the 60 s heartbeat timeout: the goodbye removes it
        await("the closed node is gone", 5, () -> nodes.get(0).serverCount() == NODES - 1 && nodes.get(1).serverCount() == NODES - 1);
        assertThat(nodes.get(0).nodes()).doesNotContain(nodes.get(2).uid());
        nodes.get(0).close();
        nodes.get(1).close();
    }

    @Test
    void aSilentNodeIsDroppedAfterTheHeartbeatTimeoutWhileIdleNodesStayCounted() throws Exception {
        BroadcastOptions options = options().withHeartbeat(Duration.ofMillis(300), Duration.ofMillis(1500));
        List<ClusterNode> nodes = join(options, "/heartbeat");
        await("each node counts " + NODES, 10, () -> nodes.stream().allMatch(n -> n.serverCount() == NODES));
        Thread.sleep(3_000); // idle for twice the timeout: heartbeats keep everyone counted
        assertThat(nodes).allMatch(n -> n.serverCount() == NODES);
        nodes.get(2).crash(); // no goodbye
        long start = System.nanoTime();
        await("the crashed node is dropped", 10, () -> nodes.get(0).serverCount() == NODES - 1);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).as("after the heartbeat timeout").isGreaterThanOrEqualTo(1000);
        nodes.get(0).close();
        nodes.get(1).close();
    }

    @Test
    void aRequestCollectsOneAnswerPerLiveNode() throws Exception {
        List<ClusterNode> nodes = join(options(), "/requests");
        await("each node counts " + NODES, 10, () -> nodes.stream().allMatch(n -> n.serverCount() == NODES));
        for (ClusterNode node : nodes) {
            node.on("whoami", e -> e.ack(Map.of("uid", node.uid(), "asked", e.arg(0, String.class))));
        }
        Replies replies = nodes.get(0).serverSideEmitWithAck("whoami", "hello");
        assertThat(replies.isComplete()).isTrue();
        assertThat(replies.values()).extracting(v -> v.get("uid").asText())
                .containsExactlyInAnyOrder(nodes.get(1).uid(), nodes.get(2).uid());
        assertThat(replies.values()).allMatch(v -> v.get("asked").asText().equals("hello"));
        assertThat(nodes.get(1).fetchSockets()).as("Java nodes have no sockets, but answer").isEmpty();
        nodes.forEach(ClusterNode::close);
    }

    @Test
    void aRequestEndsAtItsTimeoutWithWhatArrivedAndNamesTheSilentNode() throws Exception {
        List<ClusterNode> nodes = join(options(), "/timeout");
        await("each node counts " + NODES, 10, () -> nodes.stream().allMatch(n -> n.serverCount() == NODES));
        nodes.get(1).on("q", e -> e.ack("from 1"));
        nodes.get(2).on("q", e -> { }); // never answers
        long start = System.nanoTime();
        Replies replies = nodes.get(0).serverSideEmitWithAck(Duration.ofMillis(1500), "q");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(millis).isBetween(1400L, 5000L);
        assertThat(replies.values()).extracting(JsonNode::asText).containsExactly("from 1");
        assertThat(replies.missingNodes()).containsExactly(nodes.get(2).uid());
        org.assertj.core.api.Assertions.assertThatThrownBy(replies::requireComplete)
                .isInstanceOf(dev.pgkit.PgkitTimeoutException.class).hasMessageContaining(nodes.get(2).uid());
        nodes.forEach(ClusterNode::close);
    }

    @Test
    void aRequestStopsWaitingForANodeThatDiesMidRequest() throws Exception {
        BroadcastOptions options = options().withHeartbeat(Duration.ofMillis(300), Duration.ofMillis(1500)).withRequestsTimeout(Duration.ofSeconds(30));
        List<ClusterNode> nodes = join(options, "/dies");
        await("each node counts " + NODES, 10, () -> nodes.stream().allMatch(n -> n.serverCount() == NODES));
        nodes.get(1).on("q", e -> e.ack("from 1"));
        nodes.get(2).on("q", e -> nodes.get(2).crash()); // dies instead of answering
        long start = System.nanoTime();
        Replies replies = nodes.get(0).serverSideEmitWithAck("q");
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(millis).as("ends after the heartbeat timeout, not the 30 s request timeout").isLessThan(10_000);
        assertThat(replies.values()).extracting(JsonNode::asText).containsExactly("from 1");
        assertThat(replies.isComplete()).as("the dead node is no longer expected").isTrue();
        nodes.get(0).close();
        nodes.get(1).close();
    }

    @Test
    void aClosedNodeRefusesToSendAndItsGoodbyeEndsOthersRequests() throws Exception {
        List<ClusterNode> nodes = join(options().withRequestsTimeout(Duration.ofSeconds(30)), "/goodbye");
        await("each node counts " + NODES, 10, () -> nodes.stream().allMatch(n -> n.serverCount() == NODES));
        nodes.get(1).on("q", e -> e.ack(1));
        nodes.get(2).on("q", e -> new Thread(nodes.get(2)::close).start()); // leaves instead of answering
        long start = System.nanoTime();
        Replies replies = nodes.get(0).serverSideEmitWithAck("q");
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)).isLessThan(5_000);
        assertThat(replies.isComplete()).isTrue();
        assertThat(replies.values()).hasSize(1);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> nodes.get(2).serverSideEmit("late"))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        nodes.get(0).close();
        nodes.get(1).close();
    }

    static byte[] bytes(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 7);
        return b;
    }

    static Set<String> uids(List<ClusterNode> nodes) {
        return Set.copyOf(nodes.stream().map(ClusterNode::uid).toList());
    }
}
