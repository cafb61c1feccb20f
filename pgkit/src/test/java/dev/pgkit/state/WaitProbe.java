package dev.pgkit.state;

import dev.pgkit.Pgkit;
import dev.pgkit.internal.WakeProtocol;
import dev.pgkit.test.Db;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Synchronises a test with a blocked waiter: its presence is announced and it sleeps in its wait. */
final class WaitProbe {
    private WaitProbe() {
    }

    /**
     * Returns once some listener holds the presence lock of {@code (prefix, key)} and {@code waiter} has
     * been asleep in its wait for 200 ms without interruption, so the wake-up the test triggers next is
     * the only thing that can wake it before the re-check interval.
     */
    static void awaitParked(Pgkit pgkit, WakeProtocol.Kind kind, String prefix, String key, Thread waiter) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!presenceHeld(pgkit, kind, prefix, key)) {
            check(deadline, "presence lock of " + key);
            Thread.sleep(10);
        }
        long parkedSince = -1;
        while (true) {
            check(deadline, "waiter asleep on " + key);
            boolean parked = waiter.getState() == Thread.State.TIMED_WAITING
                    && List.of(waiter.getStackTrace()).toString().contains("WakeupService$Waiter.await");
            long now = System.nanoTime();
            if (!parked) {
                parkedSince = -1;
            } else if (parkedSince < 0) {
                parkedSince = now;
            } else if (now - parkedSince > TimeUnit.MILLISECONDS.toNanos(200)) {
                return;
            }
            Thread.sleep(10);
        }
    }

    static boolean presenceHeld(Pgkit pgkit, WakeProtocol.Kind kind, String prefix, String key) {
        String name = WakeProtocol.presenceName(prefix, key).replace("'", "''");
        return Db.scalar(pgkit, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND mode = 'ShareLock' AND granted"
                + " AND classid = " + kind.presenceClass() + " AND objid::bigint = (hashtext('" + name + "')::bigint & 4294967295)") > 0;
    }

    private static void check(long deadline, String what) {
        if (System.nanoTime() > deadline) {
            throw new AssertionError("timed out waiting for the " + what);
        }
    }
}
