package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.internal.WakeProtocol;
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

/**
 * Faults: the LISTEN connection killed mid-wait, the whole server restarted. Waiters re-check only
 * every 60 s here, so a wait that ends within the bounds below was woken by the reconnect.
 */
@ExtendWith(PostgresExtension.class)
class StateFaultTest {
    static final Duration RECHECK = Duration.ofSeconds(60);

    static Pgkit pgkit(TestPostgres postgres, String schema) {
        return Db.builder(postgres, schema).waitRecheckInterval(RECHECK).build();
    }

    @Test

    @ExpectServerLog("terminating connection due to administrator command")
    void lockWaitCompletesWhenTheListenerIsKilledAndTheReleaseIsMissed(TestPostgres postgres) throws Exception {
        Pgkit pgkit = pgkit(postgres, TestPostgres.uniqueName("state_fault_lock"));
        try {
            StateStore state = pgkit.state(TestPostgres.uniqueName("f"));
            Lock held = state.acquireLock("contested", Duration.ofSeconds(120)).orElseThrow();
            CompletableFuture<Optional<Lock>> waiter = new CompletableFuture<>();
            Thread waiting = new Thread(() -> waiter.complete(
                    state.acquireLock("contested", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(50)))));
            waiting.start();
            WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_LOCK, state.keyPrefix(), "contested", waiting);
            int pid = awaitListenerPid(pgkit);

            long start = System.nanoTime();
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
            held.close(); // its NOTIFY goes out while nobody listens

            Optional<Lock> acquired = waiter.get(60, TimeUnit.SECONDS);
            assertThat(acquired).as("woken by the reconnect, not by the 60 s re-check or the 120 s lease").isPresent();
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(15_000);
            assertThat(pgkit.status().listenerReconnects()).isGreaterThanOrEqualTo(1);
            acquired.get().close();

            // and the new LISTEN connection delivers again
            Lock again = state.acquireLock("contested", Duration.ofSeconds(120)).orElseThrow();
            CompletableFuture<Optional<Lock>> second = new CompletableFuture<>();
            Thread secondWaiting = new Thread(() -> second.complete(
                    state.acquireLock("contested", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(50)))));
            secondWaiting.start();
            WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_LOCK, state.keyPrefix(), "contested", secondWaiting);
            start = System.nanoTime();
            again.close();
            assertThat(second.get(60, TimeUnit.SECONDS)).isPresent();
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(3_000);
        } finally {
            Db.dropAndClose(pgkit);
        }
    }

    @Test

    @ExpectServerLog("terminating connection due to administrator command")
    void dequeueWaitCompletesWhenTheListenerIsKilledAndTheEnqueueIsMissed(TestPostgres postgres) throws Exception {
        Pgkit pgkit = pgkit(postgres, TestPostgres.uniqueName("state_fault_queue"));
        try {
            StateStore state = pgkit.state(TestPostgres.uniqueName("f"));
            CompletableFuture<Optional<QueueEntry<String>>> waiter = new CompletableFuture<>();
            Thread waiting = new Thread(() -> waiter.complete(state.dequeue("inbox", String.class, Duration.ofSeconds(50))));
            waiting.start();
            WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_QUEUE, state.keyPrefix(), "inbox", waiting);
            int pid = awaitListenerPid(pgkit);
            long start = System.nanoTime();
            Db.execute(pgkit, "SELECT pg_terminate_backend(" + pid + ")");
            state.enqueue("inbox", "sent during the outage", Duration.ofMinutes(1), 10);
            assertThat(waiter.get(60, TimeUnit.SECONDS)).map(QueueEntry::message).contains("sent during the outage");
            assertThat((System.nanoTime() - start) / 1_000_000).as("woken by the reconnect, not by the 60 s re-check").isLessThan(15_000);
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
             Pgkit pgkit = Pgkit.builder().url(server.jdbcUrl()).poolSize(8).disableHousekeeping().waitRecheckInterval(RECHECK).build()) {
            StateStore state = pgkit.state();
            state.set("survives", "yes");
            CompletableFuture<Optional<QueueEntry<String>>> waiter = new CompletableFuture<>();
            Thread waiting = new Thread(() -> waiter.complete(state.dequeue("after-restart", String.class, Duration.ofSeconds(55))));
            waiting.start();
            WaitProbe.awaitParked(pgkit, WakeProtocol.Kind.STATE_QUEUE, state.keyPrefix(), "after-restart", waiting);

            server.stop();
            server.start();

            assertThat(state.get("survives", String.class)).as("the next call succeeds").contains("yes");
            long start = System.nanoTime();
            state.enqueue("after-restart", "hello again", Duration.ofMinutes(1), 10);
            assertThat(waiter.get(60, TimeUnit.SECONDS)).map(QueueEntry::message).contains("hello again");
            assertThat((System.nanoTime() - start) / 1_000_000).as("woken after the reconnect, not by the 60 s re-check").isLessThan(20_000);
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
