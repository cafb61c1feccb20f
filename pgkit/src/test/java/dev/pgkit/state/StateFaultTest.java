package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.EmbeddedPostgres;
import dev.pgkit.testing.ExpectServerLog;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Faults: the LISTEN connection killed mid-wait, the whole server restarted. */
@ExtendWith(PostgresExtension.class)
class StateFaultTest {

    @Test

    @ExpectServerLog("terminating connection due to administrator command")
    void lockWaitCompletesWhenTheListenerIsKilledAndTheReleaseIsMissed(TestPostgres postgres) throws Exception {
        Pgkit pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("state_fault_lock"));
        try {
            StateStore state = pgkit.state(TestPostgres.uniqueName("f"));
            Lock held = state.acquireLock("contested", Duration.ofSeconds(120)).orElseThrow();
            CompletableFuture<Optional<Lock>> waiter = CompletableFuture.supplyAsync(() ->
                    state.acquireLock("contested", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(60))));
            int pid = awaitListenerPid(pgkit);
            Thread.sleep(300); // the waiter is parked now

            Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
            held.close(); // its NOTIFY goes out while nobody listens

            Optional<Lock> acquired = waiter.get(30, TimeUnit.SECONDS);
            assertThat(acquired).as("woken by the reconnect, long before the 120 s lease ends").isPresent();
            assertThat(pgkit.status().listenerReconnects()).isGreaterThanOrEqualTo(1);
            acquired.get().close();

            // and the new LISTEN connection delivers again
            Lock again = state.acquireLock("contested", Duration.ofSeconds(120)).orElseThrow();
            CompletableFuture<Optional<Lock>> second = CompletableFuture.supplyAsync(() ->
                    state.acquireLock("contested", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(60))));
            Thread.sleep(300);
            long start = System.nanoTime();
            again.close();
            assertThat(second.get(10, TimeUnit.SECONDS)).isPresent();
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5_000);
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test

    @ExpectServerLog("terminating connection due to administrator command")
    void dequeueWaitCompletesWhenTheListenerIsKilledAndTheEnqueueIsMissed(TestPostgres postgres) throws Exception {
        Pgkit pgkit = Db.pgkit(postgres, TestPostgres.uniqueName("state_fault_queue"));
        try {
            StateStore state = pgkit.state(TestPostgres.uniqueName("f"));
            CompletableFuture<Optional<QueueEntry<String>>> waiter = CompletableFuture.supplyAsync(() ->
                    state.dequeue("inbox", String.class, Duration.ofSeconds(60)));
            int pid = awaitListenerPid(pgkit);
            Thread.sleep(300);
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
            state.enqueue("inbox", "sent during the outage", Duration.ofMinutes(1), 10);
            assertThat(waiter.get(30, TimeUnit.SECONDS)).map(QueueEntry::message).contains("sent during the outage");
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test

    @ExpectServerLog({"terminating connection due to administrator command", // open sessions at the fast shutdown
            "canceling authentication due to timeout", // a reconnect still authenticating at the fast shutdown
            "the database system is shutting down", "the database system is starting up", // reconnects meanwhile
            "the database system is not yet accepting connections"})
    void everythingWorksAgainAfterAServerRestart() throws Exception {
        try (EmbeddedPostgres server = EmbeddedPostgres.start("restart");
             Pgkit pgkit = Pgkit.builder().url(server.jdbcUrl()).poolSize(8).disableHousekeeping().build()) {
            StateStore state = pgkit.state();
            state.set("survives", "yes");
            CompletableFuture<Optional<QueueEntry<String>>> waiter = CompletableFuture.supplyAsync(() ->
                    state.dequeue("after-restart", String.class, Duration.ofSeconds(90)));
            awaitListenerPid(pgkit);

            server.stop();
            server.start();

            assertThat(state.get("survives", String.class)).as("the next call succeeds").contains("yes");
            state.enqueue("after-restart", "hello again", Duration.ofMinutes(1), 10);
            assertThat(waiter.get(60, TimeUnit.SECONDS)).map(QueueEntry::message).contains("hello again");
            Lock lock = state.acquireLock("after-restart", Duration.ofSeconds(10)).orElseThrow();
            assertThat(state.releaseLock(lock)).isTrue();
        }
    }

    static int awaitListenerPid(Pgkit pgkit) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            Optional<Integer> pid = pgkit.status().listenerBackendPid();
            if (pid.isPresent() && pgkit.status().channels().contains("pgkit_state")) {
                return pid.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the listener never connected");
    }
}
