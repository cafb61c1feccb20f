package dev.pgkit.testing;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

/**
 * A test server's URL ({@code jdbc:postgresql://...} or libpq's {@code postgres://user:pass@host:port/db?...})
 * as a pgjdbc URL and properties, for the harness's own connections.
 *
 * @param jdbcUrl    the URL without credentials
 * @param properties user, password and the URL's query parameters
 * @param describe   {@code host:port/database}, for messages (never the password)
 */
record JdbcTarget(String jdbcUrl, Properties properties, String describe) {

    static JdbcTarget of(String url) {
        String trimmed = url.trim();
        if (trimmed.startsWith("jdbc:postgresql:")) {
            int q = trimmed.indexOf('?');
            String describe = (q < 0 ? trimmed : trimmed.substring(0, q)).substring("jdbc:postgresql:".length()).replaceFirst("^//", "");
            return new JdbcTarget(trimmed, new Properties(), describe);
        }
        if (!trimmed.startsWith("postgres://") && !trimmed.startsWith("postgresql://")) {
            throw new IllegalArgumentException("not a postgres:// or jdbc:postgresql: URL");
        }
        URI uri = URI.create(trimmed);
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("a postgres:// URL without a single host the harness can parse");
        }
        Properties properties = new Properties();
        String userInfo = uri.getRawUserInfo();
        if (userInfo != null) {
            int colon = userInfo.indexOf(':');
            properties.setProperty("user", decode(colon < 0 ? userInfo : userInfo.substring(0, colon)));
            if (colon >= 0) {
                properties.setProperty("password", decode(userInfo.substring(colon + 1)));
            }
        }
        if (uri.getRawQuery() != null) {
            for (String pair : uri.getRawQuery().split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                    properties.setProperty(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)));
                }
            }
        }
        String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceFirst("^/", "");
        String hostPort = uri.getHost() + ":" + (uri.getPort() < 0 ? 5432 : uri.getPort());
        String database = decode(path);
        if (database.isEmpty()) {
            database = properties.getProperty("user", "postgres");
        }
        // pgjdbc percent-decodes the database name of its URL
        String jdbcUrl = "jdbc:postgresql://" + hostPort + "/" + java.net.URLEncoder.encode(database, StandardCharsets.UTF_8);
        return new JdbcTarget(jdbcUrl, properties, hostPort + "/" + database);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
}
