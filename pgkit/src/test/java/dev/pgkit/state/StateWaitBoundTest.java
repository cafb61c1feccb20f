package dev.pgkit.state;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.internal.WakeProtocol;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A wait returns within maxWait plus one round trip, even when the pool has no free connection when the wait
 * runs out: no try starts after the deadline (it would wait up to the pool's acquire timeout for a connection).
 */
@ExtendWith(PostgresExtension.class)
class StateWaitBoundTest {
    static final Duration MAX_WAIT = Duration.ofMillis(1500);
    /** Far above the bound asserted, so a try that waits for the pool shows. */
    static final Duration ACQUIRE_TIMEOUT = Duration.ofSeconds(6);
    static final long BOUND_MILLIS = MAX_WAIT.toMillis() + 1_000;
    static Pgkit pgkit;
    static StateStore state;

    @BeforeAll
    static void setUp(TestPostgres postgres) {
        pgkit = Db.builder(postgres, TestPostgres.uniqueName("state_wait_bound")).poolSize(1).acquireTimeout(ACQUIRE_TIMEOUT)
                .waitRecheckInterval(Duration.ofSeconds(60)) // no re-check try during the wait: only the deadline ends it
                .build();
        state = pgkit.state(TestPostgres.uniqueName("p"));
    }

    @AfterAll
    static void tearDown() {
        Db.dropAndClose(pgkit);
    }

    record Outcome(Optional<?> result, long millis, Throwable failure) {
    }

    @Test
    void aWaitingDequeueReturnsAtItsDeadlineWhileThePoolIsExhausted() throws Exception {
        Outcome outcome = waitWithThePoolHeld(WakeProtocol.Kind.STATE_QUEUE, "q", () -> state.dequeue("q", String.class, MAX_WAIT));
        assertThat(outcome.failure()).as("no try after the deadline, so no wait for the pool").isNull();
        assertThat(outcome.result()).isEmpty();
        assertThat(outcome.millis()).as("ms to return, maxWait %s", MAX_WAIT).isBetween(MAX_WAIT.toMillis(), BOUND_MILLIS);
    }

    @Test
    void aWaitingAcquireReturnsAtItsDeadlineWhileThePoolIsExhausted() throws Exception {
        Lock held = state.acquireLock("l", Duration.ofMinutes(1)).orElseThrow();
        try {
            Outcome outcome = waitWithThePoolHeld(WakeProtocol.Kind.STATE_LOCK, "l",
                    () -> state.acquireLock("l", LockOptions.lease(Duration.ofMinutes(1)).waitUpTo(MAX_WAIT)));
            assertThat(outcome.failure()).as("no try after the deadline, so no wait for the pool").isNull();
            assertThat(outcome.result()).isEmpty();
            assertThat(outcome.millis()).as("ms to return, maxWait %s", MAX_WAIT).isBetween(MAX_WAIT.toMillis(), BOUND_MILLIS);
        } finally {
            state.releaseLock(held);
        }
    }

    /** Starts the wait, takes the pool's only connection once the waiter sleeps, and holds it until the wait returns. */
    private static Outcome waitWithThePoolHeld(WakeProtocol.Kind kind, String key, Supplier<Optional<?>> wait) throws Exception {
        CompletableFuture<Outcome> done = new CompletableFuture<>();
        Thread waiter = new Thread(() -> {
            long start = System.nanoTime();
            try {
                Optional<?> result = wait.get();
                done.complete(new Outcome(result, (System.nanoTime() - start) / 1_000_000, null));
            } catch (Throwable e) {
                done.complete(new Outcome(null, (System.nanoTime() - start) / 1_000_000, e));
            }
        });
        waiter.start();
        WaitProbe.awaitParked(pgkit, kind, state.keyPrefix(), key, waiter);
        try (Connection held = pgkit.dataSource().getConnection()) {
            assertThat(done).as("the pool was taken while the waiter still waited").isNotDone();
            return done.get(30, TimeUnit.SECONDS);
        }
    }
}
