package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.store.Store;
import dev.pgkit.store.StoreOptions;
import dev.pgkit.store.SyncOptions;
import dev.pgkit.store.SyncReport;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgkit bench store}: record put/get, event append/read, and a sync of N changes between two schemas, each
 * beside a plain-pgjdbc floor (one connection per client, no pool, no pgkit) running the minimal statements the same
 * work needs, in the same run.
 */
@Command(name = "store", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Record put/get, event append/read and a sync of --changes changes between two schemas, each beside a "
                + "plain-pgjdbc floor measured in the same run.")
final class StoreBench extends DatabaseCommand {
    @Option(names = "--duration", defaultValue = "5", description = "seconds measured per cell (default: ${DEFAULT-VALUE}), after 1 s of warm-up")
    int seconds;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,8", description = "client threads (default: ${DEFAULT-VALUE})")
    List<Integer> concurrencies;

    @Option(names = "--changes", defaultValue = "100000", description = "changes synced between the two schemas (default: ${DEFAULT-VALUE})")
    int changes;

    @Option(names = "--batch-size", defaultValue = "1000", description = "changes per sync transaction (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Override
    public Integer call() throws Exception {
        BenchOptions.range(spec, "--batch-size", batchSize, 1, SyncOptions.MAX_BATCH);
        BenchOptions.duration(spec, seconds);
        BenchOptions.range(spec, "--changes", changes, 1, 10_000_000);
        BenchOptions.concurrencyValues(spec, concurrencies, BenchOptions.MAX_CLIENTS);
        PrintWriter out = out();
        Duration warmup = Duration.ofSeconds(1);
        Duration duration = Duration.ofSeconds(seconds);
        int maxClients = concurrencies.stream().mapToInt(Integer::intValue).max().orElse(1);
        try (DatabaseOptions.Target target = connect(true, maxClients + 2)) {
            Pgkit pgkit = target.pgkit();
            String schemaA = pgkit.schema() + "_store_a";
            String schemaB = pgkit.schema() + "_store_b";
            String name = "bench-" + UUID.randomUUID().toString().substring(0, 8);
            Store store = pgkit.store(StoreOptions.named(name).withSchema(schemaA));
            StoreFloor floor = new StoreFloor(new Floor(pgkit.dataSource(), pgkit.schema()), "\"" + schemaA + "\"", name);
            out.printf("pgkit bench store on %s, %d s per cell after 1 s warm-up, %d cores%n", pgkit.status().server(), seconds,
                    Runtime.getRuntime().availableProcessors());
            out.printf("%-16s %5s %11s %9s %9s | %11s %6s%n", "operation", "conc", "ops/s", "p50 µs", "p99 µs", "jdbc floor", "ratio");
            for (int clients : concurrencies) {
                for (StoreFloor.Op op : StoreFloor.Op.values()) {
                    // floor, pgkit, pgkit, floor: half the time each, so a drift of the machine's load weighs on both alike
                    Duration half = Duration.ofMillis(Math.max(500, duration.toMillis() / 2));
                    LoadRunner.Result floor1 = LoadRunner.run(clients, warmup, half, index -> floor.worker(op, index));
                    LoadRunner.Result pgkit1 = LoadRunner.run(clients, warmup, half, index -> worker(store, op, index));
                    LoadRunner.Result pgkit2 = LoadRunner.run(clients, warmup, half, index -> worker(store, op, index));
                    LoadRunner.Result floor2 = LoadRunner.run(clients, warmup, half, index -> floor.worker(op, index));
                    LoadRunner.Result floorResult = combine(floor1, floor2);
                    LoadRunner.Result result = combine(pgkit1, pgkit2);
                    out.printf("%-16s %5d %11.0f %9.0f %9.0f | %11.0f %6.2f%n", op.label, clients, result.opsPerSecond(), result.p50Micros(),
                            result.p99Micros(), floorResult.opsPerSecond(), result.opsPerSecond() / floorResult.opsPerSecond());
                    out.flush();
                }
            }
            benchSync(pgkit, out, name, schemaA, schemaB, floor);
        }
        out.flush();
        return 0;
    }

    /** Two halves as one cell: operations per second over both, the worse of the two percentiles. */
    private static LoadRunner.Result combine(LoadRunner.Result a, LoadRunner.Result b) {
        return new LoadRunner.Result(a.operations() + b.operations(), (a.opsPerSecond() + b.opsPerSecond()) / 2,
                Math.max(a.p50Micros(), b.p50Micros()), Math.max(a.p99Micros(), b.p99Micros()));
    }

    private static LoadRunner.Worker worker(Store store, StoreFloor.Op op, int index) {
        String key = "w" + index;
        return switch (op) {
            case PUT -> () -> store.records().put(key, "v");
            case GET -> {
                store.records().put(key, "v");
                yield () -> store.records().get(key, String.class);
            }
            case APPEND -> () -> store.events().append(key, "e");
            case READ -> {
                for (int i = 0; i < 100; i++) {
                    store.events().append("r" + index, i);
                }
                yield () -> store.events().read("r" + index, 0, 100, Integer.class);
            }
        };
    }

    /** Fills schema A with N changes (records and their queue entries), then syncs A with B, beside a plain copy. */
    private void benchSync(Pgkit pgkit, PrintWriter out, String name, String schemaA, String schemaB, StoreFloor floor) throws Exception {
        String syncName = name + "-sync";
        Store a = pgkit.store(StoreOptions.named(syncName).withSchema(schemaA));
        Store b = pgkit.store(StoreOptions.named(syncName).withSchema(schemaB));
        try (Connection c = pgkit.dataSource().getConnection(); PreparedStatement s = c.prepareStatement("""
                WITH r AS (
                  INSERT INTO "%1$s".persist_records (store, key, value, version, updated_at, origin)
                  SELECT ?, 'k' || i, jsonb_build_object('n', i, 'text', 'value ' || i), 1, clock_timestamp(), ? FROM generate_series(1, ?) i
                  RETURNING key)
                INSERT INTO "%1$s".persist_sync_queue (store, kind, key, operation, payload, source)
                SELECT ?, 'record', key, 'put', '{}'::jsonb, ? FROM r""".formatted(schemaA))) {
            s.setString(1, syncName);
            s.setString(2, a.replicaId());
            s.setInt(3, changes);
            s.setString(4, syncName);
            s.setString(5, a.replicaId());
            s.executeUpdate();
        }
        double floorSeconds = floor.copy(schemaA, schemaB, syncName, changes);
        long start = System.nanoTime();
        long[] pushEnd = {start};
        SyncReport report = a.syncWith(b, SyncOptions.defaults().withBatchSize(batchSize).withProgress(p -> {
            if (p.phase().equals("push")) {
                pushEnd[0] = System.nanoTime();
            }
        }));
        double seconds = (System.nanoTime() - start) / 1e9;
        double pushSeconds = (pushEnd[0] - start) / 1e9;
        long copied = countRows(pgkit, schemaB, syncName);
        out.printf("%-16s %5s %11.0f changes/s (%d changes in %.2f s, %d rows on the other side) | floor %11.0f rows/s %6.2f%n", "sync", "1",
                report.pushed() / seconds, report.pushed(), seconds, copied, changes / floorSeconds, (report.pushed() / seconds) / (changes / floorSeconds));
        out.printf("%-16s push %.2f s, pull (the remote's feed, every entry of which this store had pushed) %.2f s%n", "", pushSeconds,
                seconds - pushSeconds);
        out.flush();
    }

    private static long countRows(Pgkit pgkit, String schema, String store) throws Exception {
        try (Connection c = pgkit.dataSource().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM \"" + schema + "\".persist_records WHERE store = '" + store.replace("'", "''") + "'")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
