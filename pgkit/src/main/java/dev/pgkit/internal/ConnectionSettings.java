package dev.pgkit.internal;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;

/**
 * Where and how to connect: a {@code jdbc:postgresql://} URL plus driver properties, built from a
 * libpq-style {@code postgres://} URL, a JDBC URL or the libpq environment variables. Internal to pgkit (not exported).
 *
 * @param jdbcUrl    the JDBC URL, without credentials
 * @param properties driver properties (user, password, TLS, ...)
 * @param describe   {@code host:port/database as user}, for error messages (never the password)
 */
public record ConnectionSettings(String jdbcUrl, Properties properties, String describe) {

    /** libpq parameter names that pgjdbc spells differently. */
    private static final Map<String, String> LIBPQ_TO_PGJDBC = Map.of(
            "application_name", "ApplicationName",
            "connect_timeout", "connectTimeout",
            "target_session_attrs", "targetServerType");

    /**
     * Parses a {@code postgres://}/{@code postgresql://} URL or a {@code jdbc:postgresql://} URL.
     *
     * @throws IllegalArgumentException if the URL has neither form
     */
    public static ConnectionSettings parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("url must not be null or empty");
        }
        String trimmed = url.trim();
        if (trimmed.startsWith("jdbc:postgresql:")) {
            return fromJdbc(trimmed);
        }
        if (trimmed.startsWith("postgres://") || trimmed.startsWith("postgresql://")) {
            return fromLibpq(trimmed);
        }
        throw new IllegalArgumentException("url '" + redact(trimmed) + "' is neither a postgres://user:pass@host:port/db URL "
                + "nor a jdbc:postgresql:// URL");
    }

    /**
     * Reads {@code POSTGRES_URL}, then {@code DATABASE_URL}, then the libpq variables
     * ({@code PGHOST}, {@code PGPORT}, {@code PGUSER}, {@code PGPASSWORD}, {@code PGDATABASE}).
     *
     * @throws IllegalArgumentException when none of them is set
     */
    public static ConnectionSettings fromEnvironment(Map<String, String> env) {
        for (String name : new String[] {"POSTGRES_URL", "DATABASE_URL"}) {
            String value = env.get(name);
            if (value != null && !value.isBlank()) {
                try {
                    return parse(value);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("environment variable " + name + ": " + e.getMessage(), e);
                }
            }
        }
        if (env.get("PGHOST") == null && env.get("PGDATABASE") == null && env.get("PGUSER") == null) {
            throw new IllegalArgumentException("no database configured: pass a URL or a DataSource, or set POSTGRES_URL, "
                    + "DATABASE_URL or the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE");
        }
        String user = env.getOrDefault("PGUSER", System.getProperty("user.name"));
        String host = env.getOrDefault("PGHOST", "localhost");
        String port = env.getOrDefault("PGPORT", "5432");
        String database = env.getOrDefault("PGDATABASE", user);
        Properties props = new Properties();
        props.setProperty("user", user);
        if (env.get("PGPASSWORD") != null) {
            props.setProperty("password", env.get("PGPASSWORD"));
        }
        if (env.get("PGSSLMODE") != null) {
            props.setProperty("sslmode", env.get("PGSSLMODE"));
        }
        if (env.get("PGSSLROOTCERT") != null) {
            props.setProperty("sslrootcert", env.get("PGSSLROOTCERT"));
        }
        String hostPort = host.contains(":") && !host.startsWith("[") ? "[" + host + "]:" + port : host + ":" + port;
        return new ConnectionSettings("jdbc:postgresql://" + hostPort + "/" + database, props,
                hostPort + "/" + database + " as " + user);
    }

    /** A copy with one more driver property. */
    public ConnectionSettings with(String property, String value) {
        Properties copy = new Properties();
        copy.putAll(properties);
        copy.setProperty(property, value);
        return new ConnectionSettings(jdbcUrl, copy, describe);
    }

    private static ConnectionSettings fromLibpq(String url) {
        String rest = url.substring(url.indexOf("://") + 3);
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String userInfo = null;
        int at = rest.lastIndexOf('@');
        if (at >= 0) {
            userInfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
        }
        String hosts = rest;
        String database = "";
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            hosts = rest.substring(0, slash);
            database = decode(rest.substring(slash + 1));
        }
        if (hosts.isEmpty()) {
            hosts = "localhost";
        }
        Properties props = new Properties();
        String user = null;
        if (userInfo != null && !userInfo.isEmpty()) {
            int colon = userInfo.indexOf(':');
            user = decode(colon >= 0 ? userInfo.substring(0, colon) : userInfo);
            props.setProperty("user", user);
            if (colon >= 0) {
                props.setProperty("password", decode(userInfo.substring(colon + 1)));
            }
        }
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = decode(eq >= 0 ? pair.substring(0, eq) : pair);
                String value = eq >= 0 ? decode(pair.substring(eq + 1)) : "";
                props.setProperty(LIBPQ_TO_PGJDBC.getOrDefault(key, key), value);
            }
        }
        if (user == null && props.getProperty("user") != null) {
            user = props.getProperty("user");
        }
        if (database.isEmpty()) {
            database = user != null ? user : "postgres";
        }
        String withPorts = addDefaultPorts(hosts);
        return new ConnectionSettings("jdbc:postgresql://" + withPorts + "/" + database, props,
                withPorts + "/" + database + (user != null ? " as " + user : ""));
    }

    private static ConnectionSettings fromJdbc(String url) {
        Properties parsed = org.postgresql.Driver.parseURL(url, new Properties());
        if (parsed == null) {
            throw new IllegalArgumentException("url '" + redact(url) + "' is not a valid jdbc:postgresql:// URL");
        }
        String user = parsed.getProperty("user");
        String describe = parsed.getProperty("PGHOST", "localhost").replace(',', '+') + ":" + parsed.getProperty("PGPORT", "5432")
                + "/" + parsed.getProperty("PGDBNAME", "") + (user != null ? " as " + user : "");
        // URL parameters beat driver properties in pgjdbc: move them into the properties so options can override them
        Properties props = new Properties();
        parsed.stringPropertyNames().stream()
                .filter(name -> !name.equals("PGHOST") && !name.equals("PGPORT") && !name.equals("PGDBNAME"))
                .forEach(name -> props.setProperty(name, parsed.getProperty(name)));
        int query = url.indexOf('?');
        return new ConnectionSettings(query < 0 ? url : url.substring(0, query), props, describe);
    }

    private static String addDefaultPorts(String hosts) {
        StringBuilder out = new StringBuilder();
        for (String host : hosts.split(",")) {
            if (out.length() > 0) {
                out.append(',');
            }
            boolean hasPort = host.startsWith("[") ? host.contains("]:") : host.contains(":");
            out.append(host).append(hasPort ? "" : ":5432");
        }
        return out.toString();
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    /** The URL with any password replaced, for messages. */
    public static String redact(String url) {
        return url.replaceAll("://([^:/@]*):[^@/]*@", "://$1:***@").replaceAll("(?i)(password=)[^&]*", "$1***");
    }
}
