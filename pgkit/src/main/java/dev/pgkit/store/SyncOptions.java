package dev.pgkit.store;

import dev.pgkit.internal.Checks;
import java.util.function.Consumer;

/**
 * Options of a sync round.
 *
 * @param policy     how concurrent versions are resolved (default last-writer-wins)
 * @param batchSize  changes applied per transaction (default 1,000)
 * @param progress   told after each batch (default: nothing)
 */
public record SyncOptions(SyncPolicy policy, int batchSize, Consumer<SyncProgress> progress) {
    /** The largest batch. */
    public static final int MAX_BATCH = 10_000;

    public SyncOptions {
        Checks.notNull("policy", policy);
        Checks.notNull("progress", progress);
        if (batchSize < 1 || batchSize > MAX_BATCH) {
            throw new IllegalArgumentException("batchSize must be between 1 and " + MAX_BATCH + ", was " + batchSize);
        }
    }

    /** Last-writer-wins, batches of 1,000, no progress reports. */
    public static SyncOptions defaults() {
        return new SyncOptions(SyncPolicy.lastWriterWins(), 1000, p -> { });
    }

    /** A copy with another policy. */
    public SyncOptions withPolicy(SyncPolicy policy) {
        return new SyncOptions(policy, batchSize, progress);
    }

    /** A copy with another batch size. */
    public SyncOptions withBatchSize(int batchSize) {
        return new SyncOptions(policy, batchSize, progress);
    }

    /** A copy that reports progress to {@code progress}. */
    public SyncOptions withProgress(Consumer<SyncProgress> progress) {
        return new SyncOptions(policy, batchSize, progress);
    }
}
