package dev.pgkit.internal;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Where and how to connect: a {@code jdbc:postgresql://} URL plus driver properties, built from a
 * libpq-style {@code postgres://} URL, a JDBC URL or the libpq environment variables. The password
 * lives only in the properties: {@link #toString()}, {@link #describe()} and every message leave it out.
 */
final class ConnectionSettings {
    /** libpq parameter names that pgjdbc spells differently. */
    private static final Map<String, String> LIBPQ_TO_PGJDBC = Map.of(
            "application_name", "ApplicationName",
            "connect_timeout", "connectTimeout",
            "target_session_attrs", "targetServerType");

    private final String jdbcUrl;
    private final Properties properties;
    private final String describe;

    private ConnectionSettings(String jdbcUrl, Properties properties, String describe) {
        this.jdbcUrl = jdbcUrl;
        this.properties = properties;
        this.describe = describe;
    }

    /**
     * Parses a {@code postgres://}/{@code postgresql://} URL or a {@code jdbc:postgresql://} URL.
     *
     * @throws IllegalArgumentException if the URL has neither form (the message never shows a password)
     */
    static ConnectionSettings parse(String url) {
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
    static ConnectionSettings fromEnvironment(Map<String, String> env) {
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
        return new ConnectionSettings("jdbc:postgresql://" + hostPort + "/" + encodeDatabase(database), props,
                hostPort + "/" + database + " as " + user);
    }

    /** The JDBC URL, without credentials or parameters (those are in {@link #properties()}). */
    String jdbcUrl() {
        return jdbcUrl;
    }

    /** A copy of the driver properties (user, password, TLS, ...). */
    Properties properties() {
        Properties copy = new Properties();
        copy.putAll(properties);
        return copy;
    }

    /** {@code host:port/database as user}, for messages (never the password). */
    String describe() {
        return describe;
    }

    /** A driver property's value, or null. */
    String property(String name) {
        return properties.getProperty(name);
    }

    /** A copy with one more driver property. */
    ConnectionSettings with(String property, String value) {
        Properties copy = properties();
        copy.setProperty(property, value);
        return new ConnectionSettings(jdbcUrl, copy, describe);
    }

    /** A copy without a driver property. */
    ConnectionSettings without(String property) {
        Properties copy = properties();
        copy.remove(property);
        return new ConnectionSettings(jdbcUrl, copy, describe);
    }

    /** A copy connecting as {@code user}, with {@code describe} saying so. */
    ConnectionSettings asUser(String user) {
        Properties copy = properties();
        copy.setProperty("user", user);
        int as = describe.lastIndexOf(" as ");
        return new ConnectionSettings(jdbcUrl, copy, (as >= 0 ? describe.substring(0, as) : describe) + " as " + user);
    }

    @Override
    public String toString() {
        return "ConnectionSettings[" + jdbcUrl + ", " + describe + "]";
    }

    private static ConnectionSettings fromLibpq(String url) {
        String rest = url.substring(url.indexOf("://") + 3);
        String userInfo = null;
        int at = userInfoEnd(rest);
        if (at >= 0) {
            userInfo = rest.substring(0, at);
            rest = rest.substring(at + 1);
        }
        String query = "";
        int q = rest.indexOf('?');
        if (q >= 0) {
            query = rest.substring(q + 1);
            rest = rest.substring(0, q);
        }
        String hosts = rest;
        String database = "";
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            hosts = rest.substring(0, slash);
            database = decode("the database name", rest.substring(slash + 1));
        }
        if (hosts.isEmpty()) {
            hosts = "localhost";
        }
        Properties props = new Properties();
        String user = null;
        if (userInfo != null && !userInfo.isEmpty()) {
            int colon = userInfo.indexOf(':');
            user = decode("the user name", colon >= 0 ? userInfo.substring(0, colon) : userInfo);
            props.setProperty("user", user);
            if (colon >= 0) {
                props.setProperty("password", decode("the password", userInfo.substring(colon + 1)));
            }
        }
        if (!query.isEmpty()) {
            for (String pair : query.split("&")) {
                if (pair.isEmpty()) {
                    continue;
                }
                int eq = pair.indexOf('=');
                String key = decode("a parameter name", eq >= 0 ? pair.substring(0, eq) : pair);
                String value = eq >= 0 ? decode("parameter " + key, pair.substring(eq + 1)) : "";
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
        return new ConnectionSettings("jdbc:postgresql://" + withPorts + "/" + encodeDatabase(database), props,
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

    /**
     * Where the user info of {@code rest} (the URL after {@code ://}) ends: the last '@' before the query,
     * or, when a raw '?' in a password hides it, the last '@' with no '/' before it; -1 if none.
     */
    private static int userInfoEnd(String rest) {
        int q = rest.indexOf('?');
        int at = q >= 0 ? rest.lastIndexOf('@', q) : rest.lastIndexOf('@');
        if (at < 0 && q >= 0) {
            int last = rest.lastIndexOf('@');
            if (last >= 0 && rest.lastIndexOf('/', last) < 0) {
                at = last;
            }
        }
        return at;
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

    /** Percent-decodes one part of a URL; '+' stays '+' (libpq does not read it as a space). */
    private static String decode(String what, String s) {
        try {
            return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            // URLDecoder's message quotes the input, which may be a password
            throw new IllegalArgumentException("url: " + what + " is not valid percent-encoding (write a literal % as %25)");
        }
    }

    /** The database name as pgjdbc reads it back from the URL's path (it URL-decodes the path). */
    private static String encodeDatabase(String database) {
        return URLEncoder.encode(database, StandardCharsets.UTF_8);
    }

    /** The URL with its password (user info or {@code password} parameter) replaced by {@code ***}, for messages. */
    static String redact(String url) {
        int scheme = url.indexOf("://");
        String prefix = scheme >= 0 ? url.substring(0, scheme + 3) : "";
        String rest = scheme >= 0 ? url.substring(scheme + 3) : url;
        int at = scheme >= 0 ? userInfoEnd(rest) : -1;
        if (at >= 0) {
            String userInfo = rest.substring(0, at);
            int colon = userInfo.indexOf(':');
            rest = (colon >= 0 ? userInfo.substring(0, colon) + ":***" : userInfo) + rest.substring(at);
        }
        int q = rest.indexOf('?');
        if (q < 0) {
            return prefix + rest;
        }
        StringBuilder out = new StringBuilder(prefix).append(rest, 0, q + 1);
        String[] pairs = rest.substring(q + 1).split("&", -1);
        for (int i = 0; i < pairs.length; i++) {
            if (i > 0) {
                out.append('&');
            }
            int eq = pairs[i].indexOf('=');
            String key = eq >= 0 ? pairs[i].substring(0, eq) : pairs[i];
            out.append(key.toLowerCase(Locale.ROOT).contains("password") ? key + "=***" : pairs[i]);
        }
        return out.toString();
    }
}
