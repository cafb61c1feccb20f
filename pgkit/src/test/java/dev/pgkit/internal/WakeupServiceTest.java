package dev.pgkit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pgkit.Pgkit;
import dev.pgkit.test.Db;
import dev.pgkit.testing.PostgresExtension;
import dev.pgkit.testing.TestPostgres;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The wait/wake service: registration never blocks, waits stay bounded, and waiters are told when their presence holds. */
@ExtendWith(PostgresExtension.class)
class WakeupServiceTest {

    @Test
    void whileTheListenerIsDownWaitersRegisterAtOnceAndKeepReChecking(TestPostgres postgres) throws Exception {
        AtomicBoolean allow = new AtomicBoolean(false);
        try (NotificationListener listener = NotificationListenerTest.listener(postgres, allow, Duration.ofSeconds(30), NotificationListener.DEFAULT_MAILBOX_BYTES)) {
            WakeupService service = new WakeupService(() -> listener, Duration.ofMillis(200));
            List<CompletableFuture<Long>> waits = new ArrayList<>();
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(8);
            long all = System.nanoTime();
            for (int i = 0; i < 8; i++) {
                String key = "k" + (i % 3); // some share a key, some do not
                waits.add(CompletableFuture.supplyAsync(() -> {
                    long start = System.nanoTime();
                    try (WakeupService.Waiter waiter = service.register(WakeProtocol.Kind.STATE_QUEUE, "scope", key)) {
                        long registered = System.nanoTime() - start;
                        assertThat(registered).as("registration does not wait for the listener").isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
                        int checks = 0;
                        long deadline = start + TimeUnit.SECONDS.toNanos(1);
                        while (System.nanoTime() < deadline) { // a caller's loop: try (nothing here), then wait
                            waiter.arm();
                            checks++;
                            waiter.await(deadline - System.nanoTime());
                        }
                        assertThat(checks).as("re-checks at the interval while the listener is down").isBetween(4, 8);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                    return (System.nanoTime() - start) / 1_000_000;
                }, threads));
            }
            for (CompletableFuture<Long> wait : waits) {
                assertThat(wait.get(10, TimeUnit.SECONDS)).as("no wait outlasts its bound").isBetween(1_000L, 1_400L);
            }
            assertThat((System.nanoTime() - all) / 1_000_000).as("the eight waits ran side by side").isLessThan(2_500);
            threads.shutdown();
        }
    }

    @Test
    void aWaiterIsWokenWhenItsPresenceLockBecomesHeld(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = NotificationListenerTest.listener(postgres);
             Connection writer = pgkit.dataSource().getConnection()) {
            WakeupService service = new WakeupService(() -> listener, Duration.ofSeconds(60));
            String scope = TestPostgres.uniqueName("scope");
            // a writer in an open transaction holds the key's exclusive lock: it saw no waiter, so it will send no NOTIFY
            writer.setAutoCommit(false);
            try (var lock = writer.prepareStatement("SELECT pg_advisory_xact_lock(?, hashtext(?))")) {
                lock.setInt(1, WakeProtocol.Kind.STATE_QUEUE.presenceClass());
                lock.setString(2, WakeProtocol.presenceName(scope, "key"));
                lock.execute();
            }
            try (WakeupService.Waiter waiter = service.register(WakeProtocol.Kind.STATE_QUEUE, scope, "key")) {
                NotificationListenerTest.awaitTrue("the channel is active", () -> listener.channels().contains("pgkit_state"));
                waiter.arm();
                while (waiter.await(TimeUnit.MILLISECONDS.toNanos(500))) {
                    waiter.arm(); // the activation's gap, if it came after the registration
                }
                CompletableFuture<Boolean> woken = CompletableFuture.supplyAsync(() -> {
                    try {
                        return waiter.await(TimeUnit.SECONDS.toNanos(30));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                });
                long start = System.nanoTime();
                writer.commit(); // its write is visible now; the presence lock can be taken
                assertThat(woken.get(40, TimeUnit.SECONDS)).as("woken to re-check once the presence is held").isTrue();
                assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(3_000);
            }
        }
    }

    @Test
    void aNotificationWakesOneWaiterOfItsKey(TestPostgres postgres) throws Exception {
        try (Pgkit pgkit = Db.pgkit(postgres, "public");
             NotificationListener listener = NotificationListenerTest.listener(postgres)) {
            WakeupService service = new WakeupService(() -> listener, Duration.ofSeconds(60)); // far above every bound here
            String scope = TestPostgres.uniqueName("scope");
            String notify = "SELECT pg_notify('" + WakeProtocol.Kind.STATE_LOCK.channel() + "', '"
                    + WakeProtocol.topic(WakeProtocol.Kind.STATE_LOCK, scope, "key") + "')";
            List<WakeupService.Waiter> waiters = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                waiters.add(service.register(WakeProtocol.Kind.STATE_LOCK, scope, "key"));
            }
            NotificationListenerTest.awaitTrue("the channel is active and the presence held",
                    () -> listener.channels().contains(WakeProtocol.Kind.STATE_LOCK.channel()) && listener.heldPresences() > 0);
            for (WakeupService.Waiter waiter : waiters) { // let the activation's wake-ups (for every waiter) pass
                waiter.arm();
                while (waiter.await(TimeUnit.MILLISECONDS.toNanos(300))) {
                    waiter.arm();
                }
            }
            java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(waiters.size());
            java.util.concurrent.CountDownLatch parked = new java.util.concurrent.CountDownLatch(waiters.size());
            List<CompletableFuture<Boolean>> woken = new ArrayList<>();
            for (WakeupService.Waiter waiter : waiters) {
                woken.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        waiter.arm();
                        parked.countDown();
                        return waiter.await(TimeUnit.SECONDS.toNanos(3));
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }, threads));
            }
            assertThat(parked.await(5, TimeUnit.SECONDS)).isTrue();
            Db.execute(pgkit, notify); // one release: one waiter should go and try
            long wokenCount = 0;
            for (CompletableFuture<Boolean> result : woken) {
                wokenCount += result.get(10, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertThat(wokenCount).as("one notification, one waiter woken (the others would only queue on the lock's row)").isEqualTo(1);

            WakeupService.Waiter next = waiters.get(0);
            next.arm(); // as a caller does before its try; a notification from then on must not be lost
            Db.execute(pgkit, notify);
            long start = System.nanoTime();
            assertThat(next.await(TimeUnit.SECONDS.toNanos(5))).as("the next notification wakes the next waiter").isTrue();
            assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(2_000);
            threads.shutdown();
            waiters.forEach(WakeupService.Waiter::close);
        }
    }
}
