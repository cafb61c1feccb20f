package dev.pgkit.persistence;

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
 * The persistence adapter's component for given options: actor-ts's four tables (declared by their default
 * names and bound to the configured ones), pgkit's additions, the privileges its statements need and what
 * {@code pgkit status} counts. Snapshot retention ({@code keepN}) is applied per persistence id by each save,
 * so housekeeping has nothing to clean.
 */
final class PersistenceSchema {
    static final String NAME = "persistence";
    static final String EVENTS = "events";
    static final String TAGS = "events_tags";
    static final String STREAMS = "events_streams";
    static final String SNAPSHOTS = "snapshots";
    static final String STATE = "durable_state";

    private static final List<Migration> MIGRATIONS = List.of(
            new Migration(1, "actor-ts persistence tables", "dev/pgkit/schema/persistence/V1__tables.sql"),
            new Migration(2, "commit-ordered tag positions and stream heads", "dev/pgkit/schema/persistence/V2__ordered_tags_and_streams.sql"));

    private PersistenceSchema() {
    }

    /**
     * The component of {@code options}' tables. With {@code autoCreateTables} off it has no migrations, so pgkit
     * never runs DDL on them; {@link Persistence} then verifies them.
     */
    static Component component(PersistenceOptions options) {
        Map<String, Identifier> names = Map.of(
                EVENTS, Identifier.of("eventsTable", options.eventsTable()),
                TAGS, Identifier.of("tagsTable", options.effectiveTagsTable()),
                STREAMS, Identifier.of("eventsTable", options.streamsTable()),
                SNAPSHOTS, Identifier.of("snapshotsTable", options.snapshotsTable()),
                STATE, Identifier.of("table", options.table()));
        SchemaComponent bound = new SchemaComponent(NAME, MIGRATIONS, requirements()).bind(null, names);
        if (!options.autoCreateTables()) {
            // no migrations: nothing to apply, only requirements to verify. The extra name keeps this component's key
            // (which a Pgkit remembers as prepared) apart from the same tables' migrating component.
            Map<String, Identifier> keyed = new java.util.HashMap<>(names);
            keyed.put("autoCreateTables", Identifier.of("autoCreateTables", "off"));
            bound = new SchemaComponent(NAME, List.of(), bound.requirements(), Optional.empty(), keyed);
        }
        return new Component(bound, List.of(),
                List.of(StatusTable.kept(options.eventsTable()), StatusTable.kept(options.effectiveTagsTable()),
                        StatusTable.kept(options.streamsTable()), StatusTable.kept(options.snapshotsTable()), StatusTable.kept(options.table())));
    }

    private static List<Requirement> requirements() {
        List<Requirement> all = new ArrayList<>();
        all.add(Requirement.table(EVENTS, "DELETE"));
        all.addAll(Requirement.columns(EVENTS, "SELECT", "persistence_id", "sequence_nr", "payload", "tags", "timestamp"));
        all.addAll(Requirement.columns(EVENTS, "INSERT", "persistence_id", "sequence_nr", "payload", "tags", "timestamp"));
        all.add(Requirement.table(TAGS, "DELETE"));
        all.addAll(Requirement.columns(TAGS, "SELECT", "persistence_id", "sequence_nr", "tag", "timestamp", "tx", "seq"));
        all.addAll(Requirement.columns(TAGS, "INSERT", "persistence_id", "sequence_nr", "tag", "timestamp"));
        all.addAll(Requirement.columns(STREAMS, "SELECT", "persistence_id", "highest_sequence_nr"));
        all.addAll(Requirement.columns(STREAMS, "INSERT", "persistence_id", "highest_sequence_nr"));
        all.addAll(Requirement.columns(STREAMS, "UPDATE", "highest_sequence_nr"));
        all.add(Requirement.table(SNAPSHOTS, "DELETE"));
        all.addAll(Requirement.columns(SNAPSHOTS, "SELECT", "persistence_id", "sequence_nr", "payload", "timestamp"));
        all.addAll(Requirement.columns(SNAPSHOTS, "INSERT", "persistence_id", "sequence_nr", "payload", "timestamp"));
        all.addAll(Requirement.columns(SNAPSHOTS, "UPDATE", "payload", "timestamp"));
        all.add(Requirement.table(STATE, "DELETE"));
        all.addAll(Requirement.columns(STATE, "SELECT", "persistence_id", "revision", "payload", "timestamp"));
        all.addAll(Requirement.columns(STATE, "INSERT", "persistence_id", "revision", "payload", "timestamp"));
        all.addAll(Requirement.columns(STATE, "UPDATE", "revision", "payload", "timestamp"));
        return all;
    }
}
