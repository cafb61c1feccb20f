package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.test.TcpProxy;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The lock watchdog keeps auto-extended locks when the listener's connection cannot renew them in time. */
@ExtendWith(PostgresExtension.class)
class LockWatchdogTest {

    @Test
    void aStalledListenerConnectionLetsNoAutoExtendedLockLapse(TestPostgres postgres) throws Exception {
        String schema = TestPostgres.uniqueName("watchdog_stall");
        try (TcpProxy proxy = new TcpProxy(Db.server(postgres).host(), Db.server(postgres).port());
             Pgkit pgkit = Db.builder(postgres, schema).listenerUrl(proxied(postgres, proxy)).build()) {
            StateStore store = pgkit.state("w");
            Lock lock = store.acquireLock("stalled", LockOptions.lease(Duration.ofSeconds(3)).autoExtend()).orElseThrow();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!pgkit.status().listenerConnected() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(pgkit.status().listenerConnected()).isTrue();
            proxy.stall(); // half-open: the listener's statements get no answer until its 10 s network timeout
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(7); // more than two leases, below the network timeout
            while (System.nanoTime() < end) {
                assertThat(lock.isHeld()).as("renewed through the pool in time").isTrue();
                Thread.sleep(50);
            }
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM \"" + schema + "\".chat_state_locks WHERE key_prefix = 'w'"
                    + " AND thread_id = 'stalled' AND expires_at > now()")).as("the lease is renewed in the table").isEqualTo(1);
            proxy.resume();
            lock.close();
        } finally {
            Db.admin(postgres, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    /** The listener's URL through the proxy. */
    private static String proxied(TestPostgres postgres, TcpProxy proxy) {
        Db.Server server = Db.server(postgres);
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + server.database() + "?user=" + server.superuser().getProperty("user")
                + (server.superuser().getProperty("password") != null ? "&password=" + server.superuser().getProperty("password") : "");
    }
}
