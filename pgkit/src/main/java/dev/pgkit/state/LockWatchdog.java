package dev.pgkit.state;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Extends auto-extended locks at a third of their lease on the shared scheduler thread, until the
 * lock is closed or an extension finds it taken. A failed extension (database unreachable) is
 * retried at the next third; the lock's {@link Lock#isHeld()} turns false once its lease has run out.
 */
final class LockWatchdog {
    private static final Logger log = LoggerFactory.getLogger(LockWatchdog.class);

    private final StateStore store;
    private final ScheduledExecutorService scheduler;

    LockWatchdog(StateStore store, ScheduledExecutorService scheduler) {
        this.store = store;
        this.scheduler = scheduler;
    }

    void watch(Lock lock) {
        schedule(lock);
    }

    private void schedule(Lock lock) {
        if (lock.isEnded()) {
            return;
        }
        long period = Math.max(1, lock.ttl().toMillis() / 3);
        lock.renewal(scheduler.schedule(() -> renew(lock), period, TimeUnit.MILLISECONDS));
    }

    private void renew(Lock lock) {
        if (lock.isEnded()) {
            return;
        }
        try {
            if (!store.extendLock(lock, lock.ttl())) {
                if (!lock.isClosedByHolder()) {
                    log.warn("pgkit lock {} was lost before the watchdog could extend it", lock.threadId());
                }
                return;
            }
        } catch (RuntimeException e) {
            log.warn("pgkit watchdog could not extend lock {}: {}; retrying", lock.threadId(), e.getMessage());
        }
        schedule(lock);
    }
}
