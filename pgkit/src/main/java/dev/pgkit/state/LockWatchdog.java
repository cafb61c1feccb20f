package dev.pgkit.state;

import dev.pgkit.internal.Context;
import dev.pgkit.internal.Database;
import dev.pgkit.internal.Failures;
import dev.pgkit.internal.NotificationListener;
import java.sql.Array;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renews the auto-extended locks of one store: one task on the shared scheduler thread, which at each
 * tick renews every lock due (at a third of its lease; those due within a sixth more join it) in one
 * statement. The statement runs on the listener's connection between its polls, so renewals never
 * queue behind application work in the pool. The pool is used instead while the listener is down,
 * when the statement failed there, or when it got no answer there within a fraction of the time left
 * (half of it, at most a sixth of the lease: a stalled connection must not use up the lease), and for
 * good once the listener's connection turned out unable to renew (a listenerUrl role without write
 * access). Renewals through the pool run on {@link Context#poolWork()}, never on the scheduler thread,
 * which waits for nothing. A lock the renewal finds gone, or whose lease estimate ran out first, is
 * lost for good ({@link Lock#isHeld()} stays false); a failed or row-locked renewal is retried soon.
 */
final class LockWatchdog {
    private static final Logger log = LoggerFactory.getLogger(LockWatchdog.class);
    private static final long MIN_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /** What a renewal found for one lock. */
    private record Renewal(Instant expiresAt, boolean busy) {
    }

    private final Context context;
    private final StateSql sql;
    private final String prefix;
    private final ScheduledExecutorService scheduler;
    private final Set<Lock> watched = ConcurrentHashMap.newKeySet();
    private ScheduledFuture<?> next;
    private long nextAt;
    private boolean renewing;
    private volatile boolean renewOnListener = true;

    LockWatchdog(Context context, StateSql sql, String prefix) {
        this.context = context;
        this.sql = sql;
        this.prefix = prefix;
        this.scheduler = context.scheduler();
        context.listener(); // connecting now, so the first renewal finds the control connection open
    }

    void watch(Lock lock) {
        watched.add(lock);
        scheduleBy(lock.renewAtNanos());
    }

    /** Makes sure a tick runs no later than {@code at}. */
    private synchronized void scheduleBy(long at) {
        if (renewing) {
            return; // the running renewal schedules the next tick when it ends
        }
        if (next != null && !next.isDone() && nextAt - at <= 0) {
            return;
        }
        if (next != null) {
            next.cancel(false);
        }
        nextAt = at;
        try {
            next = scheduler.schedule(this::tick, Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            next = null; // the Pgkit is closing
        }
    }

    private void tick() {
        synchronized (this) {
            if (renewing) {
                return;
            }
            next = null;
            renewing = true;
        }
        List<Lock> due = new ArrayList<>();
        long now = System.nanoTime();
        for (Lock lock : watched) {
            if (!lock.isHeld()) {
                watched.remove(lock);
                if (!lock.isClosedByHolder()) {
                    log.warn("pgkit lock {} lapsed before the watchdog could renew it", lock.threadId());
                }
            } else if (lock.renewAtNanos() - now <= lock.ttl().toNanos() / 6) {
                due.add(lock);
            }
        }
        if (due.isEmpty()) {
            finish();
            return;
        }
        long start = System.nanoTime();
        CompletableFuture<Map<String, Renewal>> renewal;
        try {
            renewal = renew(due);
        } catch (RuntimeException e) {
            renewal = CompletableFuture.failedFuture(e);
        }
        renewal.whenComplete((outcomes, error) -> {
            try {
                apply(due, start, outcomes, error);
            } finally {
                finish();
            }
        });
    }

    private void apply(List<Lock> due, long start, Map<String, Renewal> outcomes, Throwable error) {
        if (error != null && !scheduler.isShutdown()) { // shut down: the Pgkit is closing, nothing to report
            log.warn("pgkit watchdog could not renew {} lock(s) of prefix {}: {}; retrying", due.size(), prefix, error.getMessage());
        }
        for (Lock lock : due) {
            Renewal outcome = outcomes == null ? null : outcomes.get(lock.token());
            if (outcome == null || outcome.busy()) {
                lock.renewAt(System.nanoTime() + Math.max(MIN_RETRY_NANOS, lock.ttl().toNanos() / 10));
            } else if (outcome.expiresAt() != null) {
                if (!lock.extended(outcome.expiresAt(), start, lock.ttl())) {
                    watched.remove(lock); // its lease estimate ran out meanwhile: lost although renewed
                }
            } else {
                lock.lose();
                watched.remove(lock);
                if (!lock.isClosedByHolder()) {
                    log.warn("pgkit lock {} was lost (expired, taken over or force-released) before the watchdog could renew it", lock.threadId());
                }
            }
        }
    }

    /** Ends a tick and schedules the next one for the earliest lock due. */
    private void finish() {
        synchronized (this) {
            renewing = false;
        }
        long earliest = 0;
        boolean any = false;
        for (Lock lock : watched) {
            if (!any || lock.renewAtNanos() - earliest < 0) {
                earliest = lock.renewAtNanos();
                any = true;
            }
        }
        if (any) {
            scheduleBy(earliest);
        }
    }

    /** One statement renewing {@code due}: on the listener's connection, or through the pool while it is down. */
    private CompletableFuture<Map<String, Renewal>> renew(List<Lock> due) {
        Database.ConnectionWork<Map<String, Renewal>> work = connection -> {
            String[] threads = new String[due.size()];
            String[] tokens = new String[due.size()];
            Long[] ttls = new Long[due.size()];
            for (int i = 0; i < due.size(); i++) {
                threads[i] = due.get(i).threadId();
                tokens[i] = due.get(i).token();
                ttls[i] = due.get(i).ttl().toMillis();
            }
            Array threadArray = connection.createArrayOf("text", threads);
            Array tokenArray = connection.createArrayOf("text", tokens);
            Array ttlArray = connection.createArrayOf("int8", ttls);
            try (PreparedStatement statement = connection.prepareStatement(sql.lockRenew)) {
                statement.setArray(1, threadArray);
                statement.setArray(2, tokenArray);
                statement.setArray(3, ttlArray);
                statement.setString(4, prefix);
                statement.setString(5, prefix);
                statement.setString(6, prefix);
                Map<String, Renewal> outcomes = new HashMap<>();
                try (ResultSet rs = statement.executeQuery()) {
                    while (rs.next()) {
                        java.sql.Timestamp expires = rs.getTimestamp(2);
                        outcomes.put(rs.getString(1), new Renewal(expires == null ? null : expires.toInstant(), rs.getBoolean(3)));
                    }
                }
                return outcomes;
            } finally {
                threadArray.free();
                tokenArray.free();
                ttlArray.free();
            }
        };
        NotificationListener listener = context.listener();
        if (renewOnListener && listener.isConnected()) {
            // a fraction of what is left of the first lease due: a stalled listener connection (a half-open
            // socket waits out its network timeout) must leave the pool the time to renew
            long now = System.nanoTime();
            long remaining = due.stream().mapToLong(lock -> lock.leaseEndNanos() - now).min().orElse(0);
            long ttl = due.stream().mapToLong(lock -> lock.ttl().toNanos()).min().orElse(0);
            long budget = Math.max(MIN_RETRY_NANOS, Math.min(remaining / 2, ttl / 6));
            return listener.submit(work).orTimeout(budget, TimeUnit.NANOSECONDS)
                    .exceptionallyComposeAsync(error -> {
                        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                        if (cause instanceof SQLException sql && sql.getSQLState() != null && !Failures.isConnectionLost(sql)) {
                            // the listener's connection cannot renew (its role, from listenerUrl, may not write here): stop asking it
                            log.warn("pgkit watchdog renews locks through the pool from now on: the listener's connection cannot ({})",
                                    sql.getMessage());
                            renewOnListener = false;
                        }
                        return renewThroughPool(work);
                    }, context.poolWork());
        }
        return CompletableFuture.supplyAsync(() -> renewThroughPool(work), context.poolWork()).thenCompose(renewal -> renewal);
    }

    /** Renews through the pool; blocks until a connection is free, so it runs on {@link Context#poolWork()}, never on the scheduler. */
    private CompletableFuture<Map<String, Renewal>> renewThroughPool(Database.ConnectionWork<Map<String, Renewal>> work) {
        try {
            return CompletableFuture.completedFuture(context.database().withConnection("state.renewLocks", true, work));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
