package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Nodes in separate JVMs: a child process ({@link BroadcastChildNode}) is counted, answers requests, leaves
 * at once when it closes, and when killed with {@code kill -9} in the middle of a request is dropped after the
 * heartbeat timeout, which also ends the request without waiting for its 30 s timeout.
 */
@ExtendWith(PostgresExtension.class)
class BroadcastProcessTest {

    static BroadcastOptions options(String prefix) {
        return BroadcastOptions.defaults().withChannelPrefix(prefix).withHeartbeat(Duration.ofMillis(300), Duration.ofMillis(1500))
                .withRequestsTimeout(Duration.ofSeconds(30));
    }

    static Process child(TestPostgres server, String schema, String prefix) throws Exception {
        Set<String> path = new LinkedHashSet<>();
        Path target = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().resolve("target");
        path.add(target.resolve("test-classes").toString());
        path.add(target.resolve("classes").toString());
        for (String property : List.of("jdk.module.path", "java.class.path")) {
            String value = System.getProperty(property);
            if (value != null) {
                for (String entry : value.split(File.pathSeparator)) {
                    if (!entry.isBlank()) {
                        path.add(entry);
                    }
                }
            }
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-cp", String.join(File.pathSeparator, path), BroadcastChildNode.class.getName(),
                server.url(), schema, prefix).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    static String uid(Process child) throws Exception {
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
            try {
                return out.readLine();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        String first = line.get(60, TimeUnit.SECONDS);
        assertThat(first).as("the child printed its uid").startsWith("uid ");
        return first.substring(4);
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

    @Test
    void aChildProcessIsCountedAnswersLeavesAndIsDroppedWhenKilledMidRequest(TestPostgres server) throws Exception {
        String schema = TestPostgres.uniqueName("broadcast_process");
        String prefix = TestPostgres.uniqueName("proc");
        List<Process> children = new ArrayList<>();
        try (Pgkit pgkit = Db.pgkit(server, schema)) {
            ClusterNode parent = pgkit.broadcast(options(prefix)).join("/");
            Process closing = child(server, schema, prefix);
            children.add(closing);
            Process killed = child(server, schema, prefix);
            children.add(killed);
            String closingUid = uid(closing);
            String killedUid = uid(killed);
            await("both children are counted", 20, () -> parent.nodes().containsAll(List.of(closingUid, killedUid)));

            Replies pings = parent.serverSideEmitWithAck("ping");
            assertThat(pings.values()).extracting(v -> v.asText()).containsExactlyInAnyOrder("child " + closingUid, "child " + killedUid);

            closing.getOutputStream().close(); // it closes its node: a goodbye
            await("the closed child is gone at once", 5, () -> !parent.nodes().contains(closingUid));
            assertThat(closing.waitFor(30, TimeUnit.SECONDS)).isTrue();

            CompletableFuture<Replies> slow = CompletableFuture.supplyAsync(() -> parent.serverSideEmitWithAck("slow"));
            Thread.sleep(300); // the request is out, the child will never answer
            long start = System.nanoTime();
            killed.destroyForcibly(); // kill -9: no goodbye
            Replies replies = slow.get(20, TimeUnit.SECONDS);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertThat(millis).as("ended by the heartbeat timeout (1.5 s), not the 30 s request timeout").isLessThan(10_000);
            assertThat(replies.isComplete()).isTrue();
            assertThat(replies.values()).isEmpty();
            assertThat(parent.nodes()).doesNotContain(killedUid);
            parent.close();
            Db.execute(pgkit, "DROP SCHEMA \"" + schema + "\" CASCADE");
        } finally {
            children.forEach(Process::destroyForcibly);
        }
    }
}
