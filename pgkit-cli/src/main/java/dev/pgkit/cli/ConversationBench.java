package dev.pgkit.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.pgkit.Pgkit;
import dev.pgkit.conversation.ConversationStore;
import dev.pgkit.conversation.NewHistoryEntry;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgkit bench conversation}: {@code save} and {@code getPrevByNumber} per second at each concurrency, beside
 * the floor measured in the same run: the same statements by a plain pgjdbc loop, and BuilderBot's function call.
 */
@Command(name = "conversation", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "save and getPrevByNumber at each concurrency, with the floor (plain pgjdbc running the same statements, "
        + "and the Node adapter's function call) measured in the same run.")
final class ConversationBench extends DatabaseCommand {

    @Option(names = "--duration", defaultValue = "5", description = "seconds measured per cell (default: ${DEFAULT-VALUE}), after 1 s of warm-up")
    int seconds;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32", description = "client threads (default: ${DEFAULT-VALUE})")
    List<Integer> concurrencies;

    @Option(names = "--json", description = "also write the figures to this file as JSON")
    Path json;

    /** History entries per phone before getPrevByNumber is measured. */
    static final int HISTORY_PER_PHONE = 50;

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
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (DatabaseOptions.Target target = connect(true, maxClients)) {
            Pgkit pgkit = target.pgkit();
            ConversationStore conversation = pgkit.conversation();
            ConversationFloor floor = new ConversationFloor(pgkit.dataSource(), pgkit.schema());
            String readPhones = "+bench-" + run + "-r";
            for (int i = 0; i < maxClients; i++) {
                for (int m = 0; m < HISTORY_PER_PHONE; m++) {
                    conversation.save(NewHistoryEntry.of(readPhones + i, "bench", "message " + m, "flow:bench#" + m));
                }
            }
            out.printf("pgkit bench conversation on %s, %d s per cell after 1 s warm-up, %d cores; one phone per client,"
                    + " reads over %d entries per phone%n", pgkit.status().server(), seconds, Runtime.getRuntime().availableProcessors(),
                    HISTORY_PER_PHONE);
            out.printf("%-26s %5s %11s %9s %9s | %11s %6s%n", "operation", "conc", "ops/s", "p50 µs", "p99 µs", "jdbc floor", "ratio");
            // every measured path runs unrecorded first, so the JIT has compiled pgkit's deeper path as well as the
            // floor's before the first cell (on a busy machine 1 s per cell is not enough: the first cells then
            // measure the interpreter)
            Cells cellsOf = new Cells(conversation, floor, readPhones, run);
            cellsOf.measure(1, Duration.ZERO, duration.compareTo(JIT_WARMUP) < 0 ? duration : JIT_WARMUP, null);
            for (int clients : concurrencies) {
                cellsOf.measure(clients, warmup, duration, (label, result, floorResult) -> print(out, cells, label, clients, result, floorResult));
                out.flush();
            }
        }
        if (json != null) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("benchmark", "conversation");
            report.put("at", Instant.now().toString());
            report.put("secondsPerCell", seconds);
            report.put("cores", Runtime.getRuntime().availableProcessors());
            report.put("cells", cells);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(json.toFile(), report);
            out.println("figures written to " + json);
        }
        out.flush();
        return 0;
    }

    /** How long each path runs before the first cell, unrecorded (the cell's duration, if shorter). */
    static final Duration JIT_WARMUP = Duration.ofSeconds(5);

    /** Where one cell's figures go (nowhere during the JIT warm-up). */
    interface Sink {
        void accept(String label, LoadRunner.Result result, LoadRunner.Result floor);
    }

    /** The five measurements of one concurrency, floors first. */
    record Cells(ConversationStore conversation, ConversationFloor floor, String readPhones, String run) {
        void measure(int clients, Duration warmup, Duration duration, Sink sink) throws Exception {
            String writePhones = "+bench-" + run + "-c" + clients + (sink == null ? "-jit" : "") + "-w";
            LoadRunner.Result saveFloor = floor.pgjdbc(ConversationFloor.Statement.SAVE, writePhones + "f", clients, warmup, duration);
            LoadRunner.Result readFloor = floor.pgjdbc(ConversationFloor.Statement.GET_PREV, readPhones, clients, warmup, duration);
            LoadRunner.Result function = floor.pgjdbc(ConversationFloor.Statement.FUNCTION, writePhones + "n", clients, warmup, duration);
            LoadRunner.Result save = LoadRunner.run(clients, warmup, duration, index -> {
                NewHistoryEntry entry = NewHistoryEntry.of(writePhones + "p" + index, "bench", "a bench message", "flow:bench#0");
                return () -> conversation.save(entry);
            });
            LoadRunner.Result read = LoadRunner.run(clients, warmup, duration, index -> {
                String phone = readPhones + index;
                return () -> conversation.getPrevByNumber(phone).orElseThrow();
            });
            if (sink != null) {
                sink.accept("floor save (same SQL)", saveFloor, saveFloor);
                sink.accept("floor getPrev (same SQL)", readFloor, readFloor);
                sink.accept("node-style function call", function, saveFloor);
                sink.accept("save", save, saveFloor);
                sink.accept("getPrevByNumber", read, readFloor);
            }
        }
    }

    private static void print(PrintWriter out, List<Map<String, Object>> cells, String label, int clients, LoadRunner.Result result,
                              LoadRunner.Result floor) {
        double ratio = result.opsPerSecond() / floor.opsPerSecond();
        out.printf("%-26s %5d %11.0f %9.0f %9.0f | %11.0f %6.2f%n", label, clients, result.opsPerSecond(), result.p50Micros(),
                result.p99Micros(), floor.opsPerSecond(), ratio);
        Map<String, Object> cell = new LinkedHashMap<>();
        cell.put("operation", label);
        cell.put("concurrency", clients);
        cell.put("opsPerSecond", Math.round(result.opsPerSecond()));
        cell.put("p50Micros", Math.round(result.p50Micros()));
        cell.put("p99Micros", Math.round(result.p99Micros()));
        cell.put("jdbcFloorOpsPerSecond", Math.round(floor.opsPerSecond()));
        cell.put("ratioToJdbcFloor", Math.round(ratio * 1000) / 1000.0);
        cells.add(cell);
    }
}
