package dev.pgkit.internal;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The wait/wake service every adapter shares. A caller waiting for something (a lock's release, a
 * queue entry) {@link #register registers} a {@link Waiter} on a key and starts its try/await loop
 * at once: LISTEN and the key's presence lock are requested from the listener asynchronously, and the
 * waiter is woken when they become active (a write before then sent no NOTIFY), by a NOTIFY for its
 * key, by a gap signal (a reconnect: notifications may be lost), and in any case after the re-check
 * interval (writers that send no NOTIFY, such as the Node adapters, and listener outages). Waiters
 * never block one another: each waits on its own key's monitor, released while waiting.
 *
 * <p>A NOTIFY announces one unit of what is waited for (one release, one entry), so it wakes
 * <em>one</em> waiter of its key in this process, not all of them: with many local waiters on one
 * lock, waking them all would send them all to the database for one lock, queueing on its row
 * (measured: 32 waiters on one lock made 215 hand-overs a second). A wake-up arriving while no waiter
 * is parked is kept for the next one, so none is lost; one that finds the unit already taken costs that
 * waiter one more try. Events after which anything may have changed (a gap, the presence lock becoming
 * held, closing) wake every waiter of the key.
 *
 * <p>Adapters that follow a stream (broadcast, live queries) {@link #subscribe} to a channel with a
 * handler that gets bounded, serialized delivery and a gap signal. Internal to pgkit (not exported).
 */
public final class WakeupService {
    private final Supplier<NotificationListener> listener;
    private final long recheckNanos;
    private final Map<String, ChannelTopics> channels = new ConcurrentHashMap<>();

    /**
     * @param listener        the shared listener, started on first use
     * @param recheckInterval the longest a waiter sleeps without a wake-up before it re-checks
     */
    public WakeupService(Supplier<NotificationListener> listener, Duration recheckInterval) {
        if (recheckInterval == null || recheckInterval.isZero() || recheckInterval.isNegative()) {
            throw new IllegalArgumentException("recheckInterval must be a positive duration, was " + recheckInterval);
        }
        this.listener = listener;
        this.recheckNanos = recheckInterval.toNanos();
    }

    /** The longest a waiter sleeps without a wake-up before it re-checks. */
    public Duration recheckInterval() {
        return Duration.ofNanos(recheckNanos);
    }

    /**
     * Subscribes {@code handler} to {@code channel} (returns at once); it gets a gap signal when the
     * subscription becomes active, after each reconnect and when it falls behind.
     */
    public NotificationListener.Subscription subscribe(String channel, NotificationHandler handler) {
        return listener.get().subscribe(channel, handler);
    }

    /** Registers a waiter on {@code (scope, key)}; never blocks. Close it when done waiting. */
    public Waiter register(WakeProtocol.Kind kind, String scope, String key) {
        NotificationListener shared = listener.get(); // never inside a map's compute: it may start the listener
        ChannelTopics channel = channels.computeIfAbsent(kind.channel(), ChannelTopics::new);
        channel.ensureSubscribed(shared);
        String name = WakeProtocol.topic(kind, scope, key);
        Topic topic = channel.topics.compute(name, (n, existing) -> {
            Topic t = existing != null ? existing : new Topic();
            t.waiters++;
            if (existing == null) {
                t.presence = shared.holdPresence(kind.presenceClass(), WakeProtocol.presenceName(scope, key), t::wake);
            }
            return t;
        });
        return new Waiter(channel, name, topic);
    }

    /** Wakes every waiter (the {@code Pgkit} is closing: their next try fails at once). */
    public void wakeAll() {
        channels.values().forEach(ChannelTopics::onGap);
    }

    /** The waiters of one channel, by notification payload. */
    private final class ChannelTopics implements NotificationHandler {
        final String channel;
        final Map<String, Topic> topics = new ConcurrentHashMap<>();
        private NotificationListener.Subscription subscription;

        ChannelTopics(String channel) {
            this.channel = channel;
        }

        synchronized void ensureSubscribed(NotificationListener shared) {
            if (subscription == null) {
                subscription = shared.subscribe(channel, this);
            }
        }

        @Override
        public void onNotification(String channel, String payload) {
            Topic topic = topics.get(payload);
            if (topic != null) {
                topic.wakeOne();
            }
        }

        @Override
        public void onGap() {
            topics.values().forEach(Topic::wake);
        }
    }

    private static final class Topic {
        /** Changed only inside the map's compute; read by {@link #wakeOne} to bound the permits. */
        volatile int waiters;
        NotificationListener.PresenceHold presence;
        /** Bumped by a wake-up for every waiter. */
        private long generation;
        /** Wake-ups for one waiter each, not yet taken; at most one per registered waiter. */
        private int permits;

        /** Every waiter re-checks. */
        synchronized void wake() {
            generation++;
            notifyAll();
        }

        /** One waiter re-checks: the next to wait, or one waiting now. */
        synchronized void wakeOne() {
            if (permits < Math.max(1, waiters)) {
                permits++;
            }
            notifyAll(); // waiters are alike: the first to run takes the permit, the rest wait on
        }

        synchronized long generation() {
            return generation;
        }
    }

    /** One caller's registration on one key. Call {@link #arm()} before each try, then {@link #await}. */
    public final class Waiter implements AutoCloseable {
        private final ChannelTopics channel;
        private final String name;
        private final Topic topic;
        private long seen;
        private boolean closed;

        private Waiter(ChannelTopics channel, String name, Topic topic) {
            this.channel = channel;
            this.name = name;
            this.topic = topic;
            this.seen = topic.generation();
        }

        /** Marks the current state as seen: the next {@link #await} waits for a later wake-up. */
        public void arm() {
            seen = topic.generation();
        }

        /**
         * Waits for a wake-up newer than the last {@link #arm()} (or a one-waiter wake-up not yet taken),
         * at most {@code nanos} and at most the re-check interval.
         *
         * @return whether a wake-up came (false: the time ran out, re-check anyway)
         */
        public boolean await(long nanos) throws InterruptedException {
            long deadline = System.nanoTime() + Math.min(nanos, recheckNanos);
            synchronized (topic) {
                while (topic.generation == seen) {
                    if (topic.permits > 0) {
                        topic.permits--;
                        return true;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return false;
                    }
                    topic.wait(left / 1_000_000, (int) (left % 1_000_000));
                }
                return true;
            }
        }

        @Override
        public void close() {
            if (closed) {
                return;
            }
            closed = true;
            channel.topics.compute(name, (n, existing) -> {
                if (--topic.waiters > 0) {
                    return existing;
                }
                topic.presence.close();
                return null;
            });
        }
    }
}
