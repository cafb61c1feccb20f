package dev.pgkit.persistence;

import dev.pgkit.internal.AdapterRegistry;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.Context;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * actor-ts's persistence backend on PostgreSQL (seed 004): an {@link EventJournal event journal} with tags, its
 * {@link PersistenceQueries queries for projections}, a {@link SnapshotStore snapshot store} and a
 * {@link DurableStateStore durable state store}, over one pool and in actor-ts's tables, so that an actor-ts node
 * and a Java service share them. Obtain it from {@link dev.pgkit.Pgkit#persistence()}; thread-safe.
 *
 * <p>Events, snapshots and states are the user's own types, stored as JSON text by the {@code Pgkit}'s codec.
 */
public final class Persistence {
    private final PersistenceOptions options;
    private final EventJournal journal;
    private final SnapshotStore snapshots;
    private final DurableStateStore durableState;
    private final PersistenceQueries queries;

    static {
        // built by Pgkit#persistence through the registry, so no public member takes pgkit's internal Context
        AdapterRegistry.register(Persistence.class, PersistenceOptions.class, PersistenceOptions.defaults(), PersistenceSchema::component,
                Persistence::new);
    }

    private Persistence(Context context, PersistenceOptions options) {
        this.options = options;
        Component component = PersistenceSchema.component(options);
        if (!options.autoCreateTables()) {
            context.schemaManager(component.schema()).verify(component.schema());
        }
        PersistenceSql sql = new PersistenceSql(context.schema(), options);
        String channel = channel(context.schema().name(), options.eventsTable());
        this.journal = new EventJournal(context.database(), context.codec(), sql, channel);
        this.snapshots = new SnapshotStore(context.database(), context.codec(), sql, options.keepN());
        this.durableState = new DurableStateStore(context.database(), context.codec(), sql);
        this.queries = new PersistenceQueries(context, sql, journal, channel);
    }

    /** The options this instance was built with. */
    public PersistenceOptions options() {
        return options;
    }

    /** The event journal. */
    public EventJournal journal() {
        return journal;
    }

    /** The queries projections read the journal with (by persistence id, by tag; current and live). */
    public PersistenceQueries queries() {
        return queries;
    }

    /** The snapshot store. */
    public SnapshotStore snapshots() {
        return snapshots;
    }

    /** The durable state store. */
    public DurableStateStore durableState() {
        return durableState;
    }

    /** The channel appends to one journal NOTIFY on: one per schema and events table, within PostgreSQL's 63-byte limit. */
    static String channel(String schema, String eventsTable) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest((schema + "." + eventsTable).getBytes(StandardCharsets.UTF_8));
            return "pgkit_journal_" + HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }
}
