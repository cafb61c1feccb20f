package dev.pgkit.internal;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers notifications to handlers: one {@link Mailbox} per handler, bounded in bytes, drained by at
 * most one pool thread at a time (so calls to one handler are serialized), on daemon threads
 * {@code pgkit-notify-N}, in batches of what is queued. A pool thread is taken only while a mailbox has
 * work and is returned when it is empty, so threads never outnumber the handlers that are busy at once:
 * a slow handler holds its own thread and never delays another handler's delivery.
 *
 * <p>When a mailbox is full the listener thread stops reading its connection for a while (what pgjdbc
 * has not yet read waits in PostgreSQL's notification queue, on disk, not in this heap) so that a handler
 * that is slow but moving loses nothing. The stop is bounded: it halts delivery to every other handler
 * of the listener, so a full mailbox may hold the listener for at most {@code maxStall} in all until it
 * has drained to half its budget. Past that its handler is taken to be stalled: what it has queued is
 * dropped and it gets one {@link NotificationHandler#onGap()} instead (the foundation's resync signal),
 * so memory stays bounded at the budget per handler and the others flow on. A handler must therefore never
 * wait for work of the listener thread (a LISTEN to become active, say): with its mailbox full that wait
 * would last the whole stall and end in a gap.
 */
final class NotificationDispatcher {
    private static final Logger log = LoggerFactory.getLogger(NotificationDispatcher.class);
    /** How many notifications one call hands a handler at most; also what one drain delivers before yielding its thread. */
    static final int BATCH = 64;
    /** What a queued notification costs besides its characters (the entry, the strings' headers), in bytes. */
    private static final int ENTRY_OVERHEAD = 64;
    /** Marks in a queue where the handler must be told of a gap (reconnect, overflow). */
    private static final String[] GAP = new String[0];

    private final long budgetBytes;
    private final long maxStallNanos;
    private final ThreadPoolExecutor pool;

    /**
     * @param budgetBytes how many bytes of notifications one handler may have queued
     * @param maxStall    how long in all one full mailbox may keep the listener from reading before it overflows
     */
    NotificationDispatcher(long budgetBytes, Duration maxStall) {
        if (budgetBytes < 1) {
            throw new IllegalArgumentException("mailbox budget must be at least 1 byte, was " + budgetBytes);
        }
        if (maxStall.isNegative()) {
            throw new IllegalArgumentException("maxStall must not be negative, was " + maxStall);
        }
        this.budgetBytes = budgetBytes;
        this.maxStallNanos = maxStall.toNanos();
        AtomicInteger count = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
                runnable -> NotificationListener.daemon("pgkit-notify-" + count.incrementAndGet()).newThread(runnable));
    }

    Mailbox mailbox(NotificationHandler handler) {
        return new Mailbox(handler);
    }

    /** Runs a short task off the listener thread (best effort: dropped after {@link #shutdown()}). */
    void execute(Runnable task) {
        try {
            pool.execute(task);
        } catch (RejectedExecutionException e) {
            log.debug("pgkit dispatcher is shut down; task dropped");
        }
    }

    void shutdown(long timeoutMillis) {
        pool.shutdown();
        try {
            if (!pool.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS)) {
                pool.shutdownNow();
            }
        } catch (InterruptedException e) {
            pool.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    /** Java strings of Latin-1 text take a byte a character, others two: count two, so the budget is never exceeded. */
    static long weight(String channel, String payload) {
        return ENTRY_OVERHEAD + 2L * (channel.length() + payload.length());
    }

    /**
     * The pending deliveries of one handler: notifications and {@link #GAP} marks in arrival order. Filled by
     * the listener thread only ({@link #offer}, {@link #offerGap}), drained by one pool thread at a time.
     */
    final class Mailbox {
        private final NotificationHandler handler;
        private final ArrayDeque<String[]> queue = new ArrayDeque<>();
        private long bytes;
        /** How long the listener has waited for this mailbox since it was last drained below half its budget. */
        private long stalledNanos;
        private boolean draining;
        private boolean closed;
        private long dropped;

        private Mailbox(NotificationHandler handler) {
            this.handler = handler;
        }

        /** Listener thread: queues a notification, waiting (bounded) for room when the mailbox is full. */
        void offer(String channel, String payload) {
            long weight = weight(channel, payload);
            synchronized (this) {
                if (closed) {
                    return;
                }
                while (bytes > 0 && bytes + weight > budgetBytes) {
                    if (stalledNanos >= maxStallNanos) {
                        overflow();
                        break;
                    }
                    long start = System.nanoTime();
                    try {
                        TimeUnit.NANOSECONDS.timedWait(this, maxStallNanos - stalledNanos);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt(); // the listener is closing
                        return;
                    }
                    stalledNanos += System.nanoTime() - start;
                    if (closed) {
                        return;
                    }
                }
                queue.add(new String[] {channel, payload});
                bytes += weight;
                if (!startDrain()) {
                    return;
                }
            }
            submitDrain();
        }

        /**
         * Listener thread: the handler must re-read (an activation or a reconnect). Notifications queued
         * before stay queued ahead of the mark: they arrived before the gap and may be all a handler without
         * a table to re-read will ever get.
         */
        void offerGap() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                addGap();
                if (!startDrain()) {
                    return;
                }
            }
            submitDrain();
        }

        /** Stops delivery: queued notifications are dropped; a call already running finishes. */
        synchronized void close() {
            closed = true;
            queue.clear();
            bytes = 0;
            notifyAll();
        }

        /** Queued notifications (for tests and diagnostics). */
        synchronized int size() {
            return (int) queue.stream().filter(e -> e != GAP).count();
        }

        /** The handler is stalled: what it has queued is replaced by a gap, which its re-read covers. */
        private void overflow() {
            for (String[] entry : queue) {
                if (entry != GAP) {
                    dropped++;
                }
            }
            queue.clear();
            bytes = 0;
            addGap();
        }

        private void addGap() {
            if (queue.peekLast() != GAP) {
                queue.add(GAP);
            }
        }

        private boolean startDrain() {
            if (draining) {
                return false;
            }
            draining = true;
            return true;
        }

        private void submitDrain() {
            try {
                pool.execute(this::drain);
            } catch (RejectedExecutionException e) {
                synchronized (this) {
                    draining = false;
                }
            }
        }

        private void drain() {
            for (int delivered = 0; delivered < BATCH; ) {
                String channel = null;
                List<String> payloads = null;
                long lost = 0;
                synchronized (this) {
                    String[] next = queue.poll();
                    if (next == null) {
                        draining = false;
                        return;
                    }
                    if (next == GAP) {
                        lost = dropped;
                        dropped = 0;
                    } else {
                        channel = next[0];
                        payloads = new ArrayList<>();
                        payloads.add(next[1]);
                        bytes -= weight(next[0], next[1]);
                        // a batch is one channel's run up to the next gap mark
                        while (delivered + payloads.size() < BATCH && queue.peek() != null && queue.peek() != GAP
                                && queue.peek()[0].equals(channel)) {
                            String[] more = queue.poll();
                            payloads.add(more[1]);
                            bytes -= weight(more[0], more[1]);
                        }
                        if (bytes <= budgetBytes / 2) {
                            stalledNanos = 0;
                        }
                        notifyAll(); // the listener may wait for room
                    }
                }
                try {
                    if (payloads == null) {
                        delivered++;
                        if (lost > 0) {
                            log.warn("pgkit notification handler {} fell behind; {} notification(s) dropped, it re-reads instead", handler, lost);
                        }
                        handler.onGap();
                    } else {
                        delivered += payloads.size();
                        handler.onNotifications(channel, payloads);
                    }
                } catch (RuntimeException e) {
                    log.error("pgkit notification handler {} failed", handler, e);
                }
            }
            submitDrain(); // yield the thread, keep the turn: other mailboxes are not starved by a busy one
        }
    }
}
