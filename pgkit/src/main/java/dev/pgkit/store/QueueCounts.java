package dev.pgkit.store;

/** How many sync queue entries of a store are pending, synced and failed. */
public record QueueCounts(long pending, long synced, long failed) {
}
