package dev.pgkit.bench;

import dev.pgkit.Pgkit;
import dev.pgkit.testing.EmbeddedPostgres;

/**
 * The server the benchmarks run against: {@code PGKIT_BENCH_URL}, or an embedded PostgreSQL started
 * for the benchmark process. One per JVM (JMH forks a JVM per benchmark).
 */
final class BenchServer {
    static final String SCHEMA = "pgkit_bench";
    private static String url;

    private BenchServer() {
    }

    static synchronized String url() {
        if (url == null) {
            String configured = System.getenv("PGKIT_BENCH_URL");
            url = configured != null && !configured.isBlank() ? configured : EmbeddedPostgres.start("bench").jdbcUrl();
        }
        return url;
    }

    static Pgkit pgkit(int poolSize) {
        return Pgkit.builder().url(url()).schema(SCHEMA).poolSize(poolSize).disableHousekeeping().build();
    }
}
