package dev.pgkit.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/** Runs one operation in N threads for a fixed time and measures throughput and latency percentiles. */
final class LoadRunner {
    /** One worker's operation; {@link #close()} releases what the worker opened. */
    interface Worker extends AutoCloseable {
        void run() throws Exception;

        @Override
        default void close() throws Exception {
        }
    }

    /** Makes the worker for thread {@code index}. */
    interface WorkerFactory {
        Worker create(int index) throws Exception;
    }

    /** The figures of one run. */
    record Result(long operations, double opsPerSecond, double p50Micros, double p99Micros) {
    }

    private LoadRunner() {
    }

    static Result run(int threads, Duration warmup, Duration duration, WorkerFactory factory) throws Exception {
        List<Worker> workers = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
            workers.add(factory.create(i));
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            long[] window = new long[2];
            List<Future<long[]>> futures = new ArrayList<>();
            for (Worker worker : workers) {
                futures.add(pool.submit(() -> {
                    go.await();
                    long[] samples = new long[1 << 14];
                    int count = 0;
                    while (true) {
                        long start = System.nanoTime();
                        if (start - window[1] >= 0) {
                            break;
                        }
                        worker.run();
                        if (start - window[0] >= 0) {
                            if (count == samples.length) {
                                samples = Arrays.copyOf(samples, count * 2);
                            }
                            samples[count++] = System.nanoTime() - start;
                        }
                    }
                    return Arrays.copyOf(samples, count);
                }));
            }
            long now = System.nanoTime();
            window[0] = now + warmup.toNanos();
            window[1] = window[0] + duration.toNanos();
            go.countDown();
            List<long[]> all = new ArrayList<>();
            for (Future<long[]> f : futures) {
                all.add(f.get(duration.toSeconds() + warmup.toSeconds() + 120, TimeUnit.SECONDS));
            }
            long[] merged = all.stream().flatMapToLong(Arrays::stream).sorted().toArray();
            double seconds = duration.toNanos() / 1e9;
            return new Result(merged.length, merged.length / seconds, percentile(merged, 0.50) / 1e3, percentile(merged, 0.99) / 1e3);
        } finally {
            pool.shutdownNow();
            for (Worker worker : workers) {
                worker.close();
            }
        }
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }
}
