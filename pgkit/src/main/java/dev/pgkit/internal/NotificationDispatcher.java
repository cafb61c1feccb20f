package dev.pgkit.internal;

import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers notifications to handlers: one bounded {@link Mailbox} per handler, drained by at most one
 * pool thread at a time (so calls to one handler are serialized), on daemon threads
 * {@code pgkit-notify-N}. A pool thread is taken only while a mailbox has work and is returned when
 * it is empty, so threads never outnumber the handlers that are busy at once: a slow handler holds
 * its own thread and never delays another handler. A mailbox that overflows drops what it holds and
 * gives its handler one {@link NotificationHandler#onGap()} instead, so memory stays bounded.
 */
final class NotificationDispatcher {
    private static final Logger log = LoggerFactory.getLogger(NotificationDispatcher.class);
    /** How many notifications one drain delivers before the mailbox yields its thread back. */
    private static final int BATCH = 64;

    private final int capacity;
    private final ThreadPoolExecutor pool;

    NotificationDispatcher(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("mailbox capacity must be at least 1, was " + capacity);
        }
        this.capacity = capacity;
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

    /** The pending deliveries of one handler. */
    final class Mailbox {
        private final NotificationHandler handler;
        private final ArrayDeque<String[]> queue = new ArrayDeque<>();
        private boolean gap;
        private boolean draining;
        private boolean closed;
        private long dropped;

        private Mailbox(NotificationHandler handler) {
            this.handler = handler;
        }

        void offer(String channel, String payload) {
            synchronized (this) {
                if (closed) {
                    return;
                }
                if (queue.size() >= capacity) {
                    dropped += queue.size() + 1;
                    queue.clear();
                    gap = true;
                } else {
                    queue.add(new String[] {channel, payload});
                }
                if (!startDrain()) {
                    return;
                }
            }
            submitDrain();
        }

        void offerGap() {
            synchronized (this) {
                if (closed) {
                    return;
                }
                queue.clear(); // a gap makes every queued notification redundant: the handler re-reads
                gap = true;
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
            gap = false;
        }

        /** Queued notifications (for tests and diagnostics). */
        synchronized int size() {
            return queue.size();
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
            for (int delivered = 0; delivered < BATCH; delivered++) {
                boolean deliverGap;
                String[] next = null;
                long lost;
                synchronized (this) {
                    deliverGap = gap;
                    lost = dropped;
                    if (deliverGap) {
                        gap = false;
                        dropped = 0;
                    } else {
                        next = queue.poll();
                        if (next == null) {
                            draining = false;
                            return;
                        }
                    }
                }
                try {
                    if (deliverGap) {
                        if (lost > 0) {
                            log.warn("pgkit notification handler {} fell behind; {} notification(s) dropped, it re-reads instead", handler, lost);
                        }
                        handler.onGap();
                    } else {
                        handler.onNotification(next[0], next[1]);
                    }
                } catch (RuntimeException e) {
                    log.error("pgkit notification handler {} failed", handler, e);
                }
            }
            submitDrain(); // yield the thread, keep the turn: other mailboxes are not starved by a busy one
        }
    }
}
