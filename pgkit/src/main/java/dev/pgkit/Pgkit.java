package dev.pgkit;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.broadcast.Broadcast;
import dev.pgkit.broadcast.BroadcastOptions;
import dev.pgkit.conversation.ConversationOptions;
import dev.pgkit.conversation.ConversationStore;
import dev.pgkit.internal.AdapterRegistry;
import dev.pgkit.internal.Component;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.NotificationListener;
import dev.pgkit.internal.SchemaManager;
import dev.pgkit.internal.StatusTables;
import dev.pgkit.persistence.Persistence;
import dev.pgkit.persistence.PersistenceOptions;
import dev.pgkit.state.StateOptions;
import dev.pgkit.state.StateStore;
import dev.pgkit.store.Store;
import dev.pgkit.store.StoreOptions;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
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
    private final Context context;
    private final HikariDataSource ownedPool;
    /** The adapters handed out, one per facade type and options. */
    private final Map<List<Object>, Object> adapters = new ConcurrentHashMap<>();

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
        return adapter(StateStore.class, options);
    }

    /**
     * Cluster messaging on the Socket.IO Postgres adapter's defaults (channel prefix {@code socket.io}, attachment
     * table {@code socket_io_attachments}): join a namespace as a cluster node, or emit to Node servers' clients.
     */
    public Broadcast broadcast() {
        return broadcast(BroadcastOptions.defaults());
    }

    /** Cluster messaging with the given options (one instance per options, shared by every caller). */
    public Broadcast broadcast(BroadcastOptions options) {
        return adapter(Broadcast.class, options);
    }

    /**
     * The conversation adapter (BuilderBot's chat-bot contacts and history, in the tables {@code contact} and
     * {@code history} of this Pgkit's schema), keeping history until deleted.
     */
    public ConversationStore conversation() {
        return conversation(ConversationOptions.defaults());
    }

    /** The conversation adapter with the given options (a history retention), one instance per options. */
    public ConversationStore conversation(ConversationOptions options) {
        return adapter(ConversationStore.class, options);
    }

    /**
     * The persistence adapter (event journal, queries, snapshots, durable state) on actor-ts's default tables
     * ({@code events}, {@code events_tags}, {@code snapshots} keeping 3 per id, {@code durable_state}).
     */
    public Persistence persistence() {
        return persistence(PersistenceOptions.defaults());
    }

    /** The persistence adapter on the tables {@code options} name (one instance per options, shared by every caller). */
    public Persistence persistence(PersistenceOptions options) {
        return adapter(Persistence.class, options);
    }

    /**
     * The named store {@code name} (Persist's {@code createStore(name)}) in schema {@code persist}: records, event
     * streams, key-value entries, a sync queue, and sync with the same store elsewhere.
     */
    public Store store(String name) {
        return store(StoreOptions.named(name));
    }

    /** The named store with the given options (its schema); one instance per options, shared by every caller. */
    public Store store(StoreOptions options) {
        return adapter(Store.class, options);
    }

    /** The names of the adapters this build of pgkit has ({@code state}, ...), in the order their schemas are applied. */
    public static List<String> adapterNames() {
        return AdapterRegistry.components().stream().map(Component::name).toList();
    }

    private <A> A adapter(Class<A> facade, Object options) {
        Objects.requireNonNull(options, "options");
        return facade.cast(adapters.computeIfAbsent(List.of(facade, options), key -> AdapterRegistry.open(facade, context, options)));
    }

    /** The connection pool pgkit uses (the caller's own, if one was passed in). */
    public DataSource dataSource() {
        return context.database().dataSource();
    }

    /** The schema holding pgkit's tables. */
    public String schema() {
        return context.schema().name();
    }

    /**
     * The adapters whose tables live in this Pgkit's schema. An adapter with a schema of its own (the store,
     * {@code persist} by default, set per store) is migrated when it is first opened and cleaned by housekeeping
     * once open: migrating, cleaning or counting a schema nobody here uses would create it or fail on it.
     */
    private static List<Component> inPgkitSchema() {
        return AdapterRegistry.components().stream().filter(c -> c.schema().schemaOverride().isEmpty()).toList();
    }

    /**
     * Applies every adapter's missing schema versions in this Pgkit's schema now; returns how many versions were
     * applied. (A store, in a schema of its own, migrates when opened.)
     */
    public int migrate() {
        int applied = 0;
        for (Component component : inPgkitSchema()) {
            applied += context.schemaManager(component.schema()).migrate(component.schema()).size();
        }
        return applied;
    }

    /** The DDL of every adapter in this Pgkit's schema, for DBAs and Flyway/Liquibase users (a store's is its own). */
    public String schemaDdl() {
        return schemaDdl(schema());
    }

    /**
     * The DDL of every adapter in {@code schema}, without a database: what {@code pgkit schema} prints.
     *
     * @throws IllegalArgumentException if {@code schema} is not a safe identifier
     */
    public static String schemaDdl(String schema) {
        Identifier pgkitSchema = Identifier.of("schema", schema);
        StringBuilder out = new StringBuilder();
        for (Component component : inPgkitSchema()) {
            SchemaManager manager = new SchemaManager(null, component.schema().schemaOr(pgkitSchema));
            out.append(manager.ddl(component.schema())).append('\n');
        }
        return out.toString();
    }

    /**
     * Runs every adapter's cleanups now (what periodic housekeeping does): expired rows, rows past a
     * retention window, rows beyond a keep-newest-N limit, each deleted in bounded batches that skip rows
     * other sessions hold. Returns how many rows were deleted.
     */
    public long cleanup() {
        long deleted = 0;
        for (Component component : inPgkitSchema()) {
            if (context.schemaManager(component.schema()).appliedVersions().containsKey(component.key())) { // never migrated: nothing to clean
                deleted += context.housekeeper().cleanup(component);
            }
        }
        return deleted;
    }

    /**
     * Counts the rows of every adapter's tables, and those cleanup would delete now. Scans each table: meant
     * for {@code pgkit status} and occasional inspection, not for frequent health checks (use {@link #status()}).
     */
    public List<TableStatus> tables() {
        return StatusTables.count(context.database(), context.schema(), inPgkitSchema()).stream()
                .map(c -> new TableStatus(c.component(), c.table(), c.exists(), c.rows(), c.garbage()))
                .toList();
    }

    /**
     * The rows of one of pgkit's tables.
     *
     * @param adapter the adapter owning the table ({@code state})
     * @param table   the table's name
     * @param exists  whether it exists in this Pgkit's schema (before the first migration it does not)
     * @param rows    how many rows it holds (0 when it does not exist)
     * @param garbage how many rows cleanup would delete now (expired, past retention, beyond a keep-newest
     *                limit), for the tables cleanup maintains
     */
    public record TableStatus(String adapter, String table, boolean exists, long rows, OptionalLong garbage) {
    }

    /** Schema versions and the state of this Pgkit's LISTEN connection, for health checks and {@code pgkit status}. */
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
     * @param listenerStarted   whether an adapter of this Pgkit needed the LISTEN connection yet (the other
     *                          listener fields describe nothing until it did)
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
