package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.OutcomeUnknownException;
import dev.pgkit.Pgkit;
import dev.pgkit.PgkitException;
import dev.pgkit.testing.EmbeddedPostgres;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The server restarted under a stream of durable messages: every message whose send returned is delivered,
 * none twice, in order per sender; a send that failed with an unknown outcome may or may not arrive, once.
 * The nodes count each other again afterwards.
 */
@ExtendWith(PostgresExtension.class)
class BroadcastRestartTest {

    @Test
    @ExpectServerLog({"terminating connection due to administrator command", // open sessions at the fast shutdown
            "canceling authentication due to timeout", // a reconnect still authenticating at the fast shutdown
            "the database system is shutting down", "the database system is starting up", // reconnects meanwhile
            "the database system is not yet accepting connections"})
    void durableMessagesArriveExactlyOnceAcrossAServerRestart() throws Exception {
        try (EmbeddedPostgres server = EmbeddedPostgres.start("broadcast-restart");
             Pgkit senderKit = Pgkit.builder().url(server.jdbcUrl()).poolSize(8).disableHousekeeping().build();
             Pgkit receiverKit = Pgkit.builder().url(server.jdbcUrl()).poolSize(4).disableHousekeeping().build()) {
            BroadcastOptions options = BroadcastOptions.defaults().withChannelPrefix("restart").withDurable(Duration.ofHours(1))
                    .withHeartbeat(Duration.ofMillis(500), Duration.ofSeconds(3));
            ClusterNode sender = senderKit.broadcast(options).join("/");
            ClusterNode receiver = receiverKit.broadcast(options).join("/");
            List<String> got = new CopyOnWriteArrayList<>();
            receiver.on("d", e -> got.add(e.arg(0, Integer.class) + ":" + e.arg(1, Integer.class)));

            int threads = 4;
            int perThread = 2_500;
            Set<String> committed = ConcurrentHashMap.newKeySet();
            Set<String> unknown = ConcurrentHashMap.newKeySet();
            AtomicInteger attempts = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    done.add(pool.submit(() -> {
                        for (int seq = 0; seq < perThread; seq++) {
                            String key = thread + ":" + seq;
                            attempts.incrementAndGet();
                            try {
                                sender.serverSideEmit("d", thread, seq);
                                committed.add(key);
                            } catch (OutcomeUnknownException e) {
                                unknown.add(key);
                                Thread.sleep(50);
                            } catch (PgkitException e) {
                                Thread.sleep(50); // not sent (no connection): the next message goes on
                            }
                        }
                        return null;
                    }));
                }
                while (attempts.get() < threads * perThread / 3) {
                    Thread.sleep(20);
                }
                server.stop();
                server.start();
                for (Future<?> f : done) {
                    f.get(300, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!Set.copyOf(got).containsAll(committed) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            Thread.sleep(1_000);
            assertThat(committed.size()).as("most sends succeeded").isGreaterThan(threads * perThread / 2);
            assertThat(got).as("every committed message arrived").containsAll(committed);
            assertThat(got).as("none twice").doesNotHaveDuplicates();
            Set<String> possible = new java.util.HashSet<>(committed);
            possible.addAll(unknown);
            assertThat(possible).as("nothing that was never sent").containsAll(got);
            Map<Integer, Integer> last = new HashMap<>();
            for (String g : got) {
                int thread = Integer.parseInt(g.substring(0, g.indexOf(':')));
                int seq = Integer.parseInt(g.substring(g.indexOf(':') + 1));
                Integer previous = last.put(thread, seq);
                assertThat(previous == null || seq > previous).as("in order per sender: %s after %s", g, previous).isTrue();
            }
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while ((sender.serverCount() != 2 || receiver.serverCount() != 2) && System.nanoTime() < until) {
                Thread.sleep(50);
            }
            assertThat(sender.serverCount()).as("membership is back after the restart").isEqualTo(2);
            assertThat(receiver.serverCount()).isEqualTo(2);
            receiver.close();
            sender.close();
        }
    }
}
