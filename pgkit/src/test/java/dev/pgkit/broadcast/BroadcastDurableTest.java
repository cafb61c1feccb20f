package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Durable mode: messages live in a table and NOTIFY only wakes the readers, so a listener that reconnects,
 * or a node that rejoins from its offset, misses nothing and sees nothing twice, even when a publishing
 * transaction stays open while later ones commit.
 */
@ExtendWith(PostgresExtension.class)
class BroadcastDurableTest {
    static Pgkit senderKit;
    static Pgkit receiverKit;
    static String schema;

    @BeforeAll
    static void setUp(TestPostgres server) {
        schema = TestPostgres.uniqueName("broadcast_durable");
        senderKit = Db.builder(server, schema).poolSize(10).build();
        receiverKit = Db.builder(server, schema).poolSize(4).build();
    }

    @AfterAll
    static void tearDown() {
        receiverKit.close();
        Db.dropAndClose(senderKit);
    }

    static BroadcastOptions options() {
        return BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("dur")).withDurable(Duration.ofHours(1));
    }

    record Got(String from, int thread, int seq) {
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

    static void assertOncePerSenderInOrder(List<Got> got) {
        assertThat(got).doesNotHaveDuplicates();
        Map<String, Integer> last = new HashMap<>();
        for (Got g : got) {
            Integer previous = last.put(g.from() + "/" + g.thread(), g.seq());
            assertThat(g.seq()).as("in order per sender: %s after %s", g, previous).isEqualTo(previous == null ? 0 : previous + 1);
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command")
    void tenThousandMessagesAcrossAKilledListenerAndAHeldOpenTransactionArriveExactlyOnceInOrder() throws Exception {
        BroadcastOptions options = options();
        ClusterNode sender = senderKit.broadcast(options).join("/");
        Broadcast receiving = receiverKit.broadcast(options);
        ClusterNode receiver = receiving.join("/");
        List<Got> got = new CopyOnWriteArrayList<>();
        receiver.on("d", e -> got.add(new Got(e.from(), e.arg(0, Integer.class), e.arg(1, Integer.class))));

        // a publisher whose transaction stays open while every later one commits
        Connection held = senderKit.dataSource().getConnection();
        held.setAutoCommit(false);
        try (PreparedStatement insert = held.prepareStatement("INSERT INTO \"" + schema + "\".pgkit_broadcast_messages (channel, sender, message) VALUES (?, ?, ?)")) {
            insert.setString(1, receiver.channel());
            insert.setString(2, "held");
            insert.setBytes(3, Outgoing.durable(receiver.channel(), Wire.SERVER_SIDE_EMIT,
                    Wire.JSON.readTree("{\"packet\":[\"d\",0,0]}"), "held", "/").attachment());
            insert.executeUpdate();
        }

        int threads = 4;
        int perThread = 2_500;
        AtomicInteger sent = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int seq = 0; seq < perThread; seq++) {
                        sender.serverSideEmit("d", thread, seq);
                        sent.incrementAndGet();
                    }
                    return null;
                }));
            }
            await("half is sent", 120, () -> sent.get() >= threads * perThread / 2);
            int pid = receiverKit.status().listenerBackendPid().orElseThrow();
            Db.execute(senderKit, "SELECT pg_terminate_backend(" + pid + ")");
            for (Future<?> f : done) {
                f.get(300, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        Thread.sleep(500);
        assertThat(got).as("nothing committed after the open transaction began is delivered before it ends").isEmpty();
        held.commit();
        held.close();
        int expected = threads * perThread + 1;
        await("every message arrived", 120, () -> got.size() >= expected);
        Thread.sleep(500);
        assertThat(got).hasSize(expected);
        assertOncePerSenderInOrder(got);
        assertThat(got).contains(new Got("held", 0, 0));
        assertThat(receiverKit.status().listenerReconnects()).as("the listener was killed and came back").isGreaterThanOrEqualTo(1);
        assertThat(receiving.unreadableMessages()).as("the wake-ups are not messages").isZero();
        assertThat(senderKit.broadcast(options).batchesSent()).as("batched").isLessThan(threads * perThread);
        receiver.close();
        sender.close();
    }

    @Test
    void aNodeRejoiningFromItsOffsetReceivesWhatWasPublishedMeanwhileAndANewNodeStartsNow() throws Exception {
        BroadcastOptions options = options();
        ClusterNode sender = senderKit.broadcast(options).join("/");
        Broadcast receiving = receiverKit.broadcast(options);
        ClusterNode first = receiving.join("/");
        List<Got> before = new CopyOnWriteArrayList<>();
        first.on("d", e -> before.add(new Got(e.from(), 0, e.arg(0, Integer.class))));
        for (int i = 0; i < 10; i++) {
            sender.serverSideEmit("d", i);
        }
        await("the first 10 arrive", 30, () -> before.size() == 10);
        LogOffset offset = first.offset().orElseThrow();
        first.close();
        List<java.util.concurrent.CompletableFuture<Void>> meanwhile = new ArrayList<>();
        for (int i = 10; i < 30; i++) {
            meanwhile.add(sender.serverSideEmitAsync("d", i)); // while no receiver runs; stored in batches, in order
        }
        java.util.concurrent.CompletableFuture.allOf(meanwhile.toArray(new java.util.concurrent.CompletableFuture[0])).get(30, TimeUnit.SECONDS);
        ClusterNode fresh = receiving.join("/"); // joins now: sees none of the above
        ClusterNode resumed = receiving.join("/", offset);
        List<Integer> after = new CopyOnWriteArrayList<>();
        List<Integer> freshGot = new CopyOnWriteArrayList<>();
        resumed.on("d", e -> after.add(e.arg(0, Integer.class)));
        fresh.on("d", e -> freshGot.add(e.arg(0, Integer.class)));
        sender.serverSideEmit("d", 30);
        await("the resumed node catches up", 30, () -> after.size() == 21);
        await("the fresh node gets the new one", 30, () -> freshGot.size() == 1);
        Thread.sleep(300);
        assertThat(after).as("exactly what was published after its offset, in order").containsExactlyElementsOf(
                java.util.stream.IntStream.range(10, 31).boxed().toList());
        assertThat(freshGot).containsExactly(30);
        fresh.close();
        resumed.close();
        sender.close();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> senderKit.broadcast(BroadcastOptions.defaults()).join("/", offset))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("durable");
    }

    @Test
    void everyServerSideEventIsDurableAndAReplayDoesNotReviveItsSender() throws Exception {
        BroadcastOptions options = options().withHeartbeat(Duration.ofSeconds(30), Duration.ofSeconds(60));
        Broadcast sending = senderKit.broadcast(options);
        ClusterNode node = sending.join("/");
        Emitter emitter = sending.emitter();
        Broadcast receiving = receiverKit.broadcast(options);
        ClusterNode first = receiving.join("/");
        List<String> before = new CopyOnWriteArrayList<>();
        first.on("d", e -> before.add(e.arg(0, String.class)));
        node.serverSideEmit("d", "start");
        await("the first arrives", 30, () -> before.size() == 1);
        LogOffset offset = first.offset().orElseThrow();
        first.close();

        // while no receiver runs: from a node, from its clients(), from an emitter; then the node leaves
        node.serverSideEmit("d", "node");
        node.clients().serverSideEmit("d", "clients");
        emitter.serverSideEmit("d", "emitter");
        String gone = node.uid();
        node.close();

        ClusterNode resumed = receiving.join("/", offset);
        List<String> after = new CopyOnWriteArrayList<>();
        resumed.on("d", e -> after.add(e.from() + ":" + e.arg(0, String.class)));
        await("the resumed node catches up", 30, () -> after.size() == 3);
        assertThat(after).containsExactly(gone + ":node", gone + ":clients", "emitter:emitter");
        assertThat(resumed.nodes()).as("a replayed message says nothing of who is alive now").doesNotContain(gone);
        resumed.close();
    }

    @Test
    void aNodePublishingOnlyDurableMessagesStaysCounted() throws Exception {
        publishOnlyDurableMessagesAndStayCounted(false);
    }

    @Test
    void aNodePublishingOnlyDurableMessagesWithoutWaitingStaysCounted() throws Exception {
        publishOnlyDurableMessagesAndStayCounted(true);
    }

    private void publishOnlyDurableMessagesAndStayCounted(boolean async) throws Exception {
        BroadcastOptions options = options().withHeartbeat(Duration.ofMillis(300), Duration.ofMillis(1500));
        ClusterNode receiver = receiverKit.broadcast(options).join("/");
        List<Integer> got = new CopyOnWriteArrayList<>();
        receiver.on("d", e -> got.add(e.arg(0, Integer.class)));
        ClusterNode sender = senderKit.broadcast(options).join("/");
        await("the receiver counts the sender", 10, () -> receiver.nodes().contains(sender.uid()));
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(3); // twice the heartbeat timeout
        int sent = 0;
        while (System.nanoTime() < end) {
            if (async) {
                sender.serverSideEmitAsync("d", sent++);
            } else {
                sender.serverSideEmit("d", sent++);
            }
            assertThat(receiver.nodes()).as("still counted after %d durable messages", sent).contains(sender.uid());
            Thread.sleep(50);
        }
        int total = sent;
        await("every message arrived", 30, () -> got.size() == total);
        sender.close();
        receiver.close();
    }
}
