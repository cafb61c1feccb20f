package dev.pgkit.broadcast;

import dev.pgkit.internal.Cleanup;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import dev.pgkit.internal.StatusTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The broadcast adapter's component for given options: the Node adapter's attachment table under its
 * configured name (plus an index on {@code created_at} for cleanup), the privileges its statements need,
 * the cleanup of attachments older than {@link Broadcast#ATTACHMENT_SAFE_AGE}, and what
 * {@code pgkit status} counts.
 */
final class BroadcastSchema {
    /** The attachment table's default name, its placeholder in the DDL. */
    static final String ATTACHMENTS = BroadcastOptions.DEFAULT_TABLE;
    static final String CLEANUP_NAME = "broadcast.attachments.old";
    /** The durable mode's message table. */
    static final String MESSAGES = "pgkit_broadcast_messages";
    static final String MESSAGES_CLEANUP_NAME = "broadcast.messages.expired";

    private static final SchemaComponent SCHEMA = new SchemaComponent("broadcast",
            List.of(new Migration(1, "Socket.IO attachment table", "dev/pgkit/schema/broadcast/V1__attachments.sql"),
                    new Migration(2, "durable messages", "dev/pgkit/schema/broadcast/V2__durable_messages.sql"),
                    new Migration(3, "lz4 compression of stored messages", "dev/pgkit/schema/broadcast/V3__lz4_payloads.sql")),
            requirements());

    private BroadcastSchema() {
    }

    static Identifier table(BroadcastOptions options) {
        return Identifier.of("tableName", options.tableName());
    }

    static Component component(BroadcastOptions options) {
        String table = options.tableName();
        List<Cleanup> cleanups = new ArrayList<>(List.of(cleanup(table, Broadcast.ATTACHMENT_SAFE_AGE)));
        options.durableRetention().ifPresent(retention -> cleanups.add(messagesCleanup(retention)));
        return new Component(SCHEMA.bind(null, Map.of(ATTACHMENTS, table(options))), cleanups,
                List.of(new StatusTable(table, Optional.of("created_at < now() - interval '" + Broadcast.ATTACHMENT_SAFE_AGE.toSeconds() + " seconds'")),
                        StatusTable.kept(MESSAGES)));
    }

    static Cleanup messagesCleanup(java.time.Duration retention) {
        return Cleanup.olderThan(MESSAGES_CLEANUP_NAME, MESSAGES, "created_at", retention);
    }

    static Cleanup cleanup(String table, java.time.Duration age) {
        return Cleanup.olderThan(CLEANUP_NAME, table, "created_at", age);
    }

    private static List<Requirement> requirements() {
        List<Requirement> all = new ArrayList<>();
        all.add(Requirement.table(ATTACHMENTS, "DELETE"));
        all.addAll(Requirement.columns(ATTACHMENTS, "SELECT", "id", "created_at", "payload"));
        all.addAll(Requirement.columns(ATTACHMENTS, "INSERT", "payload"));
        all.addAll(Requirement.columns(ATTACHMENTS, "UPDATE", "created_at")); // cleanup locks rows FOR UPDATE: any column's UPDATE
        all.add(Requirement.serial(ATTACHMENTS, "id"));
        all.add(Requirement.table(MESSAGES, "DELETE"));
        all.addAll(Requirement.columns(MESSAGES, "SELECT", "seq", "tx", "channel", "sender", "message", "created_at"));
        all.addAll(Requirement.columns(MESSAGES, "INSERT", "channel", "sender", "message"));
        all.addAll(Requirement.columns(MESSAGES, "UPDATE", "created_at")); // cleanup locks rows FOR UPDATE
        all.add(Requirement.serial(MESSAGES, "seq"));
        return all;
    }
}
