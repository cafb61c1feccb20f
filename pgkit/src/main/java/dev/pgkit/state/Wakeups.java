package dev.pgkit.state;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Waiters for a lock release or an enqueue, woken by notifications. A waiter takes a ticket
 * <em>before</em> it tries, so a wake-up that arrives between its failed try and its wait is not lost.
 */
final class Wakeups {
    private final Map<String, Topic> topics = new ConcurrentHashMap<>();

    private static final class Topic {
        long generation;
        int waiters;
    }

    /** A registration on one topic; close it when done waiting. */
    final class Ticket implements AutoCloseable {
        private final String name;
        private final Topic topic;
        private long seen;

        private Ticket(String name, Topic topic) {
            this.name = name;
            this.topic = topic;
            synchronized (topic) {
                seen = topic.generation;
            }
        }

        /** Marks the current state as seen: the next {@link #await} waits for a later wake-up. */
        void arm() {
            synchronized (topic) {
                seen = topic.generation;
            }
        }

        /** Waits until a wake-up newer than the last {@link #arm()}, or {@code nanos}; true if woken. */
        boolean await(long nanos) throws InterruptedException {
            long deadline = System.nanoTime() + nanos;
            synchronized (topic) {
                while (topic.generation == seen) {
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
            topics.compute(name, (key, existing) -> {
                synchronized (topic) {
                    topic.waiters--;
                    return topic.waiters == 0 ? null : existing;
                }
            });
        }
    }

    Ticket register(String name) {
        Topic topic = topics.compute(name, (key, existing) -> {
            Topic t = existing != null ? existing : new Topic();
            synchronized (t) {
                t.waiters++;
            }
            return t;
        });
        return new Ticket(name, topic);
    }

    /** Wakes the waiters of one topic (a notification payload). */
    void wake(String name) {
        Topic topic = topics.get(name);
        if (topic != null) {
            synchronized (topic) {
                topic.generation++;
                topic.notifyAll();
            }
        }
    }

    /** Wakes every waiter (after the listener reconnected: notifications may have been missed). */
    void wakeAll() {
        topics.keySet().forEach(this::wake);
    }
}
