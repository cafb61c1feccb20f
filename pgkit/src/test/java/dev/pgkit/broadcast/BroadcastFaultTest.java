package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The LISTEN connection's backend killed mid-stream: the node reconnects, says what it may have missed, and receives again. */
@ExtendWith(PostgresExtension.class)
class BroadcastFaultTest {

    static void await(String what, long seconds, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    @Test
    @ExpectServerLog("terminating connection due to administrator command")
    void aKilledListenerBackendReconnectsAndMessagesFlowAgain(TestPostgres server) throws Exception {
        String schema = TestPostgres.uniqueName("broadcast_fault");
        BroadcastOptions options = BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("fault"));
        try (Pgkit senderKit = Db.pgkit(server, schema); Pgkit receiverKit = Db.pgkit(server, schema)) {
            ClusterNode sender = senderKit.broadcast(options).join("/");
            Broadcast receiving = receiverKit.broadcast(options);
            ClusterNode receiver = receiving.join("/");
            List<Integer> got = new CopyOnWriteArrayList<>();
            receiver.on("n", e -> got.add(e.arg(0, Integer.class)));
            for (int i = 0; i < 100; i++) {
                sender.serverSideEmit("n", i);
            }
            await("the first 100 arrive", 20, () -> got.size() == 100);

            int pid = receiverKit.status().listenerBackendPid().orElseThrow();
            Db.execute(senderKit, "SELECT pg_terminate_backend(" + pid + ")");
            await("the listener reconnected on another backend", 30, () -> {
                Optional<Integer> now = receiverKit.status().listenerBackendPid();
                return now.isPresent() && now.get() != pid && receiverKit.status().channels().contains(receiver.channel());
            });
            await("the gap is reported", 10, () -> receiving.gaps() == 1);
            for (int i = 100; i < 200; i++) {
                sender.serverSideEmit("n", i);
            }
            await("the next 100 arrive", 20, () -> got.size() == 200);
            assertThat(got).doesNotHaveDuplicates();
            assertThat(got.subList(100, 200)).isSorted();
            assertThat(receiver.nodes()).as("membership survives").contains(sender.uid());
            assertThat(sender.serverSideEmitWithAck("none").isComplete()).as("requests still work (no listeners: one missing)").isFalse();
            receiver.close();
            sender.close();
            Db.execute(senderKit, "DROP SCHEMA \"" + schema + "\" CASCADE");
        }
    }
}
