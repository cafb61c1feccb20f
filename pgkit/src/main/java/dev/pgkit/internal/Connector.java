package dev.pgkit.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.PgkitConnectionException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * Resolves where pgkit connects (a URL, the environment, or a caller's pool), checks that the server
 * answers, and opens pgkit's own pool and the LISTEN connection's source. Internal to pgkit (not exported).
 */
public final class Connector {
    /**
     * The connection options of a validated {@code PgkitBuilder}.
     *
     * @param user           overrides the URL's user
     * @param password       overrides the URL's password
     * @param sslMode        libpq {@code sslmode}
     * @param sslRootCert    the CA certificate that verifies the server
     * @param poolSize       maximum connections of pgkit's own pool
     * @param connectTimeout how long opening a connection may take
     * @param acquireTimeout how long a call waits for a free pool connection
     */
    public record Options(Optional<String> user, Optional<String> password, Optional<String> sslMode, Optional<Path> sslRootCert,
                          int poolSize, Duration connectTimeout, Duration acquireTimeout) {
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
        probe(settings.describe(), directSource(settings));
        HikariConfig config = new HikariConfig();
        config.setPoolName("pgkit");
        config.setJdbcUrl(settings.jdbcUrl());
        config.setDataSourceProperties(settings.with("ApplicationName", "pgkit").properties());
        config.setMaximumPoolSize(options.poolSize());
        config.setConnectionTimeout(options.acquireTimeout().toMillis());
        config.setInitializationFailTimeout(options.connectTimeout().toMillis());
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new PgkitConnectionException("cannot connect to PostgreSQL at " + settings.describe() + ": " + rootMessage(e), e);
        }
        Database database = new Database(pool, settings.describe());
        return new Connected(database, directSource(listenerSettings.with("ApplicationName", "pgkit-listener")), Optional.of(pool));
    }

    /**
     * Uses a caller's pool, which pgkit never closes.
     *
     * @throws PgkitConnectionException if the pool cannot hand out a working connection
     */
    public Connected callersPool(DataSource dataSource, Optional<String> listenerUrl) {
        String describe = describeDataSource(dataSource);
        probe(describe, dataSource::getConnection);
        NotificationListener.ConnectionSource listener = listenerUrl
                .map(u -> directSource(withOptions(ConnectionSettings.parse(u)).with("ApplicationName", "pgkit-listener")))
                .orElseGet(() -> listenerBeside(dataSource));
        return new Connected(new Database(dataSource, describe), listener, Optional.empty());
    }

    private ConnectionSettings withOptions(ConnectionSettings settings) {
        ConnectionSettings out = settings.with("connectTimeout", Long.toString(Math.max(1, options.connectTimeout().toSeconds())))
                .with("tcpKeepAlive", "true");
        if (options.user().isPresent()) {
            out = out.with("user", options.user().get());
            if (options.password().isPresent()) {
                out = out.with("password", options.password().get());
            }
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
     * The LISTEN connection for a caller's pool: a direct connection with the pool's own settings where
     * they can be read (a HikariCP pool configured with a JDBC URL), so no pool slot is held forever;
     * otherwise one connection borrowed from the pool (pass a listener URL to avoid that).
     */
    private static NotificationListener.ConnectionSource listenerBeside(DataSource dataSource) {
        if (dataSource instanceof HikariDataSource hikari && hikari.getJdbcUrl() != null) {
            Properties properties = new Properties();
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
}
