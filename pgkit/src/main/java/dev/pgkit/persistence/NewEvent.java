package dev.pgkit.persistence;

import java.util.List;

/**
 * An event to append with the tags it carries (for {@link PersistenceQueries#eventsByTag}).
 *
 * @param event the user's event, encoded by the {@code Pgkit}'s codec
 * @param tags  its tags: non-empty, without commas (actor-ts stores them comma-separated), duplicates ignored
 */
public record NewEvent(Object event, List<String> tags) {
    /** @throws IllegalArgumentException if the event or the tag list is null */
    public NewEvent {
        if (event == null) {
            throw new IllegalArgumentException("event must not be null");
        }
        if (tags == null) {
            throw new IllegalArgumentException("tags must not be null (use List.of())");
        }
        for (String tag : tags) {
            if (tag == null) {
                throw new IllegalArgumentException("tags must not contain null");
            }
        }
        tags = List.copyOf(tags);
    }

    /** An untagged event. */
    public static NewEvent of(Object event) {
        return new NewEvent(event, List.of());
    }

    /** An event with tags. */
    public static NewEvent tagged(Object event, String... tags) {
        return new NewEvent(event, List.of(tags));
    }
}
