package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.broadcast.Broadcast;
import dev.pgkit.broadcast.BroadcastOptions;
import dev.pgkit.broadcast.ClusterNode;
import dev.pgkit.broadcast.Replies;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The broadcast adapter's part of the demo: two cluster nodes in one process exchange an event, a request
 * collects the other node's response, a large binary message goes through the attachment table, and a
 * closing node leaves. Every value printed was received by the other node or read back.
 */
final class BroadcastDemo implements CliAdapter.DemoSection {

    @Override
    public void run(Pgkit pgkit, PrintWriter out) throws Exception {
        Broadcast broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix("demo-" + UUID.randomUUID().toString().substring(0, 8)));
        ClusterNode a = broadcast.join("/demo");
        ClusterNode b = broadcast.join("/demo");
        out.println();
        out.println("== broadcast (dev.pgkit.broadcast), channel " + a.channel());
        say(out, "join(/demo) twice", "node A " + a.uid() + ", node B " + b.uid());
        awaitCount(a, 2);
        say(out, "A.serverCount()", a.serverCount() + " (from B's heartbeat)");

        CompletableFuture<String> greeted = new CompletableFuture<>();
        b.on("greet", e -> greeted.complete(e.args() + " from " + e.from()));
        b.on("sum", e -> e.ack(e.arg(0, int[].class).length == 0 ? 0 : java.util.Arrays.stream(e.arg(0, int[].class)).sum()));
        a.serverSideEmit("greet", Map.of("text", "hello"));
        say(out, "A.serverSideEmit(greet, {text: hello})", "B received " + greeted.get(10, TimeUnit.SECONDS));

        Replies replies = a.serverSideEmitWithAck("sum", List.of(1, 2, 3));
        say(out, "A.serverSideEmitWithAck(sum, [1,2,3])", "responses " + replies.values() + ", complete = " + replies.isComplete());

        CompletableFuture<Integer> blob = new CompletableFuture<>();
        b.on("blob", e -> blob.complete(e.arg(0, byte[].class).length));
        a.serverSideEmit("blob", new byte[20_000]);
        say(out, "A.serverSideEmit(blob, 20,000 bytes)", "B received " + blob.get(10, TimeUnit.SECONDS)
                + " bytes through the attachment table (msgpack)");

        b.close();
        long start = System.nanoTime();
        awaitCount(a, 1);
        say(out, "B.close()", "A.serverCount() = " + a.serverCount() + " after " + (System.nanoTime() - start) / 1_000_000
                + " ms (B said goodbye)");
        a.close();
        say(out, "notifications sent", broadcast.notificationsSent() + " in " + broadcast.batchesSent() + " statement(s)");
        out.flush();
    }

    private static void awaitCount(ClusterNode node, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (node.serverCount() != count && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
    }

    private static void say(PrintWriter out, String what, String result) {
        out.printf("  %-34s -> %s%n", what, result);
    }
}
