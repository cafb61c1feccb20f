package dev.pgkit.broadcast;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The attachment table as Node writes it: ids announced as JSON strings (node-postgres returns bigint as
 * text) or numbers, a missing attachment logged and counted without stopping the channel, unreadable
 * notifications skipped, and cleanup that keeps young attachments and deletes old ones by an index.
 */
@ExtendWith(PostgresExtension.class)
class BroadcastAttachmentTest {
    static Pgkit pgkit;
    static String schema;
    static TestPostgres postgres;

    @BeforeAll
    static void setUp(TestPostgres server) {
        postgres = server;
        schema = TestPostgres.uniqueName("broadcast_attachments");
        pgkit = Db.pgkit(server, schema);
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    static long insertAttachment(String json) throws Exception {
        try (Connection c = pgkit.dataSource().getConnection();
             PreparedStatement s = c.prepareStatement("INSERT INTO \"" + schema + "\".socket_io_attachments (payload) VALUES (?) RETURNING id")) {
            s.setBytes(1, Wire.msgpack(Wire.JSON.readTree(json)));
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static void notify(String channel, String payload) throws Exception {
        try (Connection c = pgkit.dataSource().getConnection(); PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            s.setString(1, channel);
            s.setString(2, payload);
            s.executeQuery().close();
        }
    }

    static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(20);
        }
    }

    static String event(String uid, String arg) {
        return "{\"type\":9,\"data\":{\"packet\":[\"att\",\"" + arg + "\"]},\"uid\":\"" + uid + "\",\"nsp\":\"/\"}";
    }

    @Test
    void attachmentIdsAsStringsOrNumbersAreReadAndAMissingOneIsCountedNotFatal() throws Exception {
        Broadcast broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("att")));
        try (ClusterNode node = broadcast.join("/")) {
            List<String> got = new CopyOnWriteArrayList<>();
            node.on("att", e -> got.add(e.arg(0, String.class)));
            long asString = insertAttachment(event("nodeA", "via string id"));
            long asNumber = insertAttachment(event("nodeA", "via number id"));
            notify(node.channel(), "{\"uid\":\"nodeA\",\"type\":9,\"attachmentId\":\"" + asString + "\"}");
            notify(node.channel(), "{\"uid\":\"nodeA\",\"type\":9,\"attachmentId\":" + asNumber + "}");
            notify(node.channel(), "{\"uid\":\"nodeA\",\"type\":9,\"attachmentId\":\"999999999\"}"); // never stored
            notify(node.channel(), "not json");
            notify(node.channel(), "{\"uid\":\"nodeA\",\"type\":9,\"attachmentId\":\"1; DROP TABLE x\"}");
            notify(node.channel(), event("nodeA", "inline after the bad ones"));
            await("the good messages arrive", () -> got.size() == 3);
            assertThat(got).containsExactly("via string id", "via number id", "inline after the bad ones");
            assertThat(broadcast.missingAttachments()).isEqualTo(1);
            assertThat(broadcast.unreadableMessages()).isEqualTo(2);
            assertThat(node.nodes()).as("the sender is counted").contains("nodeA");
        }
    }

    @Test
    void aDeliveredBatchReadsItsAttachmentsInOneQueryAndKeepsTheirOrder() throws Exception {
        Broadcast broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("batch")));
        try (ClusterNode node = broadcast.join("/");
             ClusterNode probe = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("probe"))).join("/")) {
            List<String> probed = new CopyOnWriteArrayList<>();
            probe.on("att", e -> probed.add(e.arg(0, String.class)));
            List<String> got = new CopyOnWriteArrayList<>();
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            node.on("att", e -> {
                got.add(e.arg(0, String.class));
                try {
                    release.await(20, TimeUnit.SECONDS); // holds the node while the batch queues up behind the first
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            });
            notify(node.channel(), event("nodeA", "first"));
            await("the first holds the node", () -> got.size() == 1);
            long readsBefore = broadcast.attachmentReads();
            List<String> expected = new java.util.ArrayList<>(List.of("first"));
            for (int i = 0; i < 30; i++) {
                String arg = "m" + i;
                expected.add(arg);
                if (i % 3 == 0) {
                    notify(node.channel(), event("nodeA", arg)); // inline, between the attachments
                } else {
                    long id = insertAttachment(event("nodeA", arg));
                    notify(node.channel(), "{\"uid\":\"nodeA\",\"type\":9,\"attachmentId\":" + (i % 2 == 0 ? "\"" + id + "\"" : id) + "}");
                }
            }
            // the shared listener hands on notifications in commit order: once the probe's is in, so is the batch
            notify(probe.channel(), event("nodeA", "probe"));
            await("the probe arrives", () -> probed.size() == 1);
            release.countDown();
            await("the batch arrives", () -> got.size() == 31);
            assertThat(got).as("in the order sent").containsExactlyElementsOf(expected);
            assertThat(broadcast.attachmentReads() - readsBefore).as("20 attachments, queued together, read in one query").isEqualTo(1);
        }
    }

    @Test
    void aNodeNeverReadsItsOwnAttachments() throws Exception {
        Broadcast broadcast = pgkit.broadcast(BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("own")));
        try (ClusterNode node = broadcast.join("/")) {
            node.serverSideEmit("big", "x".repeat(10_000));
            // a header naming this node with an attachment that does not exist: a reader that fetched it would count it missing
            notify(node.channel(), "{\"uid\":\"" + node.uid() + "\",\"type\":9,\"attachmentId\":\"999999998\"}");
            node.serverSideEmit("marker");
            Thread.sleep(500);
            assertThat(broadcast.missingAttachments()).isZero();
        }
    }

    @Test
    void cleanupDeletesOnlyAttachmentsOlderThanTheSafeAgeByAnIndex() throws Exception {
        long young = insertAttachment("{\"a\":1}");
        long old = insertAttachment("{\"a\":2}");
        Db.execute(pgkit, "UPDATE \"" + schema + "\".socket_io_attachments SET created_at = now() - interval '"
                + (Broadcast.ATTACHMENT_SAFE_AGE.toSeconds() + 60) + " seconds' WHERE id = " + old);
        pgkit.broadcast();
        pgkit.cleanup();
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\".socket_io_attachments WHERE id = " + young)).isEqualTo(1);
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\".socket_io_attachments WHERE id = " + old)).isZero();
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema
                + "' AND tablename = 'socket_io_attachments' AND indexdef LIKE '%(created_at)%'")).isEqualTo(1);
    }

    @Test
    void aConfiguredTableNameHoldsTheAttachments() throws Exception {
        BroadcastOptions options = BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("tbl")).withTableName("Custom_Attachments");
        try (Pgkit other = Db.pgkit(postgres, schema); ClusterNode sender = pgkit.broadcast(options).join("/");
             ClusterNode receiver = other.broadcast(options).join("/")) {
            List<Integer> sizes = new CopyOnWriteArrayList<>();
            receiver.on("big", e -> sizes.add(e.arg(0, String.class).length()));
            sender.serverSideEmit("big", "x".repeat(9_000));
            await("the spilled message arrives", () -> sizes.size() == 1);
            assertThat(sizes).containsExactly(9_000);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\".\"Custom_Attachments\"")).isEqualTo(1);
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema
                    + "' AND indexname = 'Custom_Attachments_created_at'")).isEqualTo(1);
        }
    }

    @Test
    void storedMessagesAreCompressedWithLz4WhereTheServerHasIt() throws Exception {
        boolean lz4 = Db.scalar(pgkit, "SELECT count(*) FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)") == 1;
        BroadcastOptions options = BroadcastOptions.defaults().withChannelPrefix(TestPostgres.uniqueName("lz4"));
        try (ClusterNode sender = pgkit.broadcast(options).join("/")) {
            sender.serverSideEmit("big", "{\"compressible\": true}".repeat(1_000));
        }
        String table = "\"" + schema + "\".socket_io_attachments";
        long compressedWith = Db.scalar(pgkit, "SELECT count(*) FROM " + table + " WHERE id = (SELECT max(id) FROM " + table + ")"
                + " AND pg_column_compression(payload) = '" + (lz4 ? "lz4" : "pglz") + "'");
        assertThat(compressedWith).as("the newest attachment is compressed with " + (lz4 ? "lz4" : "pglz")).isEqualTo(1);
        assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_attribute WHERE attrelid = '\"" + schema + "\".pgkit_broadcast_messages'::regclass"
                + " AND attname = 'message' AND attcompression = '" + (lz4 ? "l" : "") + "'")).as("the durable messages' column").isEqualTo(1);
    }

    /** The lz4 migration takes an exclusive lock on a table Node servers may be using: it must not wait long for it, nor fail. */
    @Test
    void theLz4MigrationWaitsBrieflyForABusyTableThenLeavesItAsItIs() throws Exception {
        String busy = TestPostgres.uniqueName("lz4_busy");
        String attachments = "\"" + busy + "\".socket_io_attachments";
        try (Pgkit first = Db.pgkit(postgres, busy)) {
            first.broadcast();
            Db.execute(first, "DELETE FROM \"" + busy + "\".pgkit_schema_version WHERE component = 'broadcast' AND version = 3");
            Db.execute(first, "ALTER TABLE " + attachments + " ALTER COLUMN payload SET COMPRESSION pglz");
            try (Connection holder = first.dataSource().getConnection(); java.sql.Statement s = holder.createStatement()) {
                holder.setAutoCommit(false);
                s.execute("LOCK TABLE " + attachments + " IN ACCESS SHARE MODE"); // what a Node server's SELECT holds
                long start = System.nanoTime();
                try (Pgkit second = Db.pgkit(postgres, busy)) {
                    second.broadcast();
                }
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as("waited for the lock at most its 2 s bound").isLessThan(Duration.ofSeconds(10));
                holder.rollback();
            }
            assertThat(Db.scalar(first, "SELECT count(*) FROM pg_attribute WHERE attrelid = '" + attachments + "'::regclass"
                    + " AND attname = 'payload' AND attcompression = 'p'")).as("the busy table kept its compression").isEqualTo(1);
            assertThat(Db.scalar(first, "SELECT count(*) FROM \"" + busy + "\".pgkit_schema_version WHERE component = 'broadcast' AND version = 3"))
                    .as("and the migration is done").isEqualTo(1);
            Db.dropAndClose(first);
        }
    }
}
