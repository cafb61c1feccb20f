package dev.pgkit.store;

import dev.pgkit.internal.Cleanup;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaComponent.Migration;
import dev.pgkit.internal.SchemaComponent.Requirement;
import dev.pgkit.internal.StatusTable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The store adapter's component: Persist's four tables plus pgkit's three sync tables, in the store's own
 * schema ({@code persist} by default), the privileges its statements need, its cleanups (tombstones and
 * synced queue entries past their retention) and what {@code pgkit status} counts.
 */
final class StoreSchema {
    static final String RECORDS = "persist_records";
    static final String KV = "persist_kv";
    static final String EVENTS = "persist_events";
    static final String QUEUE = "persist_sync_queue";
    static final String REPLICAS = "persist_sync_replicas";
    static final String CHECKPOINTS = "persist_sync_checkpoints";
    static final String CONFLICTS = "persist_sync_conflicts";
    /** How long a delete's tombstone and a synced queue entry are kept: a peer that syncs less often than this may miss a delete. */
    static final Duration RETENTION = Duration.ofDays(30);

    private static final SchemaComponent SCHEMA = new SchemaComponent("store",
            List.of(new Migration(1, "Persist tables with named stores and sync", "dev/pgkit/schema/store/V1__tables.sql")),
            requirements());

    private StoreSchema() {
    }

    /** The component of the store's schema in {@code options}' schema. */
    static Component component(StoreOptions options) {
        return new Component(SCHEMA.bind(Identifier.of("store schema", options.schema()), Map.of()),
                List.of(tombstones(RECORDS), tombstones(KV),
                        new Cleanup("store.queue.synced", QUEUE, "DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table}"
                                + " WHERE status = 'synced' AND synced_at < now() - ? * interval '1 millisecond' LIMIT ? FOR UPDATE SKIP LOCKED))",
                                List.of(RETENTION.toMillis()))),
                List.of(StatusTable.kept(RECORDS), StatusTable.kept(KV), StatusTable.kept(EVENTS), StatusTable.kept(QUEUE),
                        StatusTable.kept(CONFLICTS)));
    }

    private static Cleanup tombstones(String table) {
        return new Cleanup("store." + table + ".tombstones", table, "DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table}"
                + " WHERE deleted AND updated_at < now() - ? * interval '1 millisecond' LIMIT ? FOR UPDATE SKIP LOCKED))",
                List.of(RETENTION.toMillis()));
    }

    private static List<Requirement> requirements() {
        List<Requirement> all = new ArrayList<>();
        for (String table : List.of(RECORDS, KV)) {
            all.add(Requirement.table(table, "SELECT"));
            all.add(Requirement.table(table, "INSERT"));
            all.add(Requirement.table(table, "UPDATE"));
            all.add(Requirement.table(table, "DELETE"));
        }
        all.add(Requirement.table(EVENTS, "SELECT"));
        all.add(Requirement.table(EVENTS, "INSERT"));
        all.add(Requirement.serial(EVENTS, "id"));
        for (String table : List.of(QUEUE, REPLICAS, CHECKPOINTS, CONFLICTS)) {
            all.add(Requirement.table(table, "SELECT"));
            all.add(Requirement.table(table, "INSERT"));
            all.add(Requirement.table(table, "UPDATE"));
            all.add(Requirement.table(table, "DELETE"));
        }
        all.add(Requirement.serial(QUEUE, "id"));
        all.add(Requirement.serial(CONFLICTS, "id"));
        return all;
    }
}
