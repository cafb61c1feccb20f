package dev.pgkit.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.Pgkit;
import dev.pgkit.PgkitBuilder;
import dev.pgkit.PgkitConnectionException;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A store opened with Persist's connection options, which are the {@code Pgkit}'s own: individual parameters
 * (host, port, database, user, password, TLS) besides a connection string, and the pool's idle timeout.
 */
@ExtendWith(PostgresExtension.class)
class StoreConnectionTest {
    private static final String SECRET = "s3cret-Pa55";

    /** The test server's host, port, database and user, as individual parameters. */
    private record Server(String host, int port, String database, String user) {
        static Server of(TestPostgres postgres) {
            if (postgres.embedded().isPresent()) {
                return new Server("127.0.0.1", postgres.embedded().get().port(), "postgres", "postgres");
            }
            String url = postgres.url();
            Assumptions.assumeTrue(url.startsWith("postgres"), "individual parameters are read from a postgres:// test URL only");
            URI uri = URI.create(url);
            String user = uri.getUserInfo() == null ? System.getProperty("user.name") : uri.getUserInfo().split(":")[0];
            Assumptions.assumeTrue(uri.getUserInfo() == null || !uri.getUserInfo().contains(":"), "a test URL with a password");
            return new Server(uri.getHost(), uri.getPort() < 0 ? 5432 : uri.getPort(), uri.getPath().substring(1), user);
        }
    }

    @Test
    void individualParametersOpenAStoreLikeAUrl(TestPostgres postgres) {
        Server server = Server.of(postgres);
        String schema = TestPostgres.uniqueName("persist_conn");
        Pgkit pgkit = Pgkit.builder().host(server.host()).port(server.port()).database(server.database())
                .credentials(server.user(), null).sslMode("disable").schema(TestPostgres.uniqueName("conn")).build();
        try {
            Store store = StoreTestSupport.store(pgkit, "analytics", schema);
            store.records().put("a", Map.of("n", 1));
            assertThat(store.records().get("a", Map.class)).hasValueSatisfying(r -> assertThat(r.value()).isEqualTo(Map.of("n", 1)));
            assertThat(pgkit.status().server()).contains(String.valueOf(server.port())).contains(server.user());
        } finally {
            StoreTestSupport.drop(pgkit, schema);
        }
    }

    @Test
    void idleTimeoutLetsThePoolShrink(TestPostgres postgres) {
        Pgkit pgkit = Pgkit.builder().url(postgres.url()).schema(TestPostgres.uniqueName("conn")).idleTimeout(Duration.ofSeconds(15)).build();
        try {
            HikariDataSource pool = (HikariDataSource) pgkit.dataSource();
            assertThat(pool.getIdleTimeout()).isEqualTo(15_000);
            assertThat(pool.getMinimumIdle()).as("idle connections are retired down to none").isZero();
            assertThat(pool.getMaximumPoolSize()).isEqualTo(10);
        } finally {
            StoreTestSupport.drop(pgkit);
        }
        Pgkit fixed = Pgkit.builder().url(postgres.url()).schema(TestPostgres.uniqueName("conn")).build();
        try {
            assertThat(((HikariDataSource) fixed.dataSource()).getMinimumIdle()).as("without an idle timeout the pool keeps its size").isEqualTo(10);
        } finally {
            StoreTestSupport.drop(fixed);
        }
    }

    @Test
    void impossibleConnectionOptionsNameTheOption() {
        assertThatThrownBy(() -> Pgkit.builder().host("localhost").idleTimeout(Duration.ofSeconds(5)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("idleTimeout must be at least PT10S");
        assertThatThrownBy(() -> Pgkit.builder().host("localhost").idleTimeout(Duration.ofMinutes(30)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("idleTimeout must be at most PT29M");
        assertThatThrownBy(() -> Pgkit.builder().host("localhost").port(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("port must be between 1 and 65535, was 0");
        assertThatThrownBy(() -> Pgkit.builder().port(5432).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("set host too");
        assertThatThrownBy(() -> Pgkit.builder().host("db/evil").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("host must be a host name or an IP address");
        assertThatThrownBy(() -> Pgkit.builder().host("localhost").database("").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("database must be a non-empty name");
        assertThatThrownBy(() -> Pgkit.builder().host("localhost").url("postgres://localhost/db").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exclusive with url");
    }

    @Test
    void thePasswordIsNeverShown() {
        // nothing listens on port 1: the connection is refused, and the message names the server but not the password
        PgkitBuilder builder = Pgkit.builder().host("127.0.0.1").port(1).database("persist").credentials("persist_app", SECRET)
                .connectTimeout(Duration.ofSeconds(1));
        assertThat(builder.toString()).doesNotContain(SECRET);
        assertThatThrownBy(builder::build).isInstanceOf(PgkitConnectionException.class)
                .hasMessageContaining("127.0.0.1:1/persist as persist_app")
                .satisfies(e -> {
                    for (Throwable t = e; t != null; t = t.getCause()) {
                        assertThat(String.valueOf(t.getMessage())).doesNotContain(SECRET);
                    }
                });
    }
}
