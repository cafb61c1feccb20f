package dev.pgkit.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.PgkitConnectionException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves where pgkit connects (a URL, the environment, or a caller's pool), checks that the server
 * answers, and opens pgkit's own pool and the LISTEN connection's source. Internal to pgkit (not exported).
 */
public final class Connector {
    private static final Logger log = LoggerFactory.getLogger(Connector.class);
    /**
     * The connection options of a validated {@code PgkitBuilder}.
     *
     * @param credentials      user and password overriding the URL's
     * @param sslMode          libpq {@code sslmode}
     * @param sslRootCert      the CA certificate that verifies the server
     * @param poolSize         maximum connections of pgkit's own pool
     * @param connectTimeout   how long opening a connection may take (whole seconds: pgjdbc's unit)
     * @param acquireTimeout   how long a call waits for a free pool connection
     * @param statementTimeout how long one statement may run
     * @param idleTimeout      how long a pooled connection may sit idle before it is closed (empty: never)
     */
    public record Options(Optional<Credentials> credentials, Optional<String> sslMode, Optional<Path> sslRootCert,
                          int poolSize, Duration connectTimeout, Duration acquireTimeout, Duration statementTimeout,
                          Optional<Duration> idleTimeout) {
        /** Options whose pool keeps its connections open. */
        public Options(Optional<Credentials> credentials, Optional<String> sslMode, Optional<Path> sslRootCert,
                       int poolSize, Duration connectTimeout, Duration acquireTimeout, Duration statementTimeout) {
            this(credentials, sslMode, sslRootCert, poolSize, connectTimeout, acquireTimeout, statementTimeout, Optional.empty());
        }
    }

    /**
     * A user and a password; an empty password means none (certificate, peer or trust authentication),
     * even if the URL has one.
     */
    public record Credentials(String user, Optional<String> password) {
        @Override
        public String toString() {
            return "Credentials[" + user + (password.isPresent() ? ", password ***" : ", no password") + "]";
        }
    }

    /**
     * What a connected {@code Pgkit} runs on.
     *
     * @param database       the statement runner over the pool
     * @param listenerSource where the LISTEN connection comes from
     * @param ownedPool      the pool pgkit created and must close (empty for a caller's pool)
     */
    public record Connected(Database database, NotificationListener.ConnectionSource listenerSource, Optional<HikariDataSource> ownedPool) {
    }

    private final Options options;

    public Connector(Options options) {
        this.options = options;
    }

    /**
     * Opens pgkit's own pool on {@code url}, or on the environment's database when no URL is given.
     *
     * @throws IllegalArgumentException if the URL or environment cannot be parsed
     * @throws PgkitConnectionException if the server cannot be reached or refuses the login
     */
    public Connected ownPool(Optional<String> url, Map<String, String> environment, Optional<String> listenerUrl) {
        ConnectionSettings settings = withOptions(url.map(ConnectionSettings::parse).orElseGet(() -> ConnectionSettings.fromEnvironment(environment)));
        ConnectionSettings listenerSettings = listenerUrl.map(u -> withOptions(ConnectionSettings.parse(u))).orElse(settings);
        Timeouts timeouts = Timeouts.of(options.statementTimeout());
        ConnectionSettings poolSettings = withStatementBounds(settings, timeouts).with("ApplicationName", "pgkit");
        probe(settings.describe(), directSource(poolSettings), connection -> connection.isValid(5));
        HikariConfig config = new HikariConfig();
        config.setPoolName("pgkit");
        config.setJdbcUrl(poolSettings.jdbcUrl());
        config.setDataSourceProperties(poolSettings.properties());
        config.setMaximumPoolSize(options.poolSize());
        config.setConnectionTimeout(options.acquireTimeout().toMillis());
        // HikariCP checks a connection idle for over 500 ms before handing it out; on a server that stopped
        // answering that check must give up well within acquireTimeout (HikariCP's minimum is 250 ms)
        config.setValidationTimeout(Math.max(250, Math.min(5_000, options.acquireTimeout().toMillis() / 2)));
        config.setInitializationFailTimeout(options.connectTimeout().toMillis());
        options.idleTimeout().ifPresent(idle -> {
            // HikariCP retires idle connections only above minimumIdle, which defaults to the pool's size
            config.setMinimumIdle(0);
            config.setIdleTimeout(idle.toMillis());
        });
        // Set once per physical connection (SET SESSION CHARACTERISTICS when it opens): every statement then runs at
        // READ COMMITTED whatever the role's or database's default, with no per-statement SET and no warning.
        config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new PgkitConnectionException("cannot connect to PostgreSQL at " + settings.describe() + ": " + rootMessage(e), e);
        }
        Database database = new Database(pool, settings.describe(), timeouts, true);
        return new Connected(database, directSource(listenerSettings.with("ApplicationName", "pgkit-listener")), Optional.of(pool));
    }

    /**
     * Uses a caller's pool, which pgkit never closes.
     *
     * @throws PgkitConnectionException if the pool cannot hand out a working connection
     */
    public Connected callersPool(DataSource dataSource, Optional<String> listenerUrl) {
        String describe = describeDataSource(dataSource);
        String isolation = probe(describe, dataSource::getConnection, Connector::defaultIsolation);
        boolean readCommittedPerStatement = !"read committed".equalsIgnoreCase(isolation);
        if (readCommittedPerStatement) {
            log.info("pgkit: the DataSource's connections default to {} isolation; pgkit runs each of its statements in its own "
                    + "READ COMMITTED transaction", isolation);
        }
        NotificationListener.ConnectionSource listener = listenerUrl
                .map(u -> directSource(withOptions(ConnectionSettings.parse(u)).with("ApplicationName", "pgkit-listener")))
                .orElseGet(() -> listenerBeside(dataSource));
        return new Connected(new Database(dataSource, describe, Timeouts.of(options.statementTimeout()), false, readCommittedPerStatement),
                listener, Optional.empty());
    }

    /**
     * The isolation level a transaction on {@code connection} gets by default (the pool's setting, else the
     * role's or database's {@code default_transaction_isolation}), e.g. {@code read committed}.
     */
    private static String defaultIsolation(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet rs = statement.executeQuery("SHOW transaction_isolation")) {
            rs.next();
            return rs.getString(1);
        } finally {
            if (!connection.getAutoCommit()) {
                connection.rollback(); // the SHOW began a transaction: the connection goes back idle
            }
        }
    }

    /** The connection options applied to {@code settings} (user, password, TLS, connect bounds). */
    ConnectionSettings withOptions(ConnectionSettings settings) {
        ConnectionSettings out = settings;
        for (Map.Entry<String, String> bound : connectBounds().entrySet()) {
            out = out.with(bound.getKey(), bound.getValue());
        }
        if (options.credentials().isPresent()) {
            Credentials credentials = options.credentials().get();
            out = out.asUser(credentials.user());
            out = credentials.password().isPresent() ? out.with("password", credentials.password().get()) : out.without("password");
        }
        if (options.sslMode().isPresent()) {
            out = out.with("sslmode", options.sslMode().get());
        }
        if (options.sslRootCert().isPresent()) {
            out = out.with("sslrootcert", options.sslRootCert().get().toString());
        }
        return out;
    }

    /**
     * The server cancels a statement after the statement timeout (startup {@code options}: no round trip),
     * and the client stops waiting for an answer a little later (pgjdbc {@code socketTimeout}).
     */
    private static ConnectionSettings withStatementBounds(ConnectionSettings settings, Timeouts timeouts) {
        String existing = settings.property("options");
        String statementTimeout = "-c statement_timeout=" + timeouts.statement().toMillis();
        return settings.with("options", existing == null || existing.isBlank() ? statementTimeout : existing + " " + statementTimeout)
                .with("socketTimeout", Long.toString(timeouts.socketSeconds()));
    }

    /**
     * The LISTEN connection for a caller's pool: a direct connection with the pool's own settings where
     * they can be read (a HikariCP pool configured with a JDBC URL), so no pool slot is held forever, with
     * pgkit's connect bounds; otherwise one connection borrowed from the pool (pass a listener URL to
     * avoid that), given up after {@code connectTimeout + acquireTimeout} (a pool may wait for a free slot,
     * then open one) so that a login the server never answers cannot block the listener's thread.
     */
    private NotificationListener.ConnectionSource listenerBeside(DataSource dataSource) {
        if (dataSource instanceof HikariDataSource hikari && hikari.getJdbcUrl() != null) {
            Properties properties = new Properties();
            properties.putAll(hikari.getDataSourceProperties());
            if (hikari.getUsername() != null) {
                properties.setProperty("user", hikari.getUsername());
            }
            if (hikari.getPassword() != null) {
                properties.setProperty("password", hikari.getPassword());
            }
            connectBounds().forEach(properties::setProperty);
            properties.setProperty("ApplicationName", "pgkit-listener");
            return () -> DriverManager.getConnection(hikari.getJdbcUrl(), properties);
        }
        return bounded(dataSource::getConnection, options.connectTimeout().plus(options.acquireTimeout()));
    }

    /** The driver properties bounding the opening of a connection and keeping an idle one checked. */
    private Map<String, String> connectBounds() {
        String seconds = Long.toString(Math.max(1, options.connectTimeout().toSeconds()));
        // connectTimeout bounds the TCP connect, loginTimeout the whole opening (TLS and authentication included)
        return Map.of("connectTimeout", seconds, "loginTimeout", seconds, "tcpKeepAlive", "true");
    }

    /**
     * {@code source}, given up after {@code bound}: the opening runs on a thread of its own, and a connection
     * that arrives too late is closed. For a DataSource whose connections pgkit cannot configure.
     */
    static NotificationListener.ConnectionSource bounded(NotificationListener.ConnectionSource source, Duration bound) {
        return () -> {
            CompletableFuture<Connection> opening = new CompletableFuture<>();
            Thread opener = new Thread(() -> {
                try {
                    opening.complete(source.open());
                } catch (Throwable e) {
                    opening.completeExceptionally(e);
                }
            }, "pgkit-listener-connect");
            opener.setDaemon(true);
            opener.start();
            try {
                return opening.get(bound.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                abandon(opening, opener);
                throw new SQLTransientConnectionException("the DataSource handed out no connection within " + bound.toMillis()
                        + " ms (connectTimeout plus acquireTimeout)", "08001");
            } catch (InterruptedException e) {
                abandon(opening, opener);
                Thread.currentThread().interrupt();
                throw new SQLTransientConnectionException("interrupted while opening a connection", "08001", e);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof SQLException sql) {
                    throw sql;
                }
                if (e.getCause() instanceof RuntimeException runtime) {
                    throw runtime;
                }
                throw new SQLException("opening a connection failed", "08001", e.getCause());
            }
        };
    }

    private static void abandon(CompletableFuture<Connection> opening, Thread opener) {
        opening.thenAccept(late -> {
            try {
                late.close();
            } catch (SQLException ignored) {
                // nothing more to do with it
            }
        });
        opener.interrupt();
    }

    private static NotificationListener.ConnectionSource directSource(ConnectionSettings settings) {
        return () -> DriverManager.getConnection(settings.jdbcUrl(), settings.properties());
    }

    private static <T> T probe(String describe, NotificationListener.ConnectionSource source, Database.ConnectionWork<T> check) {
        try (Connection connection = source.open()) {
            return check.run(connection);
        } catch (SQLException e) {
            String hint = String.valueOf(e.getMessage()).contains("startup parameter")
                    ? " (a connection pooler such as PgBouncer in front of PostgreSQL? pgkit sets statement_timeout in the"
                    + " startup 'options': add statement_timeout to PgBouncer's track_extra_parameters, 1.20+)" : "";
            throw new PgkitConnectionException("cannot connect to PostgreSQL at " + describe + ": " + e.getMessage()
                    + (e.getSQLState() != null ? " [SQLState " + e.getSQLState() + "]" : "") + hint, e);
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
}
