package dev.pgkit.cli;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.persistence.EventJournal;
import dev.pgkit.persistence.LiveQuery;
import dev.pgkit.persistence.NewEvent;
import dev.pgkit.persistence.Persistence;
import dev.pgkit.persistence.PersistenceOptions;
import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgkit bench persistence}: journal append (batches of 1 and 100 events, 1 and 8 writers), replay of a long
 * stream and live tag query latency at a fixed rate, each beside a plain pgjdbc loop doing the same inserts or
 * selects (or INSERT + NOTIFY to a plain LISTEN connection) on the same server in the same run. Works in tables of
 * its own ({@code bench_<id>...}), dropped at the end.
 */
@Command(name = "persistence", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Journal append, replay and live tag latency, each beside a plain-pgjdbc floor measured in the same run.")
final class PersistenceBench extends DatabaseCommand {
    @Option(names = "--duration", defaultValue = "5", description = "seconds measured per cell (default: ${DEFAULT-VALUE}), after 1 s of warm-up")
    int seconds;

    @Option(names = "--replay-events", defaultValue = "100000", description = "events in the replayed stream (default: ${DEFAULT-VALUE})")
    int replayEvents;

    @Option(names = "--rate", defaultValue = "1000", description = "events per second for the live latency (default: ${DEFAULT-VALUE})")
    int rate;

    /** A small event as a user type. */
    public record Deposited(String type, long amount, long sentNanos) {
    }

    private static final String TAG = "bench";

    @Override
    public Integer call() throws Exception {
        BenchOptions.duration(spec, seconds);
        BenchOptions.range(spec, "--replay-events", replayEvents, 1000, 10_000_000);
        BenchOptions.range(spec, "--rate", rate, 1, 100_000);
        PrintWriter out = out();
        Duration warmup = Duration.ofSeconds(1);
        Duration duration = Duration.ofSeconds(seconds);
        String table = "bench_" + UUID.randomUUID().toString().substring(0, 8);
        try (DatabaseOptions.Target target = connect(true, 12)) {
            Pgkit pgkit = target.pgkit();
            Persistence persistence = pgkit.persistence(PersistenceOptions.defaults().withEventsTable(table)
                    .withSnapshotsTable(table + "_snapshots").withTable(table + "_state"));
            Floor floor = new Floor(pgkit.dataSource(), pgkit.schema());
            String events = "\"" + pgkit.schema() + "\".\"" + table + "\"";
            String tags = "\"" + pgkit.schema() + "\".\"" + table + "_tags\"";
            try {
                out.printf("pgkit bench persistence on %s, %d s per cell after 1 s warm-up, %d cores%n", pgkit.status().server(), seconds,
                        Runtime.getRuntime().availableProcessors());
                out.printf("%-28s %12s %9s %9s | %12s %6s%n", "operation", "events/s", "p50 µs", "p99 µs", "jdbc floor", "ratio");
                for (int writers : List.of(1, 8)) {
                    for (int batch : List.of(1, 100)) {
                        int w = writers;
                        int b = batch;
                        LoadRunner.Result floorResult = LoadRunner.run(w, warmup, duration, i -> floorAppender(floor, events, tags, "floor-" + w + "-"
                                + b + "-" + i, b));
                        LoadRunner.Result result = LoadRunner.run(w, warmup, duration, i -> appender(persistence.journal(), "pgkit-" + w + "-" + b
                                + "-" + i, b));
                        print(out, "append batch " + b + ", " + w + " writer" + (w > 1 ? "s" : ""), result.opsPerSecond() * b, result,
                                floorResult.opsPerSecond() * b);
                        out.flush();
                    }
                }
                replay(persistence.journal(), floor, events, out);
                out.flush();
                liveLatency(persistence, floor, events, tags, duration, out);
            } finally {
                try (Connection c = floor.connect(); Statement s = c.createStatement()) {
                    s.execute("DROP TABLE IF EXISTS " + events + ", " + tags + ", \"" + pgkit.schema() + "\".\"" + table + "_streams\", \""
                            + pgkit.schema() + "\".\"" + table + "_snapshots\", \"" + pgkit.schema() + "\".\"" + table + "_state\"");
                    s.execute("DELETE FROM \"" + pgkit.schema() + "\".pgkit_schema_version WHERE component LIKE '%" + table + "%'");
                } catch (Exception e) {
                    out.println("(could not drop the bench tables " + table + "*: " + e.getMessage() + ")");
                }
            }
        }
        out.flush();
        return 0;
    }

    private static List<Object> payloads(int batch) {
        List<Object> list = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            list.add(new Deposited("Deposited", i, 0));
        }
        return list;
    }

    /** One writer on a stream of its own, tagging every event, as a persistent actor does. */
    private static LoadRunner.Worker appender(EventJournal journal, String stream, int batch) {
        List<Object> list = payloads(batch);
        List<String> tags = List.of(TAG);
        long[] highest = {0};
        return () -> highest[0] = journal.append(stream, list, tags, highest[0]);
    }

    /** The floor: the same rows (event + mirrored tag) inserted by plain pgjdbc, one transaction per batch, JDBC batches. */
    private static LoadRunner.Worker floorAppender(Floor floor, String events, String tags, String stream, int batch) throws Exception {
        Connection c = floor.connect();
        c.setAutoCommit(false);
        PreparedStatement insertEvent = c.prepareStatement("INSERT INTO " + events + " (persistence_id, sequence_nr, payload, tags, timestamp)"
                + " VALUES (?, ?, ?, ?, ?)");
        PreparedStatement insertTag = c.prepareStatement("INSERT INTO " + tags + " (persistence_id, sequence_nr, tag, timestamp) VALUES (?, ?, ?, ?)");
        String json = "{\"type\":\"Deposited\",\"amount\":1,\"sentNanos\":0}";
        long[] seq = {0};
        return new LoadRunner.Worker() {
            @Override
            public void run() throws Exception {
                long now = System.currentTimeMillis();
                for (int i = 0; i < batch; i++) {
                    long n = ++seq[0];
                    insertEvent.setString(1, stream);
                    insertEvent.setLong(2, n);
                    insertEvent.setString(3, json);
                    insertEvent.setString(4, TAG);
                    insertEvent.setLong(5, now);
                    insertTag.setString(1, stream);
                    insertTag.setLong(2, n);
                    insertTag.setString(3, TAG);
                    insertTag.setLong(4, now);
                    if (batch == 1) {
                        insertEvent.executeUpdate();
                        insertTag.executeUpdate();
                    } else {
                        insertEvent.addBatch();
                        insertTag.addBatch();
                    }
                }
                if (batch > 1) {
                    insertEvent.executeBatch();
                    insertTag.executeBatch();
                }
                c.commit();
            }

            @Override
            public void close() throws Exception {
                c.close();
            }
        };
    }

    private void replay(EventJournal journal, Floor floor, String events, PrintWriter out) throws Exception {
        String stream = "replay";
        long highest = 0;
        while (highest < replayEvents) {
            highest = journal.append(stream, payloads((int) Math.min(1000, replayEvents - highest)), highest);
        }
        long[] pgkitNanos = new long[3];
        long[] floorNanos = new long[3];
        for (int round = 0; round < 3; round++) {
            long start = System.nanoTime();
            int read = journal.read(stream, Deposited.class).size();
            pgkitNanos[round] = System.nanoTime() - start;
            if (read != replayEvents) {
                throw new IllegalStateException("replayed " + read + " events of " + replayEvents);
            }
            try (Connection c = floor.connect(); PreparedStatement s = c.prepareStatement("SELECT sequence_nr, payload, tags, timestamp FROM "
                    + events + " WHERE persistence_id = ? AND sequence_nr >= ? AND sequence_nr <= ? ORDER BY sequence_nr")) {
                start = System.nanoTime();
                s.setString(1, stream);
                s.setLong(2, 0);
                s.setLong(3, Long.MAX_VALUE);
                int rows = 0;
                try (ResultSet rs = s.executeQuery()) {
                    while (rs.next()) {
                        rs.getLong(1);
                        rs.getString(2);
                        rs.getString(3);
                        rs.getLong(4);
                        rows++;
                    }
                }
                floorNanos[round] = System.nanoTime() - start;
                if (rows != replayEvents) {
                    throw new IllegalStateException("the floor read " + rows + " rows of " + replayEvents);
                }
            }
        }
        Arrays.sort(pgkitNanos);
        Arrays.sort(floorNanos);
        double pgkitRate = replayEvents / (pgkitNanos[1] / 1e9);
        double floorRate = replayEvents / (floorNanos[1] / 1e9);
        out.printf("%-28s %12.0f %9s %9s | %12.0f %6.2f   (median of 3; pgkit decodes each event into a record, the floor reads columns)%n",
                "replay " + replayEvents + " events", pgkitRate, "", "", floorRate, pgkitRate / floorRate);
    }

    /**
     * Live tag latency: after a second of warm-up, {@code rate} single-event appends per second (spread over 4 writers on
     * streams of their own) while a live tag query runs; latency = delivery to the handler minus the start of the append.
     * The floor does the same shape of work in plain pgjdbc: writers each insert the event and its tag row and NOTIFY in one
     * transaction at the same rate, and a plain LISTEN connection selects, in one read per wake, the events notified; their
     * latency is that row read minus the start of the insert (the notification's arrival alone is shown too). Both sides'
     * commit latency (start of the append to its return) is shown, as what neither reader can beat.
     */
    private void liveLatency(Persistence persistence, Floor floor, String events, String tags, Duration duration, PrintWriter out)
            throws Exception {
        int writers = 4;
        int total = (int) (rate * duration.toSeconds());
        // pgkit
        long[] latencies = new long[total];
        long[] commits = new long[total];
        int[] received = {0};
        CountDownLatch done = new CountDownLatch(1);
        Map<String, Boolean> duplicates = new ConcurrentHashMap<>();
        try (LiveQuery query = persistence.queries().eventsByTag("latency", LogOffset.START, Deposited.class, batch -> {
            long now = System.nanoTime();
            for (var e : batch) {
                if (duplicates.put(e.persistenceId() + "#" + e.sequenceNr(), Boolean.TRUE) != null) {
                    throw new IllegalStateException("delivered twice: " + e.persistenceId() + "#" + e.sequenceNr());
                }
                if (e.event().type().equals(MEASURED) && received[0] < total) {
                    latencies[received[0]++] = now - e.event().sentNanos();
                }
            }
            if (received[0] >= total) {
                done.countDown();
            }
        })) {
            Thread.sleep(500); // the query's LISTEN is active
            for (String phase : List.of(WARM_UP, MEASURED)) {
                long count = phase.equals(WARM_UP) ? rate : total;
                paced(writers, count, (writer, i) -> {
                    long start = System.nanoTime();
                    persistence.journal().append("latency-" + phase + "-" + writer, List.of(new Deposited(phase, i, start)), List.of("latency"),
                            i / writers);
                    if (phase.equals(MEASURED)) {
                        commits[(int) i] = System.nanoTime() - start;
                    }
                });
            }
            if (!done.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the live query delivered " + received[0] + " of " + total + " events");
            }
            if (!query.isRunning()) {
                throw new IllegalStateException("the live query stopped: " + query.failure());
            }
        }
        // the floor: INSERT + NOTIFY, LISTEN, SELECT
        long[] floorLatencies = new long[total];
        long[] floorArrivals = new long[total];
        long[] floorCommits = new long[total];
        int floorReceived = 0;
        try (Connection listener = floor.connect(); Statement listen = listener.createStatement();
             PreparedStatement select = listener.prepareStatement("SELECT e.payload FROM unnest(?::text[], ?::bigint[]) AS n(id, nr)"
                     + " JOIN " + tags + " t ON t.tag = 'latency-floor' AND t.persistence_id = n.id AND t.sequence_nr = n.nr JOIN " + events
                     + " e ON e.persistence_id = t.persistence_id AND e.sequence_nr = t.sequence_nr")) {
            listen.execute("LISTEN pgkit_bench_floor");
            PGConnection pg = listener.unwrap(PGConnection.class);
            List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
            Thread sender = new Thread(() -> {
                try {
                    floorSend(floor, events, tags, writers, WARM_UP, rate, null);
                    floorSend(floor, events, tags, writers, MEASURED, total, floorCommits);
                } catch (Exception e) {
                    failures.add(e);
                }
            }, "pgkit-bench-floor-sender");
            sender.start();
            long deadline = System.nanoTime() + duration.toNanos() + TimeUnit.SECONDS.toNanos(60);
            while (floorReceived < total && System.nanoTime() < deadline && failures.isEmpty()) {
                PGNotification[] notifications = pg.getNotifications(500);
                long arrived = System.nanoTime();
                if (notifications == null || notifications.length == 0) {
                    continue;
                }
                // like the live query, one read of every event the notifications name
                String[][] parts = new String[notifications.length][]; // phase, persistence id, sequence number, start of the insert
                String[] ids = new String[parts.length];
                Long[] numbers = new Long[parts.length];
                for (int k = 0; k < parts.length; k++) {
                    parts[k] = notifications[k].getParameter().split(" ");
                    ids[k] = parts[k][1];
                    numbers[k] = Long.parseLong(parts[k][2]);
                }
                select.setArray(1, listener.createArrayOf("text", ids));
                select.setArray(2, listener.createArrayOf("bigint", numbers));
                int rows = 0;
                try (ResultSet rs = select.executeQuery()) {
                    while (rs.next()) {
                        rs.getString(1);
                        rows++;
                    }
                }
                if (rows != parts.length) {
                    throw new IllegalStateException("the floor's listener read " + rows + " of the " + parts.length + " events notified");
                }
                long read = System.nanoTime();
                for (String[] part : parts) {
                    long sent = Long.parseLong(part[3]);
                    if (part[0].equals(MEASURED) && floorReceived < total) {
                        floorArrivals[floorReceived] = arrived - sent;
                        floorLatencies[floorReceived++] = read - sent;
                    }
                }
            }
            sender.join();
            if (!failures.isEmpty()) {
                throw failures.get(0);
            }
        }
        Arrays.sort(latencies);
        Arrays.sort(commits);
        long[] floorSorted = Arrays.copyOf(floorLatencies, floorReceived);
        long[] arrivals = Arrays.copyOf(floorArrivals, floorReceived);
        Arrays.sort(floorSorted);
        Arrays.sort(arrivals);
        Arrays.sort(floorCommits);
        out.printf("%-28s %12s %9.0f %9.0f | floor INSERT+NOTIFY -> LISTEN -> SELECT p50 %.0f µs, p99 %.0f µs (%d events each)%n",
                "live tag latency @" + rate + "/s", "", percentile(latencies, 0.5) / 1e3, percentile(latencies, 0.99) / 1e3,
                percentile(floorSorted, 0.5) / 1e3, percentile(floorSorted, 0.99) / 1e3, total);
        out.printf("%-28s %12s %9.0f %9.0f | floor commit p50 %.0f µs, p99 %.0f µs; floor NOTIFY -> LISTEN alone p50 %.0f µs, p99 %.0f µs%n",
                "  of which the append commit", "", percentile(commits, 0.5) / 1e3, percentile(commits, 0.99) / 1e3,
                percentile(floorCommits, 0.5) / 1e3, percentile(floorCommits, 0.99) / 1e3, percentile(arrivals, 0.5) / 1e3,
                percentile(arrivals, 0.99) / 1e3);
    }

    private static final String WARM_UP = "warm-up";
    private static final String MEASURED = "measured";

    /** The floor's writers: {@code count} single-event transactions at the rate, each INSERT event + INSERT tag + NOTIFY. */
    private void floorSend(Floor floor, String events, String tags, int writers, String phase, long count, long[] commits) throws Exception {
        Connection[] connections = new Connection[writers];
        PreparedStatement[] inserts = new PreparedStatement[writers];
        try {
            for (int w = 0; w < writers; w++) {
                connections[w] = floor.connect();
                connections[w].setAutoCommit(false);
                inserts[w] = connections[w].prepareStatement("INSERT INTO " + events + " (persistence_id, sequence_nr, payload, tags, timestamp)"
                        + " VALUES (?, ?, '{}', 'latency-floor', 0); INSERT INTO " + tags + " (persistence_id, sequence_nr, tag, timestamp)"
                        + " VALUES (?, ?, 'latency-floor', 0); SELECT pg_notify('pgkit_bench_floor', ?)");
            }
            paced(writers, count, (writer, i) -> {
                long start = System.nanoTime();
                String id = "latency-floor-" + phase + "-" + writer;
                long sequenceNr = i / writers + 1;
                PreparedStatement s = inserts[writer];
                s.setString(1, id);
                s.setLong(2, sequenceNr);
                s.setString(3, id);
                s.setLong(4, sequenceNr);
                s.setString(5, phase + " " + id + " " + sequenceNr + " " + start);
                s.execute();
                connections[writer].commit();
                if (commits != null) {
                    commits[(int) i] = System.nanoTime() - start;
                }
            });
        } finally {
            for (Connection c : connections) {
                if (c != null) {
                    c.close();
                }
            }
        }
    }

    @FunctionalInterface
    private interface Send {
        void send(int writer, long index) throws Exception;
    }

    /** Sends {@code total} events at {@link #rate} per second from {@code writers} threads, event i by writer i % writers. */
    private void paced(int writers, long total, Send send) throws Exception {
        long intervalNanos = 1_000_000_000L / rate;
        long begin = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(20);
        List<Thread> threads = new ArrayList<>();
        List<Exception> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        for (int w = 0; w < writers; w++) {
            int writer = w;
            Thread t = new Thread(() -> {
                try {
                    for (long i = writer; i < total; i += writers) {
                        long due = begin + i * intervalNanos;
                        long wait = due - System.nanoTime();
                        if (wait > 0) {
                            TimeUnit.NANOSECONDS.sleep(wait);
                        }
                        send.send(writer, i);
                    }
                } catch (Exception e) {
                    failures.add(e);
                }
            }, "pgkit-bench-writer-" + w);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        if (!failures.isEmpty()) {
            throw failures.get(0);
        }
    }

    private static void print(PrintWriter out, String label, double eventsPerSecond, LoadRunner.Result result, double floorEventsPerSecond) {
        out.printf("%-28s %12.0f %9.0f %9.0f | %12.0f %6.2f%n", label, eventsPerSecond, result.p50Micros(), result.p99Micros(),
                floorEventsPerSecond, eventsPerSecond / floorEventsPerSecond);
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)];
    }
}
