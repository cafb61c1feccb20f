package dev.pgkit.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;

/**
 * The PostgreSQL floor a pgkit operation is compared with: the same single statement run by a plain
 * pgjdbc loop (no pool, no pgkit) and by pgbench, on the same server at the same concurrency.
 */
final class Floor {
    static final String PREFIX = "bench-floor";
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\((without initial connection time|excluding connections establishing)\\)");

    private final PlainConnections connections;
    private final String cache;

    Floor(DataSource dataSource, String schema) {
        this.connections = PlainConnections.of(dataSource);
        this.cache = "\"" + schema + "\".chat_state_cache";
    }

    /** {@code SELECT value ... WHERE key_prefix = ? AND cache_key = ?}: what {@code get} costs at least. */
    String selectSql() {
        return "SELECT value FROM " + cache + " WHERE key_prefix = ? AND cache_key = ?";
    }

    /** A one-row upsert: what every write costs at least. */
    String upsertSql() {
        return "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at) VALUES (?, ?, ?, now() + interval '1 hour')"
                + " ON CONFLICT (key_prefix, cache_key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at";
    }

    /** Creates the rows the floors read, one per client. */
    void prepare(int clients) throws Exception {
        try (Connection c = connect(); PreparedStatement s = c.prepareStatement(upsertSql())) {
            for (int i = 0; i <= clients; i++) {
                s.setString(1, PREFIX);
                s.setString(2, "k" + i);
                s.setString(3, "\"v\"");
                s.executeUpdate();
            }
        }
    }

    LoadRunner.Result pgjdbc(boolean write, int clients, Duration warmup, Duration duration) throws Exception {
        return LoadRunner.run(clients, warmup, duration, index -> {
            Connection connection = connect();
            PreparedStatement statement = connection.prepareStatement(write ? upsertSql() : selectSql());
            statement.setString(1, PREFIX);
            statement.setString(2, "k" + index);
            if (write) {
                statement.setString(3, "\"v\"");
            }
            return new LoadRunner.Worker() {
                @Override
                public void run() throws Exception {
                    if (write) {
                        statement.executeUpdate();
                    } else {
                        try (ResultSet rs = statement.executeQuery()) {
                            rs.next();
                        }
                    }
                }

                @Override
                public void close() throws Exception {
                    connection.close();
                }
            };
        });
    }

    /** pgbench running the same statement, or empty where pgbench is not installed. */
    OptionalDouble pgbench(boolean write, int clients, Duration duration) throws Exception {
        Optional<Path> pgbench = findPgbench();
        if (pgbench.isEmpty()) {
            return OptionalDouble.empty();
        }
        Properties parsed = org.postgresql.Driver.parseURL(connections.jdbcUrl(), connections.properties());
        String sql = write
                ? "INSERT INTO " + cache + " (key_prefix, cache_key, value, expires_at) VALUES ('" + PREFIX + "', 'k' || :client_id, '\"v\"', now() + interval '1 hour')"
                  + " ON CONFLICT (key_prefix, cache_key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at;"
                : "SELECT value FROM " + cache + " WHERE key_prefix = '" + PREFIX + "' AND cache_key = 'k' || :client_id;";
        Path script = Files.createTempFile("pgkit-floor-", ".sql");
        try {
            Files.writeString(script, sql + "\n", StandardCharsets.UTF_8);
            List<String> command = new ArrayList<>(List.of(pgbench.get().toString(), "-n", "-M", "prepared",
                    "-c", Integer.toString(clients), "-j", Integer.toString(Math.min(clients, 2)),
                    "-T", Long.toString(Math.max(1, duration.toSeconds())), "-f", script.toString(),
                    "-h", parsed.getProperty("PGHOST", "localhost").split(",")[0],
                    "-p", parsed.getProperty("PGPORT", "5432").split(",")[0]));
            if (parsed.getProperty("user") != null) {
                command.addAll(List.of("-U", parsed.getProperty("user")));
            }
            command.add(parsed.getProperty("PGDBNAME"));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
            if (parsed.getProperty("password") != null) {
                builder.environment().put("PGPASSWORD", parsed.getProperty("password"));
            }
            Process process = builder.start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor(duration.toSeconds() + 60, TimeUnit.SECONDS);
            Matcher m = TPS.matcher(output);
            if (process.exitValue() != 0 || !m.find()) {
                throw new IllegalStateException("pgbench failed:\n" + output);
            }
            return OptionalDouble.of(Double.parseDouble(m.group(1)));
        } finally {
            Files.deleteIfExists(script);
        }
    }

    Connection connect() throws Exception {
        return connections.open();
    }

    private static Optional<Path> findPgbench() throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path candidate = Path.of(dir, "pgbench");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
