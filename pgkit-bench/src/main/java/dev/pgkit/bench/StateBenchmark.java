package dev.pgkit.bench;

import dev.pgkit.Pgkit;
import dev.pgkit.state.ListOptions;
import dev.pgkit.state.StateStore;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Each state operation, one key per benchmark thread. Run at 1, 8 and 32 threads next to
 * {@link FloorBenchmark}: {@code java -jar pgkit-bench/target/benchmarks.jar -t 8 'StateBenchmark|FloorBenchmark'}.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 5)
@Fork(1)
public class StateBenchmark {

    @State(Scope.Benchmark)
    public static class Shared {
        Pgkit pgkit;
        StateStore state;

        @Setup(Level.Trial)
        public void open() {
            pgkit = BenchServer.pgkit(64);
            state = pgkit.state("jmh-" + UUID.randomUUID().toString().substring(0, 8));
        }

        @TearDown(Level.Trial)
        public void close() {
            pgkit.close();
        }
    }

    @State(Scope.Thread)
    public static class PerThread {
        private static final AtomicInteger NEXT = new AtomicInteger();
        String key;

        @Setup(Level.Trial)
        public void key(Shared shared) {
            key = "k" + NEXT.incrementAndGet();
            shared.state.set(key, "v");
        }
    }

    private static final ListOptions CAPPED = ListOptions.none().maxLength(100);

    @Benchmark
    public Object get(Shared shared, PerThread thread) {
        return shared.state.get(thread.key, String.class);
    }

    @Benchmark
    public void set(Shared shared, PerThread thread) {
        shared.state.set(thread.key, "v", Duration.ofHours(1));
    }

    @Benchmark
    public int enqueue(Shared shared, PerThread thread) {
        return shared.state.enqueue(thread.key, "m", Duration.ofMinutes(10), 10); // the Chat SDK default maxQueueSize
    }

    @Benchmark
    public void appendToList(Shared shared, PerThread thread) {
        shared.state.appendToList(thread.key, "v", CAPPED);
    }

    @Benchmark
    public boolean lockAndRelease(Shared shared, PerThread thread) {
        return shared.state.releaseLock(shared.state.acquireLock(thread.key, Duration.ofSeconds(30)).orElseThrow());
    }
}
