package dev.pgkit.state;

import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import java.util.ArrayList;
import java.util.List;

/** The state adapter's tables: the Node adapter's five, plus the lock fencing sequence. */
public final class StateSchema {
    static final String SUBSCRIPTIONS = "chat_state_subscriptions";
    static final String LOCKS = "chat_state_locks";
    static final String CACHE = "chat_state_cache";
    static final String LISTS = "chat_state_lists";
    static final String QUEUES = "chat_state_queues";
    static final String LOCK_FENCE = "chat_state_lock_fence";

    /** The versioned DDL, privileges and expiring tables of the state adapter. */
    public static final SchemaComponent COMPONENT = new SchemaComponent("state",
            List.of(new Migration(1, "Chat SDK state tables", "dev/pgkit/schema/state/V1__tables.sql"),
                    new Migration(2, "lock fencing sequence", "dev/pgkit/schema/state/V2__lock_fence.sql")),
            requirements(),
            List.of(LOCKS, CACHE, LISTS, QUEUES));

    private StateSchema() {
    }

    private static List<Requirement> requirements() {
        List<Requirement> all = new ArrayList<>();
        all.add(Requirement.table(SUBSCRIPTIONS, "DELETE"));
        all.addAll(Requirement.columns(SUBSCRIPTIONS, "SELECT", "key_prefix", "thread_id"));
        all.addAll(Requirement.columns(SUBSCRIPTIONS, "INSERT", "key_prefix", "thread_id"));
        all.add(Requirement.table(LOCKS, "DELETE"));
        all.addAll(Requirement.columns(LOCKS, "SELECT", "key_prefix", "thread_id", "token", "expires_at"));
        all.addAll(Requirement.columns(LOCKS, "INSERT", "key_prefix", "thread_id", "token", "expires_at"));
        all.addAll(Requirement.columns(LOCKS, "UPDATE", "token", "expires_at", "updated_at"));
        all.add(Requirement.sequence(LOCK_FENCE, "USAGE"));
        all.add(Requirement.table(CACHE, "DELETE"));
        all.addAll(Requirement.columns(CACHE, "SELECT", "key_prefix", "cache_key", "value", "expires_at"));
        all.addAll(Requirement.columns(CACHE, "INSERT", "key_prefix", "cache_key", "value", "expires_at"));
        all.addAll(Requirement.columns(CACHE, "UPDATE", "value", "expires_at", "updated_at"));
        all.add(Requirement.table(LISTS, "DELETE"));
        all.addAll(Requirement.columns(LISTS, "SELECT", "key_prefix", "list_key", "seq", "value", "expires_at"));
        all.addAll(Requirement.columns(LISTS, "INSERT", "key_prefix", "list_key", "value", "expires_at"));
        all.addAll(Requirement.columns(LISTS, "UPDATE", "expires_at"));
        all.add(Requirement.serial(LISTS, "seq"));
        all.add(Requirement.table(QUEUES, "DELETE"));
        all.addAll(Requirement.columns(QUEUES, "SELECT", "key_prefix", "thread_id", "seq", "value", "expires_at"));
        all.addAll(Requirement.columns(QUEUES, "INSERT", "key_prefix", "thread_id", "value", "expires_at"));
        all.add(Requirement.serial(QUEUES, "seq"));
        return all;
    }
}
