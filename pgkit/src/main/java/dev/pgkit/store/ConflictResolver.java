package dev.pgkit.store;

import java.time.Instant;
import java.util.Optional;

/**
 * Decides between two concurrent versions of one key (neither replaced the other) for
 * {@link SyncPolicy#resolver}. Both replicas call it with the same two versions in the same order (older
 * first by writer stamp), so it must be deterministic, and to converge it should not depend on which
 * replica runs it.
 */
@FunctionalInterface
public interface ConflictResolver {
    /**
     * @return the JSON to keep (a new version replacing both), or empty when it cannot decide: the later
     *         writer's version is then kept and the other recorded as a {@link Conflict}
     */
    Optional<String> resolve(String kind, String key, Version older, Version newer);

    /**
     * One of the versions in conflict.
     *
     * @param json      its JSON, empty for a delete
     * @param writtenAt when the writing server wrote it
     * @param origin    the replica that wrote it
     */
    record Version(Optional<String> json, Instant writtenAt, String origin) {
    }
}
