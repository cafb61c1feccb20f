package dev.pgkit.state;

import dev.pgkit.internal.Cleanup;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import dev.pgkit.internal.StatusTable;
import java.util.ArrayList;
import java.util.List;

/**
 * The state adapter's component: the Node adapter's five tables plus the lock fencing sequence, the
 * privileges its statements need, its cleanups (expired locks, cache entries, lists and queue entries)
 * and what {@code pgkit status} counts.
 */
final class StateSchema {
    static final String SUBSCRIPTIONS = "chat_state_subscriptions";
    static final String LOCKS = "chat_state_locks";
    static final String CACHE = "chat_state_cache";
    static final String LISTS = "chat_state_lists";
    static final String QUEUES = "chat_state_queues";
    static final String LOCK_FENCE = "chat_state_lock_fence";

    static final Component COMPONENT = new Component(
            new SchemaComponent("state",
                    List.of(new Migration(1, "Chat SDK state tables", "dev/pgkit/schema/state/V1__tables.sql"),
                            new Migration(2, "lock fencing sequence", "dev/pgkit/schema/state/V2__lock_fence.sql")),
                    requirements()),
            List.of(Cleanup.expired("state.locks.expired", LOCKS),
                    Cleanup.expired("state.cache.expired", CACHE),
                    Cleanup.expired("state.lists.expired", LISTS),
                    Cleanup.expired("state.queues.expired", QUEUES)),
            List.of(StatusTable.kept(SUBSCRIPTIONS), StatusTable.expiring(LOCKS), StatusTable.expiring(CACHE),
                    StatusTable.expiring(LISTS), StatusTable.expiring(QUEUES)));

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
        all.addAll(Requirement.columns(QUEUES, "UPDATE", "expires_at")); // dequeue and cleanup lock rows FOR UPDATE: any column's UPDATE
        all.add(Requirement.serial(QUEUES, "seq"));
        return all;
    }
}
