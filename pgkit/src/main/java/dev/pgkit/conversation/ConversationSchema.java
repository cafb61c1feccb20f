package dev.pgkit.conversation;

import dev.pgkit.internal.Cleanup;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import dev.pgkit.internal.StatusTable;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The conversation adapter's component: BuilderBot's {@code contact} and {@code history} tables, its two
 * functions with race-free bodies, the unique phone (with the merge of existing duplicates), the privileges
 * its statements need, the history retention cleanup (when configured) and what {@code pgkit status} counts.
 */
final class ConversationSchema {
    static final String CONTACT = "contact";
    static final String HISTORY = "history";
    static final String CONTACT_MERGE = "contact_merge";

    static final SchemaComponent SCHEMA = new SchemaComponent("conversation",
            List.of(new Migration(1, "BuilderBot contact and history tables", "dev/pgkit/schema/conversation/V1__tables.sql"),
                    new Migration(2, "unique phone, duplicates merged", "dev/pgkit/schema/conversation/V2__unique_phone.sql"),
                    new Migration(3, "race-free BuilderBot functions", "dev/pgkit/schema/conversation/V3__functions.sql")),
            List.of(Requirement.table(CONTACT, "SELECT"), Requirement.table(CONTACT, "INSERT"), Requirement.table(CONTACT, "UPDATE"),
                    Requirement.table(CONTACT, "DELETE"), Requirement.serial(CONTACT, "id"),
                    Requirement.table(HISTORY, "SELECT"), Requirement.table(HISTORY, "INSERT"), Requirement.table(HISTORY, "DELETE"),
                    // the retention cleanup locks the rows it deletes (FOR UPDATE SKIP LOCKED), which takes UPDATE on a column
                    Requirement.columns(HISTORY, "UPDATE", "updated_in").get(0),
                    Requirement.serial(HISTORY, "id"),
                    Requirement.table(CONTACT_MERGE, "SELECT")));

    /** The migration holding the functions, which {@link ConversationStore#installFunctions()} applies again. */
    static final Migration FUNCTIONS = SCHEMA.migrations().get(2);

    private ConversationSchema() {
    }

    /** The component for {@code options}: with a retention, its history cleanup. */
    static Component component(ConversationOptions options) {
        List<Cleanup> cleanups = options.historyRetention().map(ConversationSchema::retention).stream().toList();
        Optional<String> garbage = options.historyRetention().map(r -> "created_at < " + ConversationSql.NOW_UTC
                + " - interval '" + r.toMillis() + " milliseconds'");
        return new Component(SCHEMA, cleanups, List.of(StatusTable.kept(CONTACT), new StatusTable(HISTORY, garbage)));
    }

    /** History entries older than {@code retention} (their {@code created_at} holds UTC), in bounded batches. */
    static Cleanup retention(Duration retention) {
        return Cleanup.olderThanUtc("conversation.history.retention", HISTORY, "created_at", retention);
    }
}
