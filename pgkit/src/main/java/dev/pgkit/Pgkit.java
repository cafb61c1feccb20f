package dev.pgkit;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.NotificationListener;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaManager;
import dev.pgkit.state.StateOptions;
import dev.pgkit.state.StateSchema;
import dev.pgkit.state.StateStore;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The entry point: one connection pool, at most one LISTEN connection and one scheduler thread,
 * shared by every adapter it hands out. Thread-safe; close it when the application stops.
 *
 * <pre>{@code
 * try (Pgkit pgkit = Pgkit.builder().url("postgres://app:secret@db:5432/app").build()) {
 *     StateStore state = pgkit.state();
 *     state.set("greeting", "hello", Duration.ofMinutes(5));
 * }
 * }</pre>
 *
 * <p>Without {@link PgkitBuilder#url} or {@link PgkitBuilder#dataSource}, the connection comes from
 * {@code POSTGRES_URL}, then {@code DATABASE_URL}, then the libpq variables ({@code PGHOST},
 * {@code PGPORT}, {@code PGUSER}, {@code PGPASSWORD}, {@code PGDATABASE}).
 */
public final class Pgkit implements AutoCloseable {
    /** Every adapter schema this build of pgkit knows, in the order {@code pgkit migrate} applies them. */
    public static final List<SchemaComponent> COMPONENTS = List.of(StateSchema.COMPONENT);

    private final Context context;
    private final HikariDataSource ownedPool;
    private final Map<StateOptions, StateStore> stateStores = new java.util.concurrent.ConcurrentHashMap<>();

    Pgkit(Context context, HikariDataSource ownedPool) {
        this.context = context;
        this.ownedPool = ownedPool;
    }

    /** A new builder; {@link PgkitBuilder#build()} connects. */
    public static PgkitBuilder builder() {
        return new PgkitBuilder();
    }

    /** The state adapter (locks, cache, lists, queues, subscriptions) with the default key prefix {@code chat-sdk}. */
    public StateStore state() {
        return state(StateOptions.defaults());
    }

    /** The state adapter with its own key prefix, sharing rows with Node adapters of the same prefix. */
    public StateStore state(String keyPrefix) {
        return state(StateOptions.defaults().withKeyPrefix(keyPrefix));
    }

    /** The state adapter with the given options (one instance per options, shared by every caller). */
    public StateStore state(StateOptions options) {
        return stateStores.computeIfAbsent(java.util.Objects.requireNonNull(options, "options"), o -> StateStore.create(context, o));
    }

    /** The connection pool pgkit uses (the caller's own, if one was passed in). */
    public DataSource dataSource() {
        return context.database().dataSource();
    }

    /** The schema holding pgkit's tables. */
    public String schema() {
        return context.schema().name();
    }

    /** Applies every adapter's missing schema versions now; returns how many versions were applied. */
    public int migrate() {
        int applied = 0;
        for (SchemaComponent component : COMPONENTS) {
            applied += context.schemaManager().migrate(component).size();
        }
        return applied;
    }

    /** The DDL of every adapter in this Pgkit's schema, for DBAs and Flyway/Liquibase users. */
    public String schemaDdl() {
        return schemaDdl(schema());
    }

    /**
     * The DDL of every adapter in {@code schema}, without a database: what {@code pgkit schema} prints.
     *
     * @throws IllegalArgumentException if {@code schema} is not a safe identifier
     */
    public static String schemaDdl(String schema) {
        SchemaManager manager = new SchemaManager(null, Identifier.of("schema", schema));
        StringBuilder out = new StringBuilder();
        for (SchemaComponent component : COMPONENTS) {
            out.append(manager.ddl(component)).append('\n');
        }
        return out.toString();
    }

    /** Deletes every expired row of every adapter now (what periodic housekeeping does); returns the count. */
    public long cleanup() {
        long deleted = 0;
        Map<String, Integer> applied = context.schemaManager().appliedVersions();
        for (SchemaComponent component : COMPONENTS) {
            if (!applied.containsKey(component.name())) {
                continue; // never migrated here: nothing to clean
            }
            for (String table : component.expiringTables()) {
                deleted += context.housekeeper().cleanup(table);
            }
        }
        return deleted;
    }

    /** Schema versions and listener state, for health checks and {@code pgkit status}. */
    public Status status() {
        Map<String, Integer> versions = context.schemaManager().appliedVersions();
        Optional<NotificationListener> listener = context.startedListener();
        return new Status(context.database().describe(), schema(), versions,
                listener.isPresent(), listener.map(NotificationListener::isConnected).orElse(false),
                listener.flatMap(l -> l.backendPid().isPresent() ? Optional.of(l.backendPid().getAsInt()) : Optional.empty()),
                listener.map(NotificationListener::reconnects).orElse(0L),
                listener.map(NotificationListener::channels).orElse(List.of()));
    }

    /**
     * Health of one {@code Pgkit}.
     *
     * @param server            {@code host:port/database as user}
     * @param schema            the schema holding pgkit's tables
     * @param schemaVersions    applied version per adapter
     * @param listenerStarted   whether any adapter needed the LISTEN connection yet
     * @param listenerConnected whether that connection is open now
     * @param listenerBackendPid the server process id of the LISTEN connection, while connected
     * @param listenerReconnects how often it was lost and re-opened
     * @param channels          the channels listened to
     */
    public record Status(String server, String schema, Map<String, Integer> schemaVersions, boolean listenerStarted,
                         boolean listenerConnected, Optional<Integer> listenerBackendPid, long listenerReconnects, List<String> channels) {
    }

    /** Stops background threads, closes the LISTEN connection and the pool pgkit created (never a caller's pool). */
    @Override
    public void close() {
        context.close();
        if (ownedPool != null) {
            ownedPool.close();
        }
    }
}
