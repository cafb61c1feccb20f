package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.PgkitBuilder;
import dev.pgkit.testing.EmbeddedPostgres;
import java.io.PrintWriter;
import java.util.Map;
import picocli.CommandLine.Option;

/** {@code --url} and {@code --schema}, and how a command gets its database. */
final class DatabaseOptions {
    @Option(names = "--url", description = "postgres://user:pass@host:port/db or jdbc:postgresql:// URL "
            + "(default: POSTGRES_URL, DATABASE_URL, then the libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)")
    String url;

    @Option(names = "--schema", defaultValue = "public", description = "schema of pgkit's tables (default: ${DEFAULT-VALUE})")
    String schema;

    /** No database is configured and the command cannot start one. */
    static final class NotConfiguredException extends RuntimeException {
        NotConfiguredException(String command) {
            super("no database configured for `pgkit " + command + "`: pass --url postgres://user:pass@host:port/db, "
                    + "or set POSTGRES_URL, DATABASE_URL or PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE");
        }
    }

    /** A connected Pgkit and, when one had to be started, the embedded server behind it. */
    record Target(Pgkit pgkit, EmbeddedPostgres embedded) implements AutoCloseable {
        @Override
        public void close() {
            pgkit.close();
            if (embedded != null) {
                embedded.close();
            }
        }
    }

    boolean configured(Map<String, String> env) {
        return url != null || set(env, "POSTGRES_URL") || set(env, "DATABASE_URL") || set(env, "PGHOST")
                || set(env, "PGDATABASE") || set(env, "PGUSER");
    }

    /** Connects to the configured database; without one, fails (or starts an embedded server if allowed). */
    Target connect(String command, Map<String, String> env, boolean embeddedAllowed, PrintWriter out, int poolSize) {
        if (!configured(env)) {
            if (!embeddedAllowed) {
                throw new NotConfiguredException(command);
            }
            EmbeddedPostgres server = EmbeddedPostgres.start(command);
            out.println("no database configured: started an embedded PostgreSQL on 127.0.0.1:" + server.port()
                    + " (it is deleted on exit; pass --url to use your own)");
            out.flush();
            try {
                return new Target(builder(env, poolSize).url(server.jdbcUrl()).build(), server);
            } catch (RuntimeException e) {
                server.close();
                throw e;
            }
        }
        PgkitBuilder builder = builder(env, poolSize);
        if (url != null) {
            builder.url(url);
        }
        return new Target(builder.build(), null);
    }

    private PgkitBuilder builder(Map<String, String> env, int poolSize) {
        return Pgkit.builder().schema(schema).environment(env).poolSize(poolSize).disableHousekeeping();
    }

    private static boolean set(Map<String, String> env, String name) {
        String value = env.get(name);
        return value != null && !value.isBlank();
    }
}
