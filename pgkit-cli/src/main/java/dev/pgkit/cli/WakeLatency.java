package dev.pgkit.cli;

import dev.pgkit.state.Lock;
import dev.pgkit.state.LockOptions;
import dev.pgkit.state.StateStore;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;

/**
 * How long a blocked waiter takes to run after the event it waits for: a lock release (waiting
 * {@code acquireLock}), an enqueue (waiting {@code dequeue}), and, as the floor, a plain pgjdbc
 * {@code NOTIFY} reaching a plain pgjdbc {@code LISTEN} connection. Each sample starts just before
 * the releasing/enqueuing call and ends when the waiter's call returns, in this JVM.
 */
final class WakeLatency {
    /** Time the waiter gets to block before the event, so that each sample measures a wake-up, not a first try. */
    private static final long SETTLE_MILLIS = 30;
    private static final int MAX_SAMPLES = 300;

    private WakeLatency() {
    }

    static void report(StateStore state, Floor floor, Duration duration, PrintWriter out, List<Map<String, Object>> cells)
            throws Exception {
        int samples = (int) Math.min(MAX_SAMPLES, Math.max(10, duration.toMillis() / (SETTLE_MILLIS + 5)));
        out.printf("%nwake latency: event -> blocked waiter running, %d samples each%n", samples);
        out.printf("%-22s %9s %9s %9s%n", "waiter", "p50 µs", "p99 µs", "max µs");
        ExecutorService waiter = Executors.newSingleThreadExecutor();
        try {
            print(out, cells, "NOTIFY->LISTEN (floor)", notifyFloor(floor, waiter, samples));
            print(out, cells, "release->acquireLock", lockWake(state, waiter, samples));
            print(out, cells, "enqueue->dequeue", queueWake(state, waiter, samples));
        } finally {
            waiter.shutdownNow();
        }
        out.flush();
    }

    private static long[] lockWake(StateStore state, ExecutorService waiter, int samples) throws Exception {
        long[] nanos = new long[samples];
        LockOptions waiting = LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(30));
        for (int i = 0; i < samples; i++) {
            Lock held = state.acquireLock("wake-lock", Duration.ofSeconds(30)).orElseThrow();
            Future<Long> woken = waiter.submit(() -> {
                Lock lock = state.acquireLock("wake-lock", waiting).orElseThrow();
                long at = System.nanoTime();
                state.releaseLock(lock);
                return at;
            });
            Thread.sleep(SETTLE_MILLIS);
            long start = System.nanoTime();
            state.releaseLock(held);
            nanos[i] = woken.get(60, TimeUnit.SECONDS) - start;
        }
        return nanos;
    }

    private static long[] queueWake(StateStore state, ExecutorService waiter, int samples) throws Exception {
        long[] nanos = new long[samples];
        for (int i = 0; i < samples; i++) {
            Future<Long> woken = waiter.submit(() -> {
                state.dequeue("wake-queue", String.class, Duration.ofSeconds(30)).orElseThrow();
                return System.nanoTime();
            });
            Thread.sleep(SETTLE_MILLIS);
            long start = System.nanoTime();
            state.enqueue("wake-queue", "m", Duration.ofMinutes(1));
            nanos[i] = woken.get(60, TimeUnit.SECONDS) - start;
        }
        return nanos;
    }

    private static long[] notifyFloor(Floor floor, ExecutorService waiter, int samples) throws Exception {
        long[] nanos = new long[samples];
        try (Connection listener = floor.connect(); Connection sender = floor.connect(); Statement send = sender.createStatement()) {
            try (Statement listen = listener.createStatement()) {
                listen.execute("LISTEN pgkit_bench_floor");
            }
            PGConnection pg = listener.unwrap(PGConnection.class);
            for (int i = 0; i < samples; i++) {
                CompletableFuture<Long> woken = CompletableFuture.supplyAsync(() -> {
                    try {
                        org.postgresql.PGNotification[] received;
                        do {
                            received = pg.getNotifications(30_000);
                        } while (received == null || received.length == 0);
                        return System.nanoTime();
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, waiter);
                Thread.sleep(SETTLE_MILLIS);
                long start = System.nanoTime();
                send.execute("NOTIFY pgkit_bench_floor");
                nanos[i] = woken.get(60, TimeUnit.SECONDS) - start;
            }
        }
        return nanos;
    }

    private static void print(PrintWriter out, List<Map<String, Object>> cells, String label, long[] nanos) {
        long[] sorted = nanos.clone();
        Arrays.sort(sorted);
        double p50 = percentile(sorted, 0.50) / 1e3;
        double p99 = percentile(sorted, 0.99) / 1e3;
        double max = sorted[sorted.length - 1] / 1e3;
        out.printf("%-22s %9.0f %9.0f %9.0f%n", label, p50, p99, max);
        Map<String, Object> cell = new LinkedHashMap<>();
        cell.put("waiter", label);
        cell.put("samples", sorted.length);
        cell.put("p50Micros", Math.round(p50));
        cell.put("p99Micros", Math.round(p99));
        cell.put("maxMicros", Math.round(max));
        cells.add(cell);
    }

    private static long percentile(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p * sorted.length) - 1))];
    }
}
