package dev.pgkit.cli;

import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * The floors' connections: plain pgjdbc, no pool, to the server and with the settings of pgkit's own pool
 * (so the floor and pgkit differ only in what pgkit adds), named {@code pgkit-bench-floor} on the server.
 *
 * @param jdbcUrl    the pool's JDBC URL
 * @param properties the pool's driver properties, plus the application name
 */
record PlainConnections(String jdbcUrl, Properties properties) {

    /** The settings of pgkit's own pool; a caller's {@code DataSource} has none to copy. */
    static PlainConnections of(DataSource dataSource) {
        if (!(dataSource instanceof HikariDataSource hikari)) {
            throw new IllegalStateException("the floor needs pgkit's own pool (a URL), not a caller's DataSource");
        }
        Properties properties = new Properties();
        properties.putAll(hikari.getDataSourceProperties());
        properties.setProperty("ApplicationName", "pgkit-bench-floor");
        return new PlainConnections(hikari.getJdbcUrl(), properties);
    }

    /** A new connection, outside any pool. */
    Connection open() throws SQLException {
        return DriverManager.getConnection(jdbcUrl, properties);
    }
}
