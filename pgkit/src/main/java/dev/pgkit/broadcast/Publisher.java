package dev.pgkit.broadcast;

import dev.pgkit.PgkitException;
import dev.pgkit.internal.Database;
import java.sql.Connection;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Sends messages in batches, one statement per batch (group commit): a caller queues its message and
 * either becomes the sender, taking everything queued in arrival order, or waits while another caller
 * sends its message with theirs. NOTIFY serialises committing transactions on one global lock, so one
 * commit for many messages is what makes broadcast scale with concurrent publishers. A caller that does not
 * wait ({@link #sendAsync}) queues its message and returns; a pool thread sends it if no caller is sending,
 * so one publishing thread gets batches too, with at most {@link #WINDOW} messages queued or in flight.
 * Per-sender order holds: the queue is first in, first out, batches go out one at a time (one sender at a
 * time), and each batch notifies in queue order. PostgreSQL folds identical notifications of one
 * transaction into one, so a batch ends before a message identical to one it holds.
 */
final class Publisher {
    /** Most messages, and bytes, in one statement. */
    static final int MAX_BATCH = 512;
    static final int MAX_BATCH_BYTES = 8 << 20;
    /** Most batches one caller sends in a row for others before it hands the sending to a pool thread and returns. */
    static final int MAX_ROUNDS = 32;
    /** Most messages sent by {@link #sendAsync} and not yet committed; a caller beyond it waits for room. */
    static final int WINDOW = 2048;

    private final Database database;
    private final BroadcastSql sql;
    private final boolean durable;
    private final Executor executor;
    private final Semaphore window = new Semaphore(WINDOW);
    private final Object lock = new Object();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** Whether a thread (a caller, or a pool thread running {@link #drain}) is sending batches. */
    private boolean sending;
    private final AtomicLong notifications = new AtomicLong();
    private final AtomicLong batches = new AtomicLong();

    /**
     * @param durable  whether the messages are stored in the durable message table (each batch waking its
     *                 channels' readers) rather than sent as notifications
     * @param executor runs the sending of queued messages when no caller is sending (the pool's work threads)
     */
    Publisher(Database database, BroadcastSql sql, boolean durable, Executor executor) {
        this.database = database;
        this.sql = sql;
        this.durable = durable;
        this.executor = executor;
    }

    private static final class Pending {
        final Outgoing message;
        /** Completed when sent, for a caller that did not wait; null for one that waits. */
        final CompletableFuture<Void> future;
        /** The caller waiting for it, woken when it is sent; null for one that did not wait. */
        final Thread waiter;
        boolean done;
        RuntimeException failure;

        Pending(Outgoing message, CompletableFuture<Void> future, Thread waiter) {
            this.message = message;
            this.future = future;
            this.waiter = waiter;
        }
    }

    /** Notifications sent (one per message), and statements that sent them. */
    long notifications() {
        return notifications.get();
    }

    long batches() {
        return batches.get();
    }

    /**
     * Sends {@code message} and returns once it is committed.
     *
     * @throws PgkitException (and its subtypes) when the batch holding it failed; an interrupt before it was
     *                        taken into a batch withdraws it
     */
    void send(Outgoing message) {
        Pending me = new Pending(message, null, Thread.currentThread());
        boolean interrupted = false;
        synchronized (lock) {
            queue.add(me);
        }
        try {
            while (true) {
                List<Pending> batch = null;
                synchronized (lock) {
                    if (me.done) {
                        if (me.failure != null) {
                            throw me.failure;
                        }
                        return;
                    }
                    if (!sending) { // nobody is sending, so nothing is in flight: this message is still queued
                        sending = true;
                        batch = take();
                    }
                }
                if (batch == null) {
                    // woken by the batch that sends this message, or when the sender's role is free (never all waiters at once:
                    // waking every waiter per batch cost more CPU than the batch itself)
                    LockSupport.park(this);
                    if (Thread.interrupted()) {
                        synchronized (lock) {
                            if (queue.remove(me)) {
                                Thread.currentThread().interrupt();
                                throw new PgkitException("interrupted before the message was sent; it was not sent", new InterruptedException());
                            }
                        }
                        interrupted = true; // in flight: its outcome is reported at the top of the loop
                    }
                    continue;
                }
                // send, and keep sending what others queued meanwhile: handing the sender's role to a thread that must
                // first be scheduled would stall the pipeline between batches (a follower's wake-up is not free)
                for (int round = 1; ; round++) {
                    deliver(batch);
                    synchronized (lock) {
                        if (queue.isEmpty()) {
                            sending = false;
                            break;
                        }
                        if (me.done && (round >= MAX_ROUNDS || Thread.currentThread().isInterrupted())) {
                            handOff();
                            break;
                        }
                        batch = take();
                    }
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Queues {@code message} and returns without waiting for it to be sent; waits only while {@link #WINDOW}
     * messages of such callers are queued or in flight. The future completes (on a pool thread, never the one
     * sending) once the message is committed, or exceptionally with the batch's failure.
     *
     * @throws PgkitException if interrupted while waiting for room (the message was not sent), or if this
     *                        broadcast's pgkit is closed
     */
    CompletableFuture<Void> sendAsync(Outgoing message) {
        try {
            window.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PgkitException("interrupted while waiting for room among the messages in flight; it was not sent", e);
        }
        Pending me = new Pending(message, new CompletableFuture<>(), null);
        synchronized (lock) {
            queue.add(me);
            if (!sending) {
                sending = true;
                handOff();
            }
        }
        return me.future;
    }

    /** Under the lock, as the sender: lets a pool thread send what is queued; if none can, the waiting callers take over. */
    private void handOff() {
        try {
            executor.execute(this::drain);
        } catch (RuntimeException | Error e) { // closing (or no thread could be started): no pool thread will come
            sending = false;
            for (Pending p : queue) {
                if (p.waiter != null) {
                    LockSupport.unpark(p.waiter); // one of them takes over
                }
            }
            List<Pending> orphans = new ArrayList<>();
            queue.removeIf(p -> p.future != null && orphans.add(p));
            for (Pending p : orphans) {
                window.release();
                p.future.completeExceptionally(new PgkitException("no pgkit thread could send the message (closing?): it was not sent", e));
            }
        }
    }

    /** On a pool thread: sends batches until the queue is empty. */
    private void drain() {
        while (true) {
            List<Pending> batch;
            synchronized (lock) {
                if (queue.isEmpty()) {
                    sending = false;
                    return;
                }
                batch = take();
            }
            deliver(batch);
        }
    }

    /**
     * Sends {@code batch} and reports its outcome to its callers. Futures are completed on a pool thread, never on
     * the sending one: their callbacks are the callers' code, and one that sends again (or waits for room in the
     * window) on the thread that holds the sender's role would wait for itself forever.
     */
    private void deliver(List<Pending> batch) {
        RuntimeException failure = null;
        try {
            write(batch);
        } catch (RuntimeException e) {
            failure = e;
        } catch (Error e) { // the sender's role must still pass on, or every later send waits forever
            failure = new PgkitException("sending a batch of " + batch.size() + " message(s) failed: " + e, e);
        }
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        synchronized (lock) {
            for (Pending p : batch) {
                p.done = true;
                p.failure = failure;
                if (p.future != null) {
                    futures.add(p.future);
                }
            }
        }
        // outside the lock; a caller that saw its message done before parking keeps an unused permit, which at most
        // makes one later park of that thread return early (park's contract allows it)
        Thread self = Thread.currentThread();
        for (Pending p : batch) {
            if (p.waiter != null && p.waiter != self) {
                LockSupport.unpark(p.waiter);
            }
        }
        if (futures.isEmpty()) {
            return;
        }
        window.release(futures.size());
        RuntimeException outcome = failure;
        Runnable complete = () -> futures.forEach(f -> {
            if (outcome == null) {
                f.complete(null);
            } else {
                f.completeExceptionally(outcome);
            }
        });
        try {
            executor.execute(complete);
        } catch (RuntimeException closing) { // no pool thread any more: nothing can send again either
            complete.run();
        }
    }

    /** Under the lock: the next batch, in queue order. */
    private List<Pending> take() {
        List<Pending> batch = new ArrayList<>();
        Set<String> inlines = new HashSet<>();
        long bytes = 0;
        while (!queue.isEmpty() && batch.size() < MAX_BATCH) {
            Pending next = queue.peek();
            Outgoing m = next.message;
            if (!batch.isEmpty() && (bytes + m.size() > MAX_BATCH_BYTES || !m.spilled() && inlines.contains(m.channel() + '\0' + m.inline()))) {
                break;
            }
            if (!m.spilled()) {
                inlines.add(m.channel() + '\0' + m.inline());
            }
            bytes += m.size();
            batch.add(queue.poll());
        }
        return batch;
    }

    private void write(List<Pending> batch) {
        if (durable) {
            writeDurable(batch);
            return;
        }
        int n = batch.size();
        String[] channels = new String[n];
        String[] inlines = new String[n];
        byte[][] attachments = new byte[n][];
        String[] uids = new String[n];
        Integer[] types = new Integer[n];
        for (int i = 0; i < n; i++) {
            Outgoing m = batch.get(i).message;
            channels[i] = m.channel();
            inlines[i] = m.inline();
            attachments[i] = m.attachment();
            uids[i] = m.uid();
            types[i] = m.type();
        }
        boolean spilled = false;
        for (byte[] attachment : attachments) {
            spilled |= attachment != null;
        }
        if (n == 1 && !spilled) {
            database.query(sql.publishOneInline, channels[0], s -> {
                s.setString(1, channels[0]);
                s.setString(2, inlines[0]);
            }, Publisher::readAll);
        } else if (spilled && n == 1) {
            Outgoing m = batch.get(0).message;
            database.query(sql.publishOneSpilled, m.channel(), s -> {
                s.setBytes(1, m.attachment());
                s.setString(2, m.channel());
                s.setString(3, m.uid());
                s.setInt(4, m.type());
            }, Publisher::readAll);
        } else if (spilled) {
            database.query(sql.publish, channels[0], s -> {
                Connection c = s.getConnection();
                s.setArray(1, c.createArrayOf("text", channels));
                s.setArray(2, c.createArrayOf("text", inlines));
                s.setObject(3, attachments);
                s.setArray(4, c.createArrayOf("text", uids));
                s.setArray(5, c.createArrayOf("int4", types));
            }, Publisher::readAll);
        } else {
            database.query(sql.publishInline, channels[0], s -> {
                Connection c = s.getConnection();
                s.setArray(1, c.createArrayOf("text", channels));
                s.setArray(2, c.createArrayOf("text", inlines));
            }, Publisher::readAll);
        }
        notifications.addAndGet(n);
        batches.incrementAndGet();
    }

    private static Void readAll(java.sql.ResultSet rs) throws java.sql.SQLException {
        while (rs.next()) {
            // one row per notification
        }
        return null;
    }

    private void writeDurable(List<Pending> batch) {
        int n = batch.size();
        String[] channels = new String[n];
        String[] senders = new String[n];
        byte[][] messages = new byte[n][];
        for (int i = 0; i < n; i++) {
            Outgoing m = batch.get(i).message;
            channels[i] = m.channel();
            senders[i] = m.uid();
            messages[i] = m.attachment();
        }
        database.query(sql.publishDurable, channels[0], s -> {
            Connection c = s.getConnection();
            s.setArray(1, c.createArrayOf("text", channels));
            s.setArray(2, c.createArrayOf("text", senders));
            s.setObject(3, messages);
        }, Publisher::readAll);
        notifications.addAndGet(1); // one wake-up per batch (per channel)
        batches.incrementAndGet();
    }
}
