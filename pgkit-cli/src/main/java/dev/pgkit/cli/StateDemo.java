package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.state.ListOptions;
import dev.pgkit.state.Lock;
import dev.pgkit.state.LockOptions;
import dev.pgkit.state.QueueEntry;
import dev.pgkit.state.StateStore;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** The state adapter's part of the demo. */
final class StateDemo {
    private final StateStore state;
    private final PrintWriter out;

    StateDemo(Pgkit pgkit, PrintWriter out) {
        this.state = pgkit.state("demo-" + UUID.randomUUID().toString().substring(0, 8));
        this.out = out;
    }

    void run() throws Exception {
        out.println();
        out.println("== state (dev.pgkit.state), key prefix " + state.keyPrefix());

        state.subscribe("slack:C1:1700000000.1");
        say("subscribe(slack:C1:…)", "isSubscribed = " + state.isSubscribed("slack:C1:1700000000.1"));

        Lock first = state.acquireLock("thread-1", Duration.ofSeconds(30)).orElseThrow();
        say("acquireLock(thread-1, 30 s)", "held, fence " + first.fence() + ", expires " + first.expiresAt());
        say("acquireLock(thread-1) again", state.acquireLock("thread-1", Duration.ofSeconds(30)).isPresent() ? "acquired (unexpected!)" : "refused: already held");
        CompletableFuture.runAsync(() -> {
            sleep(300);
            first.close();
        });
        long start = System.nanoTime();
        Optional<Lock> waited = state.acquireLock("thread-1", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(10)));
        say("acquireLock waiting up to 10 s", "acquired after " + (System.nanoTime() - start) / 1_000_000
                + " ms, woken by the release; fence " + waited.orElseThrow().fence() + " > " + first.fence());
        waited.get().close();

        state.set("user:42", Map.of("name", "Ada", "plan", "pro"), Duration.ofMinutes(5));
        say("set(user:42, {…}, 5 min)", "get = " + state.get("user:42", Map.class).orElseThrow());
        say("setIfNotExists(user:42)", "stored = " + state.setIfNotExists("user:42", "other"));
        say("delete(user:42)", "deleted = " + state.delete("user:42") + ", get = " + state.get("user:42", Map.class));

        for (int i = 1; i <= 5; i++) {
            state.appendToList("recent", "message " + i, ListOptions.none().maxLength(3).ttl(Duration.ofHours(1)));
        }
        say("appendToList ×5 (maxLength 3)", "getList = " + state.getList("recent", String.class));

        int depth = 0;
        for (int i = 1; i <= 4; i++) {
            depth = state.enqueue("thread-2", Map.of("text", "hello " + i), Duration.ofMinutes(1), 3);
        }
        say("enqueue ×4 (maxSize 3)", "depth = " + depth + " (oldest dropped)");
        QueueEntry<Map> next = state.dequeue("thread-2", Map.class).orElseThrow();
        say("dequeue", next.message() + ", enqueued " + next.enqueuedAt() + " (server clock)");
        while (state.dequeue("thread-2", Map.class).isPresent()) {
            // drain
        }
        CompletableFuture.runAsync(() -> {
            sleep(300);
            state.enqueue("thread-2", Map.of("text", "late"), Duration.ofMinutes(1), 3);
        });
        start = System.nanoTime();
        Optional<QueueEntry<Map>> late = state.dequeue("thread-2", Map.class, Duration.ofSeconds(10));
        say("dequeue waiting up to 10 s", late.map(QueueEntry::message).orElse(null) + " after "
                + (System.nanoTime() - start) / 1_000_000 + " ms, woken by the enqueue");
        say("queueDepth(thread-2)", Integer.toString(state.queueDepth("thread-2")));
        out.flush();
    }

    private void say(String what, String result) {
        out.printf("  %-34s -> %s%n", what, result);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
