package dev.pgkit.broadcast;

import dev.pgkit.internal.Cleanup;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import dev.pgkit.internal.StatusTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The broadcast adapter's component: the Node adapter's attachment table (plus an index on
 * {@code created_at} for cleanup), the privileges its statements need, the cleanup of attachments
 * older than {@link Broadcast#ATTACHMENT_SAFE_AGE}, and what {@code pgkit status} counts.
 */
final class BroadcastSchema {
    static final String ATTACHMENTS = BroadcastOptions.DEFAULT_TABLE;

    static final Cleanup ATTACHMENT_CLEANUP = Cleanup.olderThan("broadcast.attachments.old", ATTACHMENTS, "created_at",
            Broadcast.ATTACHMENT_SAFE_AGE);

    static final Component COMPONENT = new Component(
            new SchemaComponent("broadcast",
                    List.of(new Migration(1, "Socket.IO attachment table", "dev/pgkit/schema/broadcast/V1__attachments.sql")),
                    requirements()),
            List.of(ATTACHMENT_CLEANUP),
            List.of(new StatusTable(ATTACHMENTS, Optional.of("created_at < now() - interval '"
                    + Broadcast.ATTACHMENT_SAFE_AGE.toSeconds() + " seconds'"))));

    private BroadcastSchema() {
    }

    private static List<Requirement> requirements() {
        List<Requirement> all = new ArrayList<>();
        all.add(Requirement.table(ATTACHMENTS, "DELETE"));
        all.addAll(Requirement.columns(ATTACHMENTS, "SELECT", "id", "created_at", "payload"));
        all.addAll(Requirement.columns(ATTACHMENTS, "INSERT", "payload"));
        all.add(Requirement.serial(ATTACHMENTS, "id"));
        return all;
    }
}
