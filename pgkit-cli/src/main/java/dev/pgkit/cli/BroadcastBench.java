package dev.pgkit.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgkit.Pgkit;
import dev.pgkit.broadcast.Broadcast;
import dev.pgkit.broadcast.BroadcastOptions;
import dev.pgkit.broadcast.ClusterNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgkit bench broadcast}: messages per second from one node to another (two {@code Pgkit}s, each with
 * its own LISTEN connection) for small JSON, 20 KB and binary messages at each concurrency, end-to-end latency
 * at a fixed 1,000 msg/s, and idle NOTIFYs per node per minute; beside each, in the same run, the floor: a
 * plain pgjdbc loop per thread sending the same payload with {@code SELECT pg_notify(...)} (a spilled message:
 * one {@code INSERT ... RETURNING} and {@code pg_notify} of its id in one statement) and a plain pgjdbc
 * listener receiving it (and fetching the attachment).
 */
@Command(name = "broadcast", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Node-to-node messages per second and latency, idle NOTIFYs per node per minute, each beside the "
        + "plain pgjdbc pg_notify floor measured in the same run.")
final class BroadcastBench extends DatabaseCommand {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Option(names = "--duration", defaultValue = "5", description = "seconds measured per cell (default: ${DEFAULT-VALUE}), after 1 s of warm-up")
    int seconds;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,8", description = "publishing threads (default: ${DEFAULT-VALUE})")
    List<Integer> concurrencies;

