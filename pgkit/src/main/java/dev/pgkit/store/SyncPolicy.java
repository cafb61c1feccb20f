package dev.pgkit.store;

import java.util.Objects;

/**
 * How a sync resolves two versions of one key written on different replicas. Every policy is
 * deterministic, so that repeated syncs in both directions leave both stores identical.
 */
public final class SyncPolicy {
    private final String name;
    private final Merge merge;

    private SyncPolicy(String name, Merge merge) {
        this.name = name;
        this.merge = merge;
    }

    /**
     * Last writer wins, by the stamp of the write: the time of the server that made it, ties broken by the
     * writing replica's id (and a replica's successive writes of one key always have increasing times). The default.
     */
    public static SyncPolicy lastWriterWins() {
        return new SyncPolicy("last-writer-wins", Merge.LAST_WRITER_WINS);
    }

    /**
     * Field-level merge of JSON objects: each top-level field is last-writer-wins on its own, so concurrent
     * changes to different fields both survive; a field removed on one side stays removed unless the other
     * side wrote it later. Where a side's value is not an object (or was deleted) the whole value is
     * last-writer-wins, and two concurrent versions that cannot be merged are kept as a {@link Conflict}.
     */
    public static SyncPolicy fieldMerge() {
        return new SyncPolicy("field-merge", Merge.FIELD_MERGE);
    }

    /**
     * The caller decides concurrent versions (neither replaced the other); a version that replaced the other
     * wins without asking. When {@code resolver} returns empty the later writer's version is kept and the other
     * recorded as a {@link Conflict}.
     */
    public static SyncPolicy resolver(ConflictResolver resolver) {
        Objects.requireNonNull(resolver, "resolver");
        return new SyncPolicy("resolver", new Merge.Resolving(resolver));
    }

    Merge merge() {
        return merge;
    }

    @Override
    public String toString() {
        return name;
    }
}
