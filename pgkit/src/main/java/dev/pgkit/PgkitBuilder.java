package dev.pgkit;

import dev.pgkit.internal.Connector;
import dev.pgkit.internal.Context;
import dev.pgkit.internal.Identifier;
import dev.pgkit.internal.Timeouts;
import dev.pgkit.json.JacksonJsonCodec;
import dev.pgkit.json.JsonCodec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Configuration of a {@link Pgkit}, from {@link Pgkit#builder()}; validated by {@link #build()}, which
 * names the option at fault. Not thread-safe; build once and share the {@code Pgkit}.
 */
public final class PgkitBuilder {
    /** Longer than any sensible setting, and short enough that no conversion to milliseconds or nanoseconds overflows. */
    private static final Duration MAX_DURATION = Duration.ofDays(365);
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofHours(1);

    private String url;
    private DataSource dataSource;
    private String listenerUrl;
    private Connector.Credentials credentials;
    private String sslMode;
    private Path sslRootCert;
    private String host;
    private Integer port;
    private String database;
    private Duration idleTimeout;
    private String schema = "public";
    private int poolSize = 10;
    private Duration connectTimeout = Duration.ofSeconds(10);
    private Duration acquireTimeout = Duration.ofSeconds(10);
    private Duration statementTimeout = Duration.ofSeconds(30);
    private boolean autoCreateSchema = true;
    private Duration housekeepingInterval = Duration.ofMinutes(1);
    private Duration waitRecheckInterval = Context.DEFAULT_WAIT_RECHECK_INTERVAL;
    private boolean housekeepingDisabled;
    private JsonCodec codec;
    private Map<String, String> environment = System.getenv();

    PgkitBuilder() {
    }

    /** A {@code postgres://user:pass@host:port/db?sslmode=...} or {@code jdbc:postgresql://} URL. */
    public PgkitBuilder url(String url) {
        this.url = Objects.requireNonNull(url, "url");
        return this;
    }

    /** The caller's pool (for example the application's Hikari pool); pgkit never closes it. */
    public PgkitBuilder dataSource(DataSource dataSource) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        return this;
    }

    /**
     * A direct URL for the LISTEN connection, for deployments whose main URL goes through PgBouncer
     * in transaction mode (where LISTEN does not work). Default: the main URL.
     */
    public PgkitBuilder listenerUrl(String listenerUrl) {
        this.listenerUrl = Objects.requireNonNull(listenerUrl, "listenerUrl");
        return this;
    }

    /**
     * User and password, overriding those in the URL (or the environment). A {@code null} password means
     * no password at all, for certificate, peer or trust authentication, even if the URL has one.
     */
    public PgkitBuilder credentials(String user, String password) {
        this.credentials = new Connector.Credentials(Objects.requireNonNull(user, "user"), Optional.ofNullable(password));
        return this;
    }

    /**
     * The server's host name or address, to connect with individual parameters instead of a URL (as Persist's
     * {@code postgres: {host, port, database, user, password, ssl}}): with {@link #port} (default 5432),
     * {@link #database} (default the user's name), {@link #credentials} for the user and password and
     * {@link #sslMode}/{@link #sslRootCert} for TLS. Exclusive with {@link #url} and {@link #dataSource}.
     */
    public PgkitBuilder host(String host) {
        this.host = Objects.requireNonNull(host, "host");
        return this;
    }

    /** The server's port with {@link #host} (default 5432). */
    public PgkitBuilder port(int port) {
        this.port = port;
        return this;
    }

    /** The database with {@link #host} (default: the user's name, as libpq). */
    public PgkitBuilder database(String database) {
        this.database = Objects.requireNonNull(database, "database");
        return this;
    }

    /** libpq {@code sslmode}: disable, allow, prefer, require, verify-ca or verify-full. */
    public PgkitBuilder sslMode(String sslMode) {
        this.sslMode = Objects.requireNonNull(sslMode, "sslMode");
        return this;
    }

    /** The CA certificate that verifies the server ({@code sslrootcert}). */
    public PgkitBuilder sslRootCert(Path sslRootCert) {
        this.sslRootCert = Objects.requireNonNull(sslRootCert, "sslRootCert");
        return this;
    }

    /** The schema of pgkit's tables (default {@code public}, where the Node adapters put theirs). */
    public PgkitBuilder schema(String schema) {
        this.schema = schema;
        return this;
    }

    /** Maximum connections in the pool pgkit creates (default 10). */
    public PgkitBuilder poolSize(int poolSize) {
        this.poolSize = poolSize;
        return this;
    }

    /**
     * How long a connection of pgkit's pool may sit idle before it is closed; the pool then shrinks, down to no
     * connection, and opens them again as calls need them (Persist's {@code idleTimeout}). Default: never, the pool
     * keeps its connections open. Between 10 seconds (HikariCP's minimum) and 29 minutes (HikariCP ignores an idle
     * timeout within a second of a connection's 30-minute lifetime).
     */
    public PgkitBuilder idleTimeout(Duration idleTimeout) {
        this.idleTimeout = Objects.requireNonNull(idleTimeout, "idleTimeout");
        return this;
    }

    /**
     * How long opening a connection, or making a LISTEN active, may take (default 10 s). A whole number
     * of seconds: pgjdbc's {@code connectTimeout} and {@code loginTimeout} count in seconds, and pgkit
     * rejects a value it could not honour exactly rather than round it.
     */
    public PgkitBuilder connectTimeout(Duration connectTimeout) {
        this.connectTimeout = connectTimeout;
        return this;
    }

    /** How long a call waits for a free pool connection before failing (default 10 s). */
    public PgkitBuilder acquireTimeout(Duration acquireTimeout) {
        this.acquireTimeout = acquireTimeout;
        return this;
    }

    /**
     * How long one statement may run (default 30 s). On pgkit's own pool PostgreSQL cancels a statement
     * after this ({@code statement_timeout}, set at connection start: the statement is rolled back and
     * the call fails with {@link PgkitTimeoutException}); on every pool the client stops waiting for an
     * answer about two seconds later (the socket timeout, which also catches a connection the server no
     * longer answers on, as after a failover without a reset). Behind PgBouncer 1.20+ add
     * {@code statement_timeout} to its {@code track_extra_parameters}.
     */
    public PgkitBuilder statementTimeout(Duration statementTimeout) {
        this.statementTimeout = statementTimeout;
        return this;
    }

    /**
     * Whether adapters create or upgrade their tables on first use (default true). With false, first
     * use checks that the tables exist and the role holds the privileges needed, and fails with
     * {@link SchemaNotReadyException} naming what is missing.
     */
    public PgkitBuilder autoCreateSchema(boolean autoCreateSchema) {
        this.autoCreateSchema = autoCreateSchema;
        return this;
    }

    /**
     * The longest a blocking wait (a waiting {@code acquireLock} or {@code dequeue}) sleeps between
     * checks when nothing wakes it (default 1 s). pgkit's own writers wake waiters at once with
     * NOTIFY; Node writers sharing the tables send no NOTIFY, so this bounds how late a Node write
     * is seen, and how late any write is seen while the LISTEN connection is down.
     */
    public PgkitBuilder waitRecheckInterval(Duration interval) {
        this.waitRecheckInterval = interval;
        return this;
    }

    /**
     * How often expired rows are deleted in the background (default 1 minute). To turn housekeeping off,
     * call {@link #disableHousekeeping()}: {@code null} here is rejected by {@link #build()}.
     */
    public PgkitBuilder housekeepingInterval(Duration interval) {
        this.housekeepingInterval = interval;
        this.housekeepingDisabled = false;
        return this;
    }

    /** No background deletion of expired rows (run {@code pgkit cleanup} or {@link Pgkit#cleanup()} instead). */
    public PgkitBuilder disableHousekeeping() {
        this.housekeepingDisabled = true;
        return this;
    }

    /** The codec for stored values (default: Jackson with the modules found on the class path). */
    public PgkitBuilder codec(JsonCodec codec) {
        this.codec = Objects.requireNonNull(codec, "codec");
        return this;
    }

    /** Where {@code POSTGRES_URL}, {@code DATABASE_URL} and the libpq variables are read (default: the process environment). */
    public PgkitBuilder environment(Map<String, String> environment) {
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
        requireBetween("connectTimeout", connectTimeout, Duration.ofSeconds(1), MAX_CONNECT_TIMEOUT);
        if (connectTimeout.getNano() != 0) {
            throw new IllegalArgumentException("connectTimeout must be a whole number of seconds (pgjdbc's connectTimeout and "
                    + "loginTimeout count in seconds), was " + connectTimeout);
        }
        requireBetween("acquireTimeout", acquireTimeout, Duration.ofMillis(250), MAX_DURATION); // HikariCP's minimum
        requireBetween("statementTimeout", statementTimeout, Duration.ofMillis(1), Timeouts.MAX_STATEMENT);
        requireBetween("waitRecheckInterval", waitRecheckInterval, Duration.ofMillis(1), MAX_DURATION);
        if (!housekeepingDisabled) {
            if (housekeepingInterval == null) {
                throw new IllegalArgumentException("housekeepingInterval must not be null; to turn housekeeping off, call disableHousekeeping()");
            }
            requireBetween("housekeepingInterval", housekeepingInterval, Duration.ofMillis(1), MAX_DURATION);
        }
        if (url != null && dataSource != null) {
            throw new IllegalArgumentException("url and dataSource are exclusive: pass one");
        }
        if (dataSource != null && (credentials != null || sslMode != null || sslRootCert != null || idleTimeout != null)) {
            throw new IllegalArgumentException("credentials, TLS options and idleTimeout configure pgkit's own pool: set them on the DataSource instead");
        }
        if (idleTimeout != null) {
            requireBetween("idleTimeout", idleTimeout, Duration.ofSeconds(10), Duration.ofMinutes(29));
        }
        Map<String, String> parameters = connectionParameters();
        if (sslMode != null && !List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full").contains(sslMode)) {
            throw new IllegalArgumentException("sslMode '" + sslMode + "' is not one of disable, allow, prefer, require, verify-ca, verify-full");
        }
        JsonCodec valueCodec = codec != null ? codec : new JacksonJsonCodec();
        Connector connector = new Connector(new Connector.Options(Optional.ofNullable(credentials), Optional.ofNullable(sslMode),
                Optional.ofNullable(sslRootCert), poolSize, connectTimeout, acquireTimeout, statementTimeout, Optional.ofNullable(idleTimeout)));
        Connector.Connected connected = dataSource != null
                ? connector.callersPool(dataSource, Optional.ofNullable(listenerUrl))
                : connector.ownPool(Optional.ofNullable(url), parameters != null ? parameters : environment, Optional.ofNullable(listenerUrl));
        Context context = new Context(connected.database(), schemaName, valueCodec, autoCreateSchema, connected.listenerSource(),
                connectTimeout, housekeepingDisabled ? Optional.empty() : Optional.of(housekeepingInterval), waitRecheckInterval);
        return new Pgkit(context, connected.ownedPool().orElse(null));
    }

    /**
     * The individual connection parameters as the libpq variables they stand for, so that they take the path those
     * take (credentials and TLS options are applied on top as for a URL); null when none was set.
     */
    private Map<String, String> connectionParameters() {
        if (host == null && port == null && database == null) {
            return null;
        }
        if (host == null) {
            throw new IllegalArgumentException("port and database go with host: set host too, or put them in the url");
        }
        if (url != null || dataSource != null) {
            throw new IllegalArgumentException("host, port and database are exclusive with url and dataSource: pass one way to connect");
        }
        if (host.isBlank() || !host.codePoints().allMatch(c -> c > ' ' && c != 0x7f && "/?#@,".indexOf(c) < 0)) {
            throw new IllegalArgumentException("host must be a host name or an IP address, was '" + host + "'");
        }
        if (port != null && (port < 1 || port > 65535)) {
            throw new IllegalArgumentException("port must be between 1 and 65535, was " + port);
        }
        if (database != null && (database.isEmpty() || database.codePoints().anyMatch(Character::isISOControl))) {
            throw new IllegalArgumentException("database must be a non-empty name without control characters");
        }
        Map<String, String> parameters = new java.util.HashMap<>();
        parameters.put("PGHOST", host);
        parameters.put("PGPORT", String.valueOf(port != null ? port : 5432));
        if (database != null) {
            parameters.put("PGDATABASE", database);
        }
        if (credentials != null) {
            parameters.put("PGUSER", credentials.user());
        }
        return parameters;
    }

    private static void requireBetween(String option, Duration value, Duration min, Duration max) {
        if (value == null || value.compareTo(min) < 0) {
            throw new IllegalArgumentException(option + " must be at least " + min + ", was " + value);
        }
        if (value.compareTo(max) > 0) {
            throw new IllegalArgumentException(option + " must be at most " + max + ", was " + value);
        }
    }
}
