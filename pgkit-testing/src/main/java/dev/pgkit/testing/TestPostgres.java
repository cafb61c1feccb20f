package dev.pgkit.testing;

import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The PostgreSQL server a test run talks to: the one named by {@code PGKIT_TEST_URL}, or else one
 * embedded server started on first use and shared by every test of the run (stopped at JVM exit).
 *
 * <p>Tests isolate themselves with {@link #uniqueName(String)} (a schema or key prefix of their own),
 * so they can share a server with each other and with anything else on it.
 */
public final class TestPostgres {
    /** The environment variable (or system property) naming an existing server to test against. */
    public static final String URL_VARIABLE = "PGKIT_TEST_URL";

    private static TestPostgres shared;

    private final String url;
    private final EmbeddedPostgres embedded;

    private TestPostgres(String url, EmbeddedPostgres embedded) {
        this.url = url;
        this.embedded = embedded;
    }

    /** The server of this test run, started on first call when {@code PGKIT_TEST_URL} is not set. */
    public static synchronized TestPostgres shared() {
        if (shared == null) {
            String configured = Optional.ofNullable(System.getProperty(URL_VARIABLE)).orElse(System.getenv(URL_VARIABLE));
            if (configured != null && !configured.isBlank()) {
                shared = new TestPostgres(configured.trim(), null);
                ServerLogs.remote(shared.url);
            } else {
                EmbeddedPostgres server = EmbeddedPostgres.start("test");
                shared = new TestPostgres(server.jdbcUrl(), server);
            }
        }
        return shared;
    }

    /** A connection URL ({@code postgres://} or {@code jdbc:postgresql://}) for the server. */
    public String url() {
        return url;
    }

    /** The embedded server, when this run started one (absent with {@code PGKIT_TEST_URL}). */
    public Optional<EmbeddedPostgres> embedded() {
        return Optional.ofNullable(embedded);
    }

    /** A fresh lower-case identifier ({@code hint_xxxxxxxx}) for a schema or key prefix of one test. */
    public static String uniqueName(String hint) {
        String clean = hint.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9_]", "_");
        if (clean.length() > 40) {
            clean = clean.substring(0, 40);
        }
        return clean + "_" + Long.toHexString(ThreadLocalRandom.current().nextLong() & 0xffffffffL);
    }
}
