package dev.pgkit.persistence;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/** actor-ts's tag format: the {@code events.tags} column holds an event's tags comma-separated, NULL when it has none. */
final class Tags {
    private Tags() {
    }

    /** The checked, de-duplicated tags of one event, in their given order. */
    static List<String> checked(List<String> tags) {
        Set<String> unique = new LinkedHashSet<>();
        for (String tag : tags) {
            unique.add(Check.tag(tag));
        }
        return List.copyOf(unique);
    }

    /** The column value: comma-separated, or null for no tags. */
    static String csv(List<String> tags) {
        return tags.isEmpty() ? null : String.join(",", tags);
    }

    /** The tags of a stored column value (null or empty: none; blank entries are skipped). */
    static List<String> parse(String csv) {
        if (csv == null || csv.isEmpty()) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String part : csv.split(",")) {
            String tag = part.strip();
            if (!tag.isEmpty()) {
                out.add(tag);
            }
        }
        return out;
    }
}
