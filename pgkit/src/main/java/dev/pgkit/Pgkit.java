package dev.pgkit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.internal.ConnectionSettings;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.NotificationListener;
import dev.pgkit.internal.SchemaComponent;
import dev.pgkit.internal.SchemaManager;
import dev.pgkit.json.JacksonJsonCodec;
import dev.pgkit.json.JsonCodec;
import dev.pgkit.state.StateOptions;
import dev.pgkit.state.StateSchema;
import dev.pgkit.state.StateStore;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 * <p>Without {@link Builder#url} or {@link Builder#dataSource}, the connection comes from
 * {@code POSTGRES_URL}, then {@code DATABASE_URL}, then the libpq variables ({@code PGHOST},
 * {@code PGPORT}, {@code PGUSER}, {@code PGPASSWORD}, {@code PGDATABASE}).
 */
public final class Pgkit implements AutoCloseable {
    /** Every adapter schema this build of pgkit knows, in the order {@code pgkit migrate} applies them. */
    public static final List<SchemaComponent> COMPONENTS = List.of(StateSchema.COMPONENT);

    private final Context context;
    private final HikariDataSource ownedPool;
    private final Map<StateOptions, StateStore> stateStores = new java.util.concurrent.ConcurrentHashMap<>();

    private Pgkit(Context context, HikariDataSource ownedPool) {
        this.context = context;
        this.ownedPool = ownedPool;
    }

    /** A new builder; {@link Builder#build()} connects. */
    public static Builder builder() {
        return new Builder();
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

    /**
     * Configuration of a {@link Pgkit}; validated by {@link #build()}, which names the option at fault.
     */
    public static final class Builder {
        private String url;
        private DataSource dataSource;
        private String listenerUrl;
        private String user;
        private String password;
        private String sslMode;
        private Path sslRootCert;
        private String schema = "public";
        private int poolSize = 10;
        private Duration connectTimeout = Duration.ofSeconds(10);
        private Duration acquireTimeout = Duration.ofSeconds(10);
        private boolean autoCreateSchema = true;
        private Duration housekeepingInterval = Duration.ofMinutes(1);
        private Duration waitRecheckInterval = Context.DEFAULT_WAIT_RECHECK_INTERVAL;
        private JsonCodec codec;
        private Map<String, String> environment = System.getenv();

        private Builder() {
        }

        /** A {@code postgres://user:pass@host:port/db?sslmode=...} or {@code jdbc:postgresql://} URL. */
        public Builder url(String url) {
            this.url = Objects.requireNonNull(url, "url");
            return this;
        }

        /** The caller's pool (for example the application's Hikari pool); pgkit never closes it. */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            return this;
        }

        /**
         * A direct URL for the LISTEN connection, for deployments whose main URL goes through PgBouncer
         * in transaction mode (where LISTEN does not work). Default: the main URL.
         */
        public Builder listenerUrl(String listenerUrl) {
            this.listenerUrl = Objects.requireNonNull(listenerUrl, "listenerUrl");
            return this;
        }

        /** User and password, overriding those in the URL. */
        public Builder credentials(String user, String password) {
            this.user = Objects.requireNonNull(user, "user");
            this.password = password;
            return this;
        }

        /** libpq {@code sslmode}: disable, allow, prefer, require, verify-ca or verify-full. */
        public Builder sslMode(String sslMode) {
            this.sslMode = Objects.requireNonNull(sslMode, "sslMode");
            return this;
        }

        /** The CA certificate that verifies the server ({@code sslrootcert}). */
        public Builder sslRootCert(Path sslRootCert) {
            this.sslRootCert = Objects.requireNonNull(sslRootCert, "sslRootCert");
            return this;
        }

        /** The schema of pgkit's tables (default {@code public}, where the Node adapters put theirs). */
        public Builder schema(String schema) {
            this.schema = schema;
            return this;
        }

        /** Maximum connections in the pool pgkit creates (default 10). */
        public Builder poolSize(int poolSize) {
            this.poolSize = poolSize;
            return this;
        }

        /** How long opening a connection, or making a LISTEN active, may take (default 10 s). */
        public Builder connectTimeout(Duration connectTimeout) {
            this.connectTimeout = connectTimeout;
            return this;
        }

        /** How long a call waits for a free pool connection before failing (default 10 s). */
        public Builder acquireTimeout(Duration acquireTimeout) {
            this.acquireTimeout = acquireTimeout;
            return this;
        }

        /**
         * Whether adapters create or upgrade their tables on first use (default true). With false, first
         * use checks that the tables exist and the role holds the privileges needed, and fails with
         * {@link SchemaNotReadyException} naming what is missing.
         */
        public Builder autoCreateSchema(boolean autoCreateSchema) {
            this.autoCreateSchema = autoCreateSchema;
            return this;
        }

        /** How often expired rows are deleted in the background (default 1 minute). */
        public Builder housekeepingInterval(Duration interval) {
            this.housekeepingInterval = interval;
            return this;
        }

        /** No background deletion of expired rows (run {@code pgkit cleanup} or {@link Pgkit#cleanup()} instead). */
        public Builder disableHousekeeping() {
            this.housekeepingInterval = null;
            return this;
        }

        /**
         * The longest a blocking wait (a waiting {@code acquireLock} or {@code dequeue}) sleeps between
         * checks when nothing wakes it (default 1 s). pgkit's own writers wake waiters at once with
         * NOTIFY; Node writers sharing the tables send no NOTIFY, so this bounds how late a Node write
         * is seen, and how late any write is seen while the LISTEN connection is down.
         */
        public Builder waitRecheckInterval(Duration interval) {
            this.waitRecheckInterval = interval;
            return this;
        }

        /** The codec for stored values (default: Jackson with the modules found on the class path). */
        public Builder codec(JsonCodec codec) {
            this.codec = Objects.requireNonNull(codec, "codec");
            return this;
        }

        /** Where {@code POSTGRES_URL}, {@code DATABASE_URL} and the libpq variables are read (default: the process environment). */
        public Builder environment(Map<String, String> environment) {
            this.environment = Map.copyOf(environment);
            return this;
        }

        /**
         * Validates the configuration and connects.
         *
         * @throws IllegalArgumentException naming the option at fault
         * @throws PgkitConnectionException naming the server when it cannot be reached or refuses the login
         */
        public Pgkit build() {
            Identifier schemaName = Identifier.of("schema", schema);
            if (poolSize < 1 || poolSize > 1000) {
                throw new IllegalArgumentException("poolSize must be between 1 and 1000, was " + poolSize);
            }
            requirePositive("connectTimeout", connectTimeout);
            requirePositive("acquireTimeout", acquireTimeout);
            requirePositive("waitRecheckInterval", waitRecheckInterval);
            if (housekeepingInterval != null) {
                requirePositive("housekeepingInterval", housekeepingInterval);
            }
            if (url != null && dataSource != null) {
                throw new IllegalArgumentException("url and dataSource are exclusive: pass one");
            }
            if (dataSource != null && (user != null || sslMode != null || sslRootCert != null)) {
                throw new IllegalArgumentException("credentials and TLS options configure pgkit's own pool: set them on the DataSource instead");
            }
            JsonCodec valueCodec = codec != null ? codec : new JacksonJsonCodec();
            Optional<Duration> housekeeping = Optional.ofNullable(housekeepingInterval);

            if (dataSource != null) {
                String describe = describeDataSource(dataSource);
                probe(describe, dataSource::getConnection);
                NotificationListener.ConnectionSource listener = listenerUrl != null
                        ? directSource(withOptions(ConnectionSettings.parse(listenerUrl)).with("ApplicationName", "pgkit-listener"))
                        : listenerBeside(dataSource);
                Database database = new Database(dataSource, describe);
                return new Pgkit(new Context(database, schemaName, valueCodec, autoCreateSchema, listener, connectTimeout, housekeeping,
                        waitRecheckInterval), null);
            }

            ConnectionSettings settings = withOptions(url != null ? ConnectionSettings.parse(url) : ConnectionSettings.fromEnvironment(environment));
            ConnectionSettings listenerSettings = listenerUrl != null ? withOptions(ConnectionSettings.parse(listenerUrl)) : settings;
            probe(settings.describe(), directSource(settings));
            HikariConfig config = new HikariConfig();
            config.setPoolName("pgkit");
            config.setJdbcUrl(settings.jdbcUrl());
            config.setDataSourceProperties(settings.with("ApplicationName", "pgkit").properties());
            config.setMaximumPoolSize(poolSize);
            config.setConnectionTimeout(acquireTimeout.toMillis());
            config.setInitializationFailTimeout(connectTimeout.toMillis());
            HikariDataSource pool;
            try {
                pool = new HikariDataSource(config);
            } catch (RuntimeException e) {
                throw new PgkitConnectionException("cannot connect to PostgreSQL at " + settings.describe() + ": " + rootMessage(e), e);
            }
            Database database = new Database(pool, settings.describe());
            Context context = new Context(database, schemaName, valueCodec, autoCreateSchema,
                    directSource(listenerSettings.with("ApplicationName", "pgkit-listener")), connectTimeout, housekeeping, waitRecheckInterval);
            return new Pgkit(context, pool);
        }

        private ConnectionSettings withOptions(ConnectionSettings settings) {
            ConnectionSettings out = settings.with("connectTimeout", Long.toString(Math.max(1, connectTimeout.toSeconds())))
                    .with("tcpKeepAlive", "true");
            if (user != null) {
                out = out.with("user", user);
                if (password != null) {
                    out = out.with("password", password);
                }
            }
            if (sslMode != null) {
                if (!List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full").contains(sslMode)) {
                    throw new IllegalArgumentException("sslMode '" + sslMode + "' is not one of disable, allow, prefer, require, verify-ca, verify-full");
                }
                out = out.with("sslmode", sslMode);
            }
            if (sslRootCert != null) {
                out = out.with("sslrootcert", sslRootCert.toString());
            }
            return out;
        }

        /**
         * The LISTEN connection for a caller's pool: a direct connection with the pool's own settings where
         * they can be read (a HikariCP pool configured with a JDBC URL), so no pool slot is held forever;
         * otherwise one connection borrowed from the pool (pass {@link #listenerUrl} to avoid that).
         */
        private static NotificationListener.ConnectionSource listenerBeside(DataSource dataSource) {
            if (dataSource instanceof HikariDataSource hikari && hikari.getJdbcUrl() != null) {
                java.util.Properties properties = new java.util.Properties();
                properties.putAll(hikari.getDataSourceProperties());
                if (hikari.getUsername() != null) {
                    properties.setProperty("user", hikari.getUsername());
                }
                if (hikari.getPassword() != null) {
                    properties.setProperty("password", hikari.getPassword());
                }
                properties.setProperty("ApplicationName", "pgkit-listener");
                return () -> DriverManager.getConnection(hikari.getJdbcUrl(), properties);
            }
            return dataSource::getConnection;
        }

        private static NotificationListener.ConnectionSource directSource(ConnectionSettings settings) {
            return () -> DriverManager.getConnection(settings.jdbcUrl(), settings.properties());
        }

        private static void probe(String describe, NotificationListener.ConnectionSource source) {
            try (Connection connection = source.open()) {
                connection.isValid(5);
            } catch (SQLException e) {
                throw new PgkitConnectionException("cannot connect to PostgreSQL at " + describe + ": " + e.getMessage()
                        + (e.getSQLState() != null ? " [SQLState " + e.getSQLState() + "]" : ""), e);
            }
        }

        private static String describeDataSource(DataSource dataSource) {
            try (Connection connection = dataSource.getConnection()) {
                var meta = connection.getMetaData();
                return ConnectionSettings.redact(meta.getURL()) + " as " + meta.getUserName();
            } catch (SQLException e) {
                throw new PgkitConnectionException("cannot connect to PostgreSQL through the given DataSource: " + e.getMessage(), e);
            }
        }

        private static String rootMessage(Throwable e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            return root.getMessage();
        }

        private static void requirePositive(String option, Duration value) {
            if (value == null || value.isNegative() || value.isZero()) {
                throw new IllegalArgumentException(option + " must be a positive duration, was " + value);
            }
        }
    }
}
