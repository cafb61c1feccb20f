package dev.pgkit.cli;

import dev.pgkit.LogOffset;
import dev.pgkit.Pgkit;
import dev.pgkit.store.Event;
import dev.pgkit.store.EventStreams;
import dev.pgkit.store.Store;
import dev.pgkit.store.StoreOptions;
import dev.pgkit.store.StoredRecord;
import dev.pgkit.store.SyncOptions;
import dev.pgkit.store.SyncPolicy;
import dev.pgkit.store.SyncReport;
import dev.pgkit.store.VersionConflictException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

/** The store adapter's part of the demo: every value printed is what an operation returned or a read gave back. */
final class StoreDemo implements CliAdapter.DemoSection {

    @Override
    public void run(Pgkit pgkit, PrintWriter out) throws Exception {
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String name = "analytics-" + suffix;
        Store store = pgkit.store(name);
        out.println();
        out.println("== store (dev.pgkit.store), store " + name + " in schema " + store.schema());

        long v1 = store.records().put("user:1", new TreeMap<>(Map.of("name", "Ada", "city", "London")));
        long v2 = store.records().put("user:1", new TreeMap<>(Map.of("name", "Ada Lovelace", "city", "London")));
        say(out, "put(user:1) twice", "versions " + v1 + ", " + v2 + "; get = " + store.records().get("user:1", Map.class).map(StoredRecord::value).orElse(null));
        try {
            store.records().put("user:1", Map.of("name", "stale"), 1);
            say(out, "put(user:1, expecting version 1)", "written");
        } catch (VersionConflictException e) {
            say(out, "put(user:1, expecting version 1)", "refused: current version " + e.currentVersion());
        }
        store.records().put("user:2", new TreeMap<>(Map.of("name", "Grace", "city", "New York", "bio", "wrote the first compiler")));
        store.records().put("order:1", Map.of("total", 42));
        say(out, "list(\"user:\")", store.records().list("user:", 10, Map.class).items().stream().map(StoredRecord::key).toList().toString());
        say(out, "whereField(city, London)", store.records().whereField("city", "London", 10, Map.class, null).items().stream()
                .map(StoredRecord::key).toList().toString());
        say(out, "search(\"compiler\")", store.records().search("compiler", 10, Map.class, null).items().stream().map(StoredRecord::key).toList().toString());

        store.kv().set("settings:theme", "dark");
        say(out, "kv set/get(settings:theme)", store.kv().get("settings:theme", String.class).orElse("(absent)"));

        List<String> tailed = new CopyOnWriteArrayList<>();
        try (EventStreams.Tail tail = store.events().follow("clicks", LogOffset.START, Map.class,
                batch -> batch.forEach(e -> tailed.add(String.valueOf(e.payload()))))) {
            long id1 = store.events().append("clicks", Map.of("button", "buy"));
            long id2 = store.events().append("clicks", Map.of("button", "cancel"));
            List<Event<Map>> read = store.events().read("clicks", id1, 10, Map.class);
            say(out, "append(clicks) ×2", "ids " + id1 + ", " + id2 + "; read from " + id1 + " = "
                    + read.stream().map(e -> String.valueOf(e.payload())).toList());
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (tailed.size() < 2 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            say(out, "live tail of clicks", "delivered " + tailed);
        }
        say(out, "sync queue", store.queueCounts().toString());

        // sync with the same store in another schema
        Store replica = pgkit.store(StoreOptions.named(name).withSchema(store.schema() + "_replica"));
        replica.records().put("user:3", Map.of("name", "Edsger"));
        SyncReport report = store.syncWith(replica, SyncOptions.defaults().withPolicy(SyncPolicy.fieldMerge()));
        say(out, "syncWith(replica in " + replica.schema() + ")", "pushed " + report.pushed() + ", pulled " + report.pulled()
                + "; replica get(user:2) = " + replica.records().get("user:2", Map.class).map(StoredRecord::value).orElse(null)
                + "; here get(user:3) = " + store.records().get("user:3", Map.class).map(StoredRecord::value).orElse(null));
        say(out, "sync again", store.syncWith(replica).changedNothing() ? "nothing to change: converged" : "changed something");
    }

    private static void say(PrintWriter out, String what, String result) {
        out.printf("  %-34s -> %s%n", what, result);
    }
}
