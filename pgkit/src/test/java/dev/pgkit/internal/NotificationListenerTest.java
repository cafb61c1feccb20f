package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The shared LISTEN connection: channels at run time, delivery, reconnect with resync. */
@ExtendWith(PostgresExtension.class)
class NotificationListenerTest {

    static NotificationListener listener(TestPostgres postgres) {
        ConnectionSettings settings = ConnectionSettings.parse(postgres.url()).with("ApplicationName", "pgkit-listener-test");
        return new NotificationListener(() -> DriverManager.getConnection(settings.jdbcUrl(), settings.properties()),
                settings.describe(), Duration.ofSeconds(10));
    }

    @Test
    void channelsAreAddedAndRemovedAtRunTime(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres)) {
            String channel = TestPostgres.uniqueName("chan");
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            NotificationListener.Subscription subscription = listener.listen(channel, (c, payload) -> received.add(payload));
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'one')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("one");
            assertThat(listener.channels()).contains(channel);

            subscription.close();
            assertThat(listener.channels()).doesNotContain(channel);
            Thread.sleep(1_200); // the UNLISTEN runs between waits
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'two')");
            assertThat(received.poll(1, TimeUnit.SECONDS)).isNull();
            assertThat(Db.scalar(pgkit, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgkit-listener-test'"
                    + " AND backend_type = 'client backend'")).isEqualTo(1);

            listener.listen(channel, (c, payload) -> received.add(payload));
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'three')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("three");
        }
    }

    @Test
    void aSlowHandlerDoesNotStallTheListenerThread(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres)) {
            String channel = TestPostgres.uniqueName("slow");
            CountDownLatch release = new CountDownLatch(1);
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            listener.listen(channel, (c, payload) -> {
                received.add(payload);
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'first')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).isEqualTo("first");
            // while the handler is stuck, new channels can still be listened to (the listener thread is free)
            long start = System.nanoTime();
            listener.listen(TestPostgres.uniqueName("other"), (c, p) -> { });
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(3_000);
            release.countDown();
        }
    }

    @Test

    @ExpectServerLog("terminating connection due to administrator command") // the test terminates the listener's backend
    void reconnectsAndTellsSubscribersToResync(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public"); NotificationListener listener = listener(postgres)) {
            String channel = TestPostgres.uniqueName("resync");
            BlockingQueue<String> received = new LinkedBlockingQueue<>();
            CountDownLatch resync = new CountDownLatch(1);
            listener.listen(channel, new NotificationHandler() {
                @Override
                public void onNotification(String c, String payload) {
                    received.add(payload);
                }

                @Override
                public void onReconnect() {
                    resync.countDown();
                }
            });
            int pid = listener.backendPid().orElseThrow();
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
            assertThat(resync.await(20, TimeUnit.SECONDS)).as("told to resync").isTrue();
            assertThat(listener.reconnects()).isEqualTo(1);
            assertThat(listener.backendPid().orElseThrow()).isNotEqualTo(pid);
            Db.execute(pgkit, "SELECT pg_notify('" + channel + "', 'after')");
            assertThat(received.poll(5, TimeUnit.SECONDS)).as("the channel is listened to again").isEqualTo("after");
        }
    }
}
