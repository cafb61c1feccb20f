package dev.pgkit.cli;

import dev.pgkit.Pgkit;
import dev.pgkit.store.Store;
import dev.pgkit.store.StoreOptions;
import dev.pgkit.store.SyncOptions;
import dev.pgkit.store.SyncPolicy;
import dev.pgkit.store.SyncProgress;
import dev.pgkit.store.SyncReport;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code pgkit sync --from URL --to URL --store NAME}: one bidirectional sync round between two stores. */
@Command(name = "sync", mixinStandardHelpOptions = true, versionProvider = PgkitCommand.Version.class,
        description = "Sync a store both ways: push the --from store's unsynced changes to the --to store, then pull the --to "
                + "store's changes since the last checkpoint. Resumable: an interrupted run is completed by the next.")
final class SyncCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--from", required = true, description = "URL of the local store's database (postgres:// or jdbc:postgresql://)")
    String from;

    @Option(names = "--to", required = true, description = "URL of the remote store's database")
    String to;

    @Option(names = "--store", required = true, description = "the store's name on both sides")
    String store;

    @Option(names = "--from-schema", defaultValue = StoreOptions.DEFAULT_SCHEMA, description = "schema of the local store (default: ${DEFAULT-VALUE})")
    String fromSchema;

    @Option(names = "--to-schema", defaultValue = StoreOptions.DEFAULT_SCHEMA, description = "schema of the remote store (default: ${DEFAULT-VALUE})")
    String toSchema;

    @Option(names = "--policy", defaultValue = "last-writer-wins",
            description = "conflict policy: last-writer-wins or field-merge (default: ${DEFAULT-VALUE})")
    String policy;

    @Option(names = "--batch-size", defaultValue = "1000", description = "changes per transaction (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Override
    public Integer call() {
        SyncPolicy chosen = switch (policy) {
            case "last-writer-wins", "lww" -> SyncPolicy.lastWriterWins();
            case "field-merge" -> SyncPolicy.fieldMerge();
            default -> throw new ParameterException(spec.commandLine(), "--policy must be last-writer-wins or field-merge, was " + policy);
        };
        if (batchSize < 1 || batchSize > SyncOptions.MAX_BATCH) {
            throw new ParameterException(spec.commandLine(), "--batch-size must be between 1 and " + SyncOptions.MAX_BATCH + ", was " + batchSize);
        }
        StoreOptions local;
        StoreOptions remote;
        try {
            local = StoreOptions.named(store).withSchema(fromSchema);
            remote = StoreOptions.named(store).withSchema(toSchema);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Pgkit fromPgkit = connect(from); Pgkit toPgkit = connect(to)) {
            Store localStore = fromPgkit.store(local);
            Store remoteStore = toPgkit.store(remote);
            out.printf("sync store %s: %s (schema %s) <-> %s (schema %s), policy %s%n", store, fromPgkit.status().server(), fromSchema,
                    toPgkit.status().server(), toSchema, chosen);
            out.flush();
            Progress progress = new Progress(out);
            SyncReport report = localStore.syncWith(remoteStore, new SyncOptions(chosen, batchSize, progress));
            out.printf("pushed %d changes (%d rows changed on %s), pulled %d changes (%d rows changed here), %d conflicts kept, in %.1f s%n",
                    report.pushed(), report.writtenRemote(), "the remote", report.pulled(), report.writtenLocal(), report.conflicts(),
                    report.took().toMillis() / 1000.0);
            out.flush();
        }
        return 0;
    }

    private static Pgkit connect(String url) {
        return Pgkit.builder().url(url).poolSize(2).disableHousekeeping().build();
    }

    /** Prints a line per phase at most once a second. */
    private static final class Progress implements java.util.function.Consumer<SyncProgress> {
        private final PrintWriter out;
        private long lastNanos = System.nanoTime();

        Progress(PrintWriter out) {
            this.out = out;
        }

        @Override
        public void accept(SyncProgress p) {
            long now = System.nanoTime();
            if (now - lastNanos >= 1_000_000_000L) {
                lastNanos = now;
                out.printf("  %s: %d changes, %d rows changed%n", p.phase(), p.entries(), p.rowsWritten());
                out.flush();
            }
        }
    }
}
