package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad options, names and payloads are refused with a clear message before any SQL, and nothing is sent. */
@ExtendWith(PostgresExtension.class)
class BroadcastBadInputTest {
    static Pgkit pgkit;
    static TestPostgres postgres;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        pgkit = Db.pgkit(server, TestPostgres.uniqueName("broadcast_bad"));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    @Test
    void hostilePrefixesAndTableNamesAreRejected() {
        BroadcastOptions defaults = BroadcastOptions.defaults();
        assertThatThrownBy(() -> defaults.withChannelPrefix("x\"; DROP TABLE t; --")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("channelPrefix").hasMessageContaining("double quotes");
        assertThatThrownBy(() -> defaults.withChannelPrefix("a\nb")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("channelPrefix");
        assertThatThrownBy(() -> defaults.withChannelPrefix("")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("channelPrefix");
        assertThatThrownBy(() -> defaults.withChannelPrefix(null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("channelPrefix");
        assertThatThrownBy(() -> defaults.withChannelPrefix("p".repeat(49))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("48 bytes");
        assertThatThrownBy(() -> defaults.withTableName("t; DROP TABLE x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tableName").hasMessageContaining("not a safe identifier");
        assertThatThrownBy(() -> defaults.withTableName("\"quoted\"")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tableName");
        assertThatThrownBy(() -> defaults.withPayloadThreshold(0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("payloadThreshold");
        assertThatThrownBy(() -> defaults.withRequestsTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("requestsTimeout");
        assertThatThrownBy(() -> defaults.withHeartbeat(Duration.ofSeconds(5), Duration.ofSeconds(5))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("heartbeatTimeout");
        assertThatThrownBy(() -> defaults.withCleanupInterval(null)).isInstanceOf(NullPointerException.class).hasMessageContaining("cleanupInterval");
    }

    @Test
    void aNamespaceWhoseChannelExceeds63BytesIsRejectedWithAMessage() {
        Broadcast broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("long")));
        String prefix = broadcast.options().channelPrefix();
        String fits = "/" + "n".repeat(63 - prefix.length() - 2); // prefix + '#' + namespace = 63 bytes
        String tooLong = fits + "n";
        assertThatThrownBy(() -> broadcast.join(tooLong)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("namespace '" + tooLong + "'").hasMessageContaining("63 bytes");
        assertThatThrownBy(() -> broadcast.emitter().of(tooLong)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("63 bytes");
        assertThatThrownBy(() -> broadcast.join("/é".repeat(20))).as("bytes, not characters").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> broadcast.join("/a\"b")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("double quotes");
        assertThatThrownBy(() -> broadcast.join("")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("namespace");
        assertThat(pgkit.status().channels()).noneMatch(c -> c.startsWith(prefix));
        try (ClusterNode node = broadcast.join(fits)) {
            assertThat(node.channel().getBytes(java.nio.charset.StandardCharsets.UTF_8)).hasSize(63);
        }
    }

    @Test
    void anUnencodablePayloadGivesAClearErrorAndSendsNothing() throws Exception {
        Broadcast broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("enc")));
        try (ClusterNode sender = broadcast.join("/"); Pgkit other = Db.pgkit(postgres, pgkit.schema());
             ClusterNode receiver = other.broadcast(broadcast.options()).join("/")) {
            List<String> got = new CopyOnWriteArrayList<>();
            receiver.on("e", e -> got.add(e.args().toString()));
            Map<String, Object> cycle = new HashMap<>();
            cycle.put("self", cycle);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while ((sender.serverCount() < 2 || receiver.serverCount() < 2) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(300); // the answer to the receiver's initial heartbeat is out
            long sent = broadcast.notificationsSent();
            assertThatThrownBy(() -> sender.serverSideEmit("e", cycle)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("argument 0 of event 'e' cannot be encoded");
            assertThatThrownBy(() -> sender.serverSideEmit("e", Double.NaN)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("no JSON form");
            assertThatThrownBy(() -> sender.serverSideEmit("e", "ok", new Object())).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("argument 1 of event 'e' cannot be encoded");
            assertThatThrownBy(() -> sender.serverSideEmit("e", Map.of(1, "x"))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a String");
            assertThatThrownBy(() -> sender.serverSideEmit("", "x")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("event");
            assertThatThrownBy(() -> sender.serverSideEmit(null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("event");
            assertThatThrownBy(() -> broadcast.emitter().emit("connect")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
            assertThatThrownBy(() -> broadcast.emitter().to((String) null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("room");
            assertThatThrownBy(() -> broadcast.emitter().socketsJoin()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one room");
            assertThatThrownBy(() -> sender.serverSideEmitWithAck(Duration.ZERO, "e")).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeout");
            assertThat(broadcast.notificationsSent()).as("nothing was sent").isEqualTo(sent);
            sender.serverSideEmit("e", "fine");
            while (got.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(got).as("only the good message arrived").containsExactly("[\"fine\"]");
        }
    }
}
