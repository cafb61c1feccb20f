package dev.pgkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pgkit.Pgkit;
import dev.pgkit.state.ListOptions;
import dev.pgkit.state.LockOptions;
import dev.pgkit.state.StateStore;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * Load generators that measure each adapter against the PostgreSQL floor in the same run. Each adapter's bench is added as a subcommand from {@link CliAdapter#ALL}. */
@Command(name = "bench", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Measure adapters against the PostgreSQL floor.")
final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code pgkit bench state}. */
    @Command(name = "state", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
            description = "Each state operation at each concurrency, with the floor (plain pgjdbc and pgbench running "
            + "the equivalent single statement) measured in the same run.")
    static final class State extends DatabaseCommand {

        @Option(names = "--duration", defaultValue = "5", description = "seconds measured per cell (default: ${DEFAULT-VALUE}), after 1 s of warm-up")
        int seconds;

        @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32", description = "client threads (default: ${DEFAULT-VALUE})")
        List<Integer> concurrencies;

        @Option(names = "--json", description = "also write the figures to this file as JSON")
        Path json;

        /** Rejects impossible options before anything connects or runs, naming the option. */
        private void validate() {
            BenchOptions.duration(spec, seconds);
            BenchOptions.concurrency(spec, concurrencies, BenchOptions.MAX_CLIENTS, "client count");
            BenchOptions.json(spec, json);
        }

        @Override
        public Integer call() throws Exception {
            validate();
            PrintWriter out = out();
            Duration warmup = Duration.ofSeconds(1);
            Duration duration = Duration.ofSeconds(seconds);
            int maxClients = concurrencies.stream().mapToInt(Integer::intValue).max().orElse(1);
            List<Map<String, Object>> cells = new ArrayList<>();
            List<Map<String, Object>> wakeLatencies = new ArrayList<>();
            try (DatabaseOptions.Target target = connect(true, maxClients)) {
                Pgkit pgkit = target.pgkit();
                StateStore state = pgkit.state("bench-" + UUID.randomUUID().toString().substring(0, 8));
                Floor floor = new Floor(pgkit.dataSource(), pgkit.schema());
                floor.prepare(maxClients);
                out.printf("pgkit bench state on %s, %d s per cell after 1 s warm-up, %d cores%n", pgkit.status().server(), seconds,
                        Runtime.getRuntime().availableProcessors());
                out.printf("%-17s %5s %11s %9s %9s | %11s %6s | %11s %6s%n", "operation", "conc", "ops/s", "p50 µs", "p99 µs",
                        "jdbc floor", "ratio", "pgbench", "ratio");
                for (int clients : concurrencies) {
                    LoadRunner.Result selectFloor = floor.pgjdbc(false, clients, warmup, duration);
                    LoadRunner.Result upsertFloor = floor.pgjdbc(true, clients, warmup, duration);
                    OptionalDouble selectBench = floor.pgbench(false, clients, duration);
                    OptionalDouble upsertBench = floor.pgbench(true, clients, duration);
                    print(out, cells, "floor select", clients, selectFloor, selectFloor, selectBench);
                    print(out, cells, "floor upsert", clients, upsertFloor, upsertFloor, upsertBench);
                    Bench bench = new Bench(pgkit, state, clients);
                    for (Operation op : Operation.values()) {
                        LoadRunner.Result result = LoadRunner.run(clients, warmup, duration, index -> op.worker(bench, "w" + clients + "-" + index));
                        print(out, cells, op.label, clients, result, op.write ? upsertFloor : selectFloor, op.write ? upsertBench : selectBench);
                    }
                    out.flush();
                }
                WakeLatency.report(state, floor, duration, out, wakeLatencies);
            }
            if (json != null) {
                Map<String, Object> report = new LinkedHashMap<>();
                report.put("benchmark", "state");
                report.put("at", Instant.now().toString());
                report.put("secondsPerCell", seconds);
                report.put("cores", Runtime.getRuntime().availableProcessors());
                report.put("cells", cells);
                report.put("wakeLatency", wakeLatencies);
                new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), report);
                out.println("figures written to " + json);
            }
            out.flush();
            return 0;
        }

        private static void print(PrintWriter out, List<Map<String, Object>> cells, String label, int clients, LoadRunner.Result result,
                                  LoadRunner.Result jdbcFloor, OptionalDouble pgbenchFloor) {
            double jdbcRatio = result.opsPerSecond() / jdbcFloor.opsPerSecond();
            String pgbench = pgbenchFloor.isPresent() ? String.format("%11.0f %6.2f", pgbenchFloor.getAsDouble(), result.opsPerSecond() / pgbenchFloor.getAsDouble())
                    : String.format("%11s %6s", "n/a", "");
            out.printf("%-17s %5d %11.0f %9.0f %9.0f | %11.0f %6.2f | %s%n", label, clients, result.opsPerSecond(), result.p50Micros(),
                    result.p99Micros(), jdbcFloor.opsPerSecond(), jdbcRatio, pgbench);
            Map<String, Object> cell = new LinkedHashMap<>();
            cell.put("operation", label);
            cell.put("concurrency", clients);
            cell.put("opsPerSecond", Math.round(result.opsPerSecond()));
            cell.put("p50Micros", Math.round(result.p50Micros()));
            cell.put("p99Micros", Math.round(result.p99Micros()));
            cell.put("jdbcFloorOpsPerSecond", Math.round(jdbcFloor.opsPerSecond()));
            cell.put("ratioToJdbcFloor", Math.round(jdbcRatio * 1000) / 1000.0);
            if (pgbenchFloor.isPresent()) {
                cell.put("pgbenchFloorTps", Math.round(pgbenchFloor.getAsDouble()));
                cell.put("ratioToPgbenchFloor", Math.round(result.opsPerSecond() / pgbenchFloor.getAsDouble() * 1000) / 1000.0);
            }
            cells.add(cell);
        }
    }

    /** What a worker needs: the store under test and the server it runs on. */
    record Bench(Pgkit pgkit, StateStore state, int clients) {
    }

    /**
     * The measured state operations. Each worker has a key of its own, except {@code lock (contended)},
     * where every client waits for one lock and the figure is hand-overs per second.
     */
    enum Operation {
        GET("get", false) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) {
                bench.state().set(key, "v");
                return () -> bench.state().get(key, String.class);
            }
        },
        SET("set", true) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) {
                return () -> bench.state().set(key, "v", Duration.ofHours(1));
            }
        },
        ENQUEUE("enqueue", true) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) {
                return () -> bench.state().enqueue(key, "m", Duration.ofMinutes(10), 10); // the Chat SDK default maxQueueSize
            }
        },
        DEQUEUE("dequeue", true) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) throws Exception {
                QueueFill.fill(bench.pgkit(), bench.state().keyPrefix(), key, QueueFill.perWorker(bench.clients()));
                return () -> {
                    if (bench.state().dequeue(key, String.class).isEmpty()) {
                        throw new IllegalStateException("the pre-filled queue ran dry: shorten --duration");
                    }
                };
            }
        },
        APPEND("appendToList", true) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) {
                ListOptions capped = ListOptions.none().maxLength(100);
                return () -> bench.state().appendToList(key, "v", capped);
            }
        },
        LOCK_RELEASE("lock+release", true) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) {
                return () -> bench.state().releaseLock(bench.state().acquireLock(key, Duration.ofSeconds(30)).orElseThrow());
            }
        },
        LOCK_CONTENDED("lock (contended)", true) {
            @Override
            LoadRunner.Worker worker(Bench bench, String key) {
                LockOptions waiting = LockOptions.lease(Duration.ofSeconds(30)).waitUpTo(Duration.ofSeconds(60));
                return () -> bench.state().releaseLock(bench.state().acquireLock("contended", waiting).orElseThrow());
            }
        };

        final String label;
        final boolean write;

        Operation(String label, boolean write) {
            this.label = label;
            this.write = write;
        }

        abstract LoadRunner.Worker worker(Bench bench, String key) throws Exception;
    }
}
