package dev.pgkit.broadcast;

import dev.pgkit.Pgkit;
import java.time.Duration;

/**
 * A cluster node in a JVM of its own, for {@link BroadcastProcessTest}: joins {@code /} with short heartbeats,
 * answers {@code ping} at once and {@code slow} never, prints its uid, and runs until killed or its standard
 * input ends. Arguments: server URL, schema, channel prefix.
 */
public final class BroadcastChildNode {
    private BroadcastChildNode() {
    }

    public static void main(String[] args) throws Exception {
        Pgkit pgkit = Pgkit.builder().url(args[0]).schema(args[1]).poolSize(2).disableHousekeeping().build();
        ClusterNode node = pgkit.broadcast(BroadcastProcessTest.options(args[2])).join("/");
        node.on("ping", e -> e.ack("child " + node.uid()));
        node.on("slow", e -> { }); // a request this node is in the middle of when it is killed
        System.out.println("uid " + node.uid());
        System.out.flush();
        while (System.in.read() >= 0) {
            // until the parent closes our input (or kills us)
        }
        node.close();
        pgkit.close();
    }
}
