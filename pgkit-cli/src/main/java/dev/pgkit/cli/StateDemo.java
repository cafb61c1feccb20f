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
import java.util.TreeMap;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/** The state adapter's part of the demo: every value printed is what the operation returned or a read gave back. */
final class StateDemo implements CliAdapter.DemoSection {

    @Override
    public void run(Pgkit pgkit, PrintWriter out) throws Exception {
        StateStore state = pgkit.state("demo-" + UUID.randomUUID().toString().substring(0, 8));
        out.println();
        out.println("== state (dev.pgkit.state), key prefix " + state.keyPrefix());

        state.subscribe("slack:C1:1700000000.1");
        say(out, "subscribe(slack:C1:…)", "isSubscribed = " + state.isSubscribed("slack:C1:1700000000.1"));

        Lock first = state.acquireLock("thread-1", Duration.ofSeconds(30)).orElseThrow();
        say(out, "acquireLock(thread-1, 30 s)", "held until " + first.expiresAt() + ", fence " + first.fence());
        say(out, "acquireLock(thread-1) again", state.acquireLock("thread-1", Duration.ofSeconds(30)).isPresent()
                ? "acquired" : "refused: already held");
        CompletableFuture<Void> release = CompletableFuture.runAsync(() -> {
            sleep(300);
            first.close();
        });
        long start = System.nanoTime();
        Optional<Lock> waited = state.acquireLock("thread-1", LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(10)));
        long waitedMillis = (System.nanoTime() - start) / 1_000_000;
        release.join();
        say(out, "acquireLock waiting up to 10 s", waited.map(lock -> "acquired after " + waitedMillis + " ms (released at ~300 ms), fence "
                + first.fence() + " -> " + lock.fence()).orElse("not acquired"));
        waited.ifPresent(Lock::close);

        state.set("user:42", new TreeMap<>(Map.of("name", "Ada", "plan", "pro")), Duration.ofMinutes(5));
        say(out, "set(user:42, {…}, 5 min)", "get = " + state.get("user:42", Object.class).map(Object::toString).orElse("(absent)"));
        say(out, "setIfNotExists(user:42)", "stored = " + state.setIfNotExists("user:42", "other"));
        say(out, "delete(user:42)", "deleted = " + state.delete("user:42") + ", get = "
                + state.get("user:42", Object.class).map(Object::toString).orElse("(absent)"));

        for (int i = 1; i <= 5; i++) {
            state.appendToList("recent", "message " + i, ListOptions.none().maxLength(3).ttl(Duration.ofHours(1)));
        }
        say(out, "appendToList ×5 (maxLength 3)", "getList = " + state.getList("recent", String.class));

        int depth = 0;
        for (int i = 1; i <= 4; i++) {
            depth = state.enqueue("thread-2", Map.of("text", "hello " + i), Duration.ofMinutes(1), 3);
        }
        say(out, "enqueue ×4 (maxSize 3)", "depth = " + depth);
        say(out, "dequeue", state.dequeue("thread-2", Object.class)
                .map(entry -> entry.message() + ", enqueued " + entry.enqueuedAt() + " (server clock)").orElse("(empty)"));
        int drained = 0;
        while (state.dequeue("thread-2", Object.class).isPresent()) {
            drained++;
        }
        say(out, "dequeue until empty", drained + " more");
        CompletableFuture<Integer> late = CompletableFuture.supplyAsync(() -> {
            sleep(300);
            return state.enqueue("thread-2", Map.of("text", "late"), Duration.ofMinutes(1), 3);
        });
        start = System.nanoTime();
        Optional<QueueEntry<Object>> woken = state.dequeue("thread-2", Object.class, Duration.ofSeconds(10));
        long wokenMillis = (System.nanoTime() - start) / 1_000_000;
        late.join();
        say(out, "dequeue waiting up to 10 s", woken.map(entry -> entry.message() + " after " + wokenMillis
                + " ms (enqueued at ~300 ms)").orElse("(nothing)"));
        say(out, "queueDepth(thread-2)", Integer.toString(state.queueDepth("thread-2")));
        out.flush();
    }

    private static void say(PrintWriter out, String what, String result) {
        out.printf("  %-34s -> %s%n", what, result);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis); // the demo's other party acts a little later, so the wait is visible
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
