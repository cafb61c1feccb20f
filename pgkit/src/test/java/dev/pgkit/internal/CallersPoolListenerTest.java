package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.pgkit.test.Db;
import dev.pgkit.test.TcpProxy;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The LISTEN connection pgkit opens beside a caller's pool is bounded like pgkit's own connections:
 * a server (here a proxy) that accepts the TCP connection but never answers the login makes the opening
 * fail within connectTimeout (plus acquireTimeout for a pool it borrows from), instead of blocking the
 * listener's thread forever.
 */
@ExtendWith(PostgresExtension.class)
class CallersPoolListenerTest {
    /** Well above the bounds under test (1 s, or 1 s + 1 s), well below "forever". */
    static final Duration TEST_BOUND = Duration.ofSeconds(6);

    static Connector connector() {
        return new Connector(new Connector.Options(Optional.empty(), Optional.empty(), Optional.empty(), 2,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(30)));
    }

    @Test
    void theDirectListenerConnectionBesideAHikariPoolGivesUpOnAStalledLogin(TestPostgres postgres) throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port())) {
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + server.database());
            config.setDataSourceProperties(server.superuser());
            config.addDataSourceProperty("connectTimeout", "0"); // the caller's pool sets no bound of its own
            config.addDataSourceProperty("sslmode", "disable"); // no SSL request, whose answer pgjdbc awaits 5 s at most
            config.setMaximumPoolSize(1);
            try (HikariDataSource pool = new HikariDataSource(config)) {
                NotificationListener.ConnectionSource listener = connector().callersPool(pool, Optional.empty()).listenerSource();
                try (Connection working = listener.open()) {
                    assertThat(working.isValid(5)).as("the listener's source, before the stall").isTrue();
                }
                proxy.stall();
                try {
                    assertStalledOpeningFails(listener);
                } finally {
                    proxy.resume();
                }
            }
        }
    }

    @Test
    void aConnectionFromADataSourcePgkitCannotConfigureIsGivenUpOnToo(TestPostgres postgres) throws Exception {
        Db.Server server = Db.server(postgres);
        try (TcpProxy proxy = new TcpProxy(server.host(), server.port())) {
            PGSimpleDataSource dataSource = new PGSimpleDataSource(); // no loginTimeout, no socketTimeout
            dataSource.setConnectTimeout(0); // nor pgjdbc's default connectTimeout (10 s, which also bounds the login's reads)
            dataSource.setSslMode("disable"); // no SSL request, whose answer pgjdbc awaits 5 s at most
            dataSource.setURL("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + server.database());
            dataSource.setUser(server.superuser().getProperty("user"));
            dataSource.setPassword(server.superuser().getProperty("password"));
            NotificationListener.ConnectionSource listener = connector().callersPool(dataSource, Optional.empty()).listenerSource();
            proxy.stall();
            try {
                assertStalledOpeningFails(listener);
            } finally {
                proxy.resume();
            }
        }
    }

    private static void assertStalledOpeningFails(NotificationListener.ConnectionSource listener) {
        SQLException failure = assertTimeoutPreemptively(TEST_BOUND, () -> catchThrowableOfType(() -> listener.open().close(), SQLException.class));
        assertThat((Object) failure).as("the opening fails").isNotNull();
        assertThat(Failures.isConnectionLost(failure)).as("%s [%s]", failure.getMessage(), failure.getSQLState()).isTrue();
    }
}
