package dev.pgkit.store;

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
    private static final SchemaComponent SCHEMA = new SchemaComponent("store",
            List.of(new Migration(1, "Persist tables with named stores and sync", "dev/pgkit/schema/store/V1__tables.sql"),
                    new Migration(2, "per-store retention of tombstones and synced entries", "dev/pgkit/schema/store/V2__retention.sql")),
            requirements());

    private StoreSchema() {
    }

    /**
     * The component of the store's schema in {@code options}' schema. Its cleanups cover every store of the schema,
     * each by the retention recorded for it ({@link StoreOptions#DEFAULT_RETENTION} where none is).
     */
    static Component component(StoreOptions options) {
        String replicas = Identifier.of("store schema", options.schema()).quoted() + "." + REPLICAS;
        return new Component(SCHEMA.bind(Identifier.of("store schema", options.schema()), Map.of()),
                List.of(pastRetention(RECORDS, "t.deleted AND t.updated_at", replicas), pastRetention(KV, "t.deleted AND t.updated_at", replicas),
                        pastRetention(QUEUE, "t.status = 'synced' AND t.synced_at", replicas)),
                List.of(StatusTable.kept(RECORDS), StatusTable.kept(KV), StatusTable.kept(EVENTS), StatusTable.kept(QUEUE),
                        StatusTable.kept(CONFLICTS)));
    }

    /** Deletes the rows of {@code table} whose {@code condition} time is older than their store's retention. */
    private static Cleanup pastRetention(String table, String condition, String replicas) {
        return new Cleanup("store." + table + ".retention", table, "DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT t.ctid FROM ${table} t"
                + " LEFT JOIN " + replicas + " p ON p.store = t.store WHERE " + condition
                + " < now() - coalesce(p.retention_ms, ?) * interval '1 millisecond' LIMIT ? FOR UPDATE OF t SKIP LOCKED))",
                List.of(StoreOptions.DEFAULT_RETENTION.toMillis()));
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