    @Option(names = "--messages", split = ",", defaultValue = "SMALL,LARGE,BINARY",
            description = "message kinds measured for throughput: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    List<Kind> kinds;

    @Option(names = "--latency", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "measure the latency at a fixed 1,000 msg/s (default: on; --no-latency skips it)")
    boolean measureLatency;

    @Option(names = "--idle", defaultValue = "30", description = "seconds of idleness over which NOTIFYs are counted, at least 5; 0 skips it (default: ${DEFAULT-VALUE})")
    int idleSeconds;

    static final int MAX_CLIENTS = 64;

    /** The measured message kinds. */
    enum Kind {
        SMALL("small JSON", "hello"),
        LARGE("20 KB JSON", "x".repeat(20_000)),
        BINARY("binary 1 KB", new byte[1024]);

        final String label;
        final Object payload;

        Kind(String label, Object payload) {
            this.label = label;
            this.payload = payload;
        }

        boolean spilled() {
            return this != SMALL;
        }
    }

    private void validate() {
        BenchOptions.duration(spec, seconds);
        if (idleSeconds != 0) {
            BenchOptions.seconds(spec, "--idle", idleSeconds, 5, BenchOptions.MAX_SECONDS);
        }
        BenchOptions.concurrency(spec, concurrencies, MAX_CLIENTS, "thread count");
    }

    @Override
    public Integer call() throws Exception {
        validate();
        PrintWriter out = out();
        int maxClients = concurrencies.stream().mapToInt(Integer::intValue).max().orElse(1);
        Duration warmup = Duration.ofSeconds(1);
        Duration duration = Duration.ofSeconds(seconds);
        try (DatabaseOptions.Target target = connect(true, maxClients + 4);
             Pgkit receiverKit = Pgkit.builder().dataSource(target.pgkit().dataSource()).schema(target.pgkit().schema()).disableHousekeeping().build()) {
            Pgkit senderKit = target.pgkit();
            String prefix = "bench-" + UUID.randomUUID().toString().substring(0, 8);
            BroadcastOptions options = BroadcastOptions.defaults().withChannelPrefix(prefix);
            Broadcast sending = senderKit.broadcast(options);
            ClusterNode sender = sending.join("/bench");
            ClusterNode receiver = receiverKit.broadcast(options).join("/bench");
            AtomicLong received = new AtomicLong();
            Latencies latencies = new Latencies();
            receiver.on("b", e -> {
                latencies.record(System.nanoTime() - e.args().get(0).asLong());
                received.incrementAndGet();
            });
            Floor floor = new Floor(senderKit.dataSource(), senderKit.schema());
            String table = "\"" + senderKit.schema() + "\".\"" + options.tableName() + "\"";
            out.printf("pgkit bench broadcast on %s, %d s per cell after 1 s warm-up, %d cores%n", senderKit.status().server(), seconds,
                    Runtime.getRuntime().availableProcessors());
            out.printf("%-18s %5s %12s %10s %10s %12s | %12s %10s %7s | %s%n", "message", "conc", "pgkit msg/s", "sent/s", "msgs/stmt", "e2e p99 µs",
                    "floor msg/s", "sent/s", "ratio", "cpu wait");
            out.println("(msg/s: received by the other node in the window; sent/s: committed by the senders, or queued for the async rows; "
                    + "cpu wait: share of the pgkit and floor windows in which a runnable task waited for a core, from /proc/pressure/cpu: "
                    + "other load on the machine skews the figures)");
            for (Kind kind : kinds) {
                for (boolean async : new boolean[] {false, true}) {
                    for (int clients : async ? List.of(1) : concurrencies) {
                        long statements0 = sending.batchesSent();
                        long notifications0 = sending.notificationsSent();
                        latencies.reset();
                        CpuPressure pressure = CpuPressure.start();
                        double pgkit = async
                                ? measureAsync(clients, warmup, duration, received, () -> sender.serverSideEmitAsync("b", System.nanoTime(), kind.payload))
                                : measure(clients, warmup, duration, received, () -> sender.serverSideEmit("b", System.nanoTime(), kind.payload));
                        double pgkitSent = lastSendRate;
                        long pgkitLost = lastLost;
                        double perStatement = (sending.notificationsSent() - notifications0) / (double) Math.max(1, sending.batchesSent() - statements0);
                        double p99 = latencies.percentile(0.99) / 1e3;
                        try (FloorListener listener = new FloorListener(floor, prefix + "#floor", table)) {
                            double floorRate = measureFloor(floor, listener, kind, clients, warmup, duration, prefix + "#floor", table);
                            out.printf("%-18s %5d %12.0f %10.0f %10.1f %12.0f | %12.0f %10.0f %7.2f | %s%n", kind.label + (async ? " async" : ""), clients,
                                    pgkit, pgkitSent, perStatement, p99, floorRate, lastSendRate, pgkit / floorRate, pressure.share());
                            if (pgkitLost > 0 || lastLost > 0) {
                                out.printf("  (lost, the receiver having fallen behind: pgkit %d, floor %d message(s))%n", pgkitLost, lastLost);
                            }
                        }
                        out.flush();
                    }
                }
            }
            if (measureLatency) {
                latency(out, sender, latencies, floor, prefix, table, duration);
            }
            if (idleSeconds > 0) {
                idle(out, senderKit, receiverKit, prefix);
            }
            receiver.close();
            sender.close();
        }
        out.flush();
        return 0;
    }

    /** Runs {@code send} in {@code clients} threads; returns the messages per second the receiver got in the measured window. */
    private static double measure(int clients, Duration warmup, Duration duration, AtomicLong received, Sender send) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long sentBefore = received.get();
        AtomicLong sent = new AtomicLong();
        long end = System.nanoTime() + warmup.toNanos() + duration.toNanos();
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                futures.add(pool.submit(() -> {
                    while (System.nanoTime() < end) {
                        send.send();
                        sent.incrementAndGet();
                    }
                    send.finish();
                    return null;
                }));
            }
            Thread.sleep(warmup.toMillis());
            long start = received.get();
            long sentStart = sent.get();
            long t0 = System.nanoTime();
            Thread.sleep(duration.toMillis());
            long got = received.get() - start;
            double elapsed = (System.nanoTime() - t0) / 1e9;
            double rate = got / elapsed;
            lastSendRate = (sent.get() - sentStart) / elapsed;
            for (Future<?> f : futures) {
                f.get(duration.toSeconds() + 120, TimeUnit.SECONDS);
            }
            drain(received, sentBefore, sent.get());
            return rate;
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * Waits until the receiver got every message of the cell, so that the next cell measures only its own (a
     * saturated cell leaves a backlog in the receiver's queues: its e2e latency is queueing, not delivery), then lets
     * the JVM collect the cell's garbage outside the next window. A receiver that falls too far behind drops
     * notifications (at most once): the wait ends when nothing arrived for 3 s, and the loss is reported.
     */
    private static void drain(AtomicLong received, long before, long sent) throws InterruptedException {
        long last = received.get();
        long quietSince = System.nanoTime();
        while (received.get() - before < sent && System.nanoTime() - quietSince < TimeUnit.SECONDS.toNanos(3)) {
            Thread.sleep(20);
            long now = received.get();
            if (now != last) {
                last = now;
                quietSince = System.nanoTime();
            }
        }
        lastLost = Math.max(0, sent - (received.get() - before));
        System.gc();
        Thread.sleep(200);
    }

    /** Messages of the last measured cell the receiver never got (dropped by a receiver that fell behind). */
    private static volatile long lastLost;

    /**
     * {@link #measure} for senders that do not wait for each commit: each thread keeps sending (the publisher's window
     * bounds what is in flight) and finally waits for its last message.
     */
    private static double measureAsync(int clients, Duration warmup, Duration duration, AtomicLong received, AsyncSender send) throws Exception {
        return measure(clients, warmup, duration, received, new Sender() {
            private final ThreadLocal<CompletableFuture<Void>> last = new ThreadLocal<>();

            @Override
            public void send() throws Exception {
                last.set(send.send());
            }

            @Override
            public void finish() throws Exception {
                CompletableFuture<Void> f = last.get();
                if (f != null) {
                    f.get(60, TimeUnit.SECONDS);
                }
            }
        });
    }

    @FunctionalInterface
    interface AsyncSender {
        CompletableFuture<Void> send() throws Exception;
    }

    /** The share of a window in which some runnable task waited for a CPU (Linux pressure stall information). */
    record CpuPressure(long stalledMicros, long startNanos) {
        private static final Path PSI = Path.of("/proc/pressure/cpu");

        static CpuPressure start() {
            return new CpuPressure(stalled(), System.nanoTime());
        }

        String share() {
            long now = stalled();
            if (now < 0 || stalledMicros < 0) {
                return "-";
            }
            return String.format("%.0f%%", 100.0 * (now - stalledMicros) / ((System.nanoTime() - startNanos) / 1e3));
        }

        private static long stalled() {
            try {
                for (String line : Files.readAllLines(PSI)) {
                    if (line.startsWith("some ")) {
                        return Long.parseLong(line.substring(line.indexOf("total=") + 6).trim());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // not Linux, or no PSI
            }
            return -1;
        }
    }

    /** Messages per second the senders of the last measured cell committed (the receiver may lag behind). */
    private static volatile double lastSendRate;

    @FunctionalInterface
    interface Sender {
        void send() throws Exception;

        /** Called once by each thread after its last send. */
        default void finish() throws Exception {
        }
    }

    private static double measureFloor(Floor floor, FloorListener listener, Kind kind, int clients, Duration warmup, Duration duration,
                                       String channel, String table) throws Exception {
        List<Connection> connections = new ArrayList<>();
        try {
            ThreadLocal<PreparedStatement> statements = new ThreadLocal<>();
            List<PreparedStatement> all = new ArrayList<>();
            return measure(clients, warmup, duration, listener.received, () -> {
                PreparedStatement s = statements.get();
                if (s == null) {
                    Connection c = floor.connect();
                    synchronized (connections) {
                        connections.add(c);
                    }
                    s = c.prepareStatement(kind.spilled()
                            ? "WITH s AS (INSERT INTO " + table + " (payload) VALUES (?) RETURNING id) "
                              + "SELECT pg_notify(?, '{\"uid\":\"floor\",\"type\":9,\"attachmentId\":\"' || id || '\"}') FROM s"
                            : "SELECT pg_notify(?, ?)");
                    statements.set(s);
                    synchronized (all) {
                        all.add(s);
                    }
                }
                if (kind.spilled()) {
                    s.setBytes(1, kind == Kind.LARGE ? ((String) kind.payload).getBytes() : (byte[]) kind.payload);
                    s.setString(2, channel);
                } else {
                    s.setString(1, channel);
                    s.setString(2, "{\"type\":9,\"data\":{\"packet\":[\"b\"," + System.nanoTime() + ",\"hello\"]},\"uid\":\"floor\",\"nsp\":\"/bench\"}");
                }
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                }
            });
        } finally {
            for (Connection c : connections) {
                c.close();
            }
        }
    }

    /** A plain pgjdbc listener: LISTENs on its own connection, parses each payload, fetches announced attachments. */
    static final class FloorListener implements AutoCloseable {
        final AtomicLong received = new AtomicLong();
        final Latencies latencies = new Latencies();
        private final Connection listen;
        private final Connection fetch;
        private final Thread thread;
        private volatile boolean running = true;

        FloorListener(Floor floor, String channel, String table) throws Exception {
            listen = floor.connect();
            fetch = floor.connect();
            try (Statement s = listen.createStatement()) {
                s.execute("LISTEN \"" + channel + "\"");
            }
            PreparedStatement get = fetch.prepareStatement("SELECT payload FROM " + table + " WHERE id = ?");
            PGConnection pg = listen.unwrap(PGConnection.class);
            thread = new Thread(() -> {
                try {
                    while (running) {
                        PGNotification[] notifications = pg.getNotifications(100);
                        if (notifications == null) {
                            continue;
                        }
                        for (PGNotification n : notifications) {
                            JsonNode message = JSON.readTree(n.getParameter());
                            if (message.has("attachmentId")) {
                                get.setLong(1, Long.parseLong(message.get("attachmentId").asText()));
                                try (ResultSet rs = get.executeQuery()) {
                                    rs.next();
                                    rs.getBytes(1);
                                }
                            } else {
                                latencies.record(System.nanoTime() - message.path("data").path("packet").get(1).asLong());
                            }
                            received.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    if (running) {
                        e.printStackTrace();
                    }
                }
            }, "floor-listener");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void close() throws Exception {
            running = false;
            thread.join(5_000);
            listen.close();
            fetch.close();
        }
    }

    /** Latency samples of one cell. */
    static final class Latencies {
        private long[] samples = new long[1 << 16];
        private int count;

        synchronized void record(long nanos) {
            if (count == samples.length) {
                samples = Arrays.copyOf(samples, count * 2);
            }
            samples[count++] = nanos;
        }

        synchronized void reset() {
            count = 0;
        }

        synchronized double percentile(double p) {
            if (count == 0) {
                return 0;
            }
            long[] sorted = Arrays.copyOf(samples, count);
            Arrays.sort(sorted);
            return sorted[Math.min(count - 1, (int) Math.ceil(p * count) - 1)];
        }
    }

    /**
     * One thread sending small messages at a fixed 1,000 per second, after a second of the same unmeasured (warm-up);
     * latency measured at the receiver. Each side runs alone, after the previous cell was drained.
     */
    private void latency(PrintWriter out, ClusterNode sender, Latencies latencies, Floor floor, String prefix, String table, Duration duration)
            throws Exception {
        Sender pgkit = () -> sender.serverSideEmit("b", System.nanoTime(), "hello");
        paced(Duration.ofSeconds(1), pgkit);
        Thread.sleep(200);
        latencies.reset();
        CpuPressure pressure = CpuPressure.start();
        paced(duration, pgkit);
        Thread.sleep(500);
        String pgkitCpu = pressure.share();
        String pgkitFigures = percentiles(latencies);
        Sender async = () -> sender.serverSideEmitAsync("b", System.nanoTime(), "hello");
        paced(Duration.ofSeconds(1), async);
        Thread.sleep(200);
        latencies.reset();
        pressure = CpuPressure.start();
        paced(duration, async);
        Thread.sleep(500);
        String asyncCpu = pressure.share();
        String asyncFigures = percentiles(latencies);
        String floorFigures;
        String floorCpu;
        try (FloorListener listener = new FloorListener(floor, prefix + "#floor", table); Connection c = floor.connect();
             PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
            Sender plain = () -> {
                s.setString(1, prefix + "#floor");
                s.setString(2, "{\"type\":9,\"data\":{\"packet\":[\"b\"," + System.nanoTime() + ",\"hello\"]},\"uid\":\"floor\",\"nsp\":\"/bench\"}");
                try (ResultSet rs = s.executeQuery()) {
                    rs.next();
                }
            };
            paced(Duration.ofSeconds(1), plain);
            Thread.sleep(200);
            listener.latencies.reset();
            pressure = CpuPressure.start();
            paced(duration, plain);
            Thread.sleep(500);
            floorCpu = pressure.share();
            floorFigures = percentiles(listener.latencies);
        }
        out.printf("latency at 1,000 msg/s (small JSON, send to receive): pgkit %s (cpu wait %s) | pgkit async %s (cpu wait %s) | floor %s (cpu wait %s;"
                + " its plain pgjdbc listener keeps pgjdbc's read-ahead, which holds a steady stream back)%n",
                pgkitFigures, pgkitCpu, asyncFigures, asyncCpu, floorFigures, floorCpu);
        out.flush();
    }

    private static String percentiles(Latencies latencies) {
        return String.format("p50 %.0f µs, p90 %.0f µs, p99 %.0f µs", latencies.percentile(0.50) / 1e3, latencies.percentile(0.90) / 1e3,
                latencies.percentile(0.99) / 1e3);
    }

    private static void paced(Duration duration, Sender send) throws Exception {
        long start = System.nanoTime();
        long count = duration.toMillis();
        for (long i = 0; i < count; i++) {
            long due = start + i * 1_000_000L;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                LockSupport.parkNanos(wait);
            }
            send.send();
        }
    }

    /** Two idle nodes with the default heartbeat: what each sends per minute. */
    private void idle(PrintWriter out, Pgkit a, Pgkit b, String prefix) throws Exception {
        BroadcastOptions options = BroadcastOptions.defaults().withChannelPrefix(prefix + "-idle");
        Broadcast first = a.broadcast(options);
        Broadcast second = b.broadcast(options);
        try (ClusterNode x = first.join("/"); ClusterNode y = second.join("/")) {
            Thread.sleep(1_000);
            long before = first.notificationsSent() + second.notificationsSent();
            Thread.sleep(idleSeconds * 1000L);
            long sent = first.notificationsSent() + second.notificationsSent() - before;
            out.printf("idle: %.1f NOTIFYs per node per minute (heartbeat every %d s while idle, 2 nodes over %d s; membership needs one "
                    + "message per heartbeatTimeout of %d s); the Node adapter sends 12 per namespace per minute%n",
                    sent / 2.0 / (idleSeconds / 60.0), options.heartbeatInterval().toSeconds(), idleSeconds, options.heartbeatTimeout().toSeconds());
            if (x.serverCount() != 2 || y.serverCount() != 2) {
                out.println("  (warning: the idle nodes lost sight of each other)");
            }
        }
        out.flush();
    }
}
